"""Column types and helpers shared by every table.

Timestamps are stored and returned as timezone-aware UTC. Records that people edit
carry a ``version`` column that SQLAlchemy checks on every UPDATE (optimistic
locking): when two staff save the same record, the second save is refused with a
message naming who changed it and when, and nothing is overwritten.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declared_attr
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator

from hub.errors import StaleRecord
from hub.i18n import _


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use hub.records.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Versioned:
    """Mix into a table model that has ``version``, ``updated_at`` and ``updated_by``."""

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 - SQLAlchemy's signature
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def check_version(record: Any, expected_version: int | None) -> None:
    """Refuse to save over a record someone else changed since the form was shown."""
    if expected_version is not None and record.version != expected_version:
        raise stale_error(record)


def stale_error(record: Any) -> StaleRecord:
    when = record.updated_at.strftime("%Y-%m-%d %H:%M UTC") if record.updated_at else "?"
    return StaleRecord(
        _(
            "This record was changed by {who} at {when} after you opened it. "
            "Nothing was saved: reload to see their changes, then edit again."
        ).format(who=record.updated_by or "?", when=when)
    )


__all__ = [
    "StaleDataError",
    "UTCDateTime",
    "Versioned",
    "check_version",
    "enum_type",
    "stale_error",
    "utcnow",
]


def enum_type(enum_cls: type[enum.Enum]) -> sa.Enum:
    """Store an enum by its value in a plain VARCHAR, the same on SQLite and PostgreSQL.

    No native PostgreSQL ENUM: adding a category later is then a code change, not a
    schema migration.
    """
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
