"""Records people edit: optimistic locking and the one save sequence every service uses.

Records that people edit carry a ``version`` column that SQLAlchemy checks on every
UPDATE (optimistic locking): when two staff save the same record, the second save is
refused with a message naming who changed it and when, and nothing is overwritten.

``save_record`` is the save sequence (stamp who and when, flush under the stale-record
guard, audit, commit) written once; ``stale_guard`` is the guard alone, for a service
whose changes flush before the save (a side-table rewrite flushes the row with it).
The column types live in ``hub.columns`` and are importable from here too, so a model
file needs one import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import declared_attr
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from hub.audit import record_change, snapshot
from hub.auth import SYSTEM_EMAIL, Principal
from hub.columns import UTCDateTime, enum_type, utcnow
from hub.errors import StaleRecord
from hub.i18n import _

R = TypeVar("R")

# PostgreSQL's codes for "another transaction won": a deadlock between two writers of
# the same rows, and a serialization failure. The loser's work is rolled back whole, so
# for the user it is the same as a stale record.
_LOST_RACE_CODES = frozenset({"40P01", "40001"})


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
    if record is None:
        return StaleRecord(
            _("This record was removed after you opened it. Nothing was saved: reload.")
        )
    when = record.updated_at.strftime("%Y-%m-%d %H:%M UTC") if record.updated_at else "?"
    return StaleRecord(
        _(
            "This record was changed by {who} at {when} after you opened it. "
            "Nothing was saved: reload to see their changes, then edit again."
        ).format(who=record.updated_by or "?", when=when)
    )


def _lost_race(err: DBAPIError) -> bool:
    return getattr(err.orig, "sqlstate", None) in _LOST_RACE_CODES


@contextmanager
def stale_guard(*, session: Session, record: Any) -> Iterator[None]:
    """Turn a lost race on ``record`` (a version mismatch, or on PostgreSQL a deadlock or
    serialization failure) into ``StaleRecord`` naming who saved first; the session is
    rolled back, so nothing of the losing save is written."""
    model, record_id = type(record), getattr(record, "id", None)
    try:
        yield
    except StaleDataError:
        session.rollback()
        raise stale_error(session.get(model, record_id, populate_existing=True)) from None
    except DBAPIError as err:
        if not _lost_race(err):
            raise
        session.rollback()
        raise stale_error(session.get(model, record_id, populate_existing=True)) from None


def stamp(record: Any, actor: Principal | None) -> None:
    """Who changed the record and when (the columns every versioned record has)."""
    record.updated_at = utcnow()
    record.updated_by = actor.label if actor else SYSTEM_EMAIL


def save_record(
    *,
    session: Session,
    actor: Principal | None,
    record: R,
    action: str,
    entity_type: str,
    before: dict[str, Any] | None,
    summary: str = "",
    snapshot_of: Callable[[R], dict[str, Any]] = snapshot,
    on_flushed: Callable[[R], None] | None = None,
    commit: bool = True,
) -> R:
    """The save sequence: stamp, flush under the stale guard, audit, commit.

    ``snapshot_of`` gives the audit log's "after" (the row's columns by default);
    ``on_flushed`` runs once the row is written and checked, before the audit entry
    (initiatives record a version row there). ``commit=False`` leaves the commit to a
    caller that saves several records in one transaction.
    """
    stamp(record, actor)
    with stale_guard(session=session, record=record):
        session.flush()
    if on_flushed is not None:
        on_flushed(record)
    record_change(
        session=session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=getattr(record, "id", None),
        before=before,
        after=snapshot_of(record),
        summary=summary,
    )
    if commit:
        session.commit()
    return record


__all__ = [
    "StaleDataError",
    "UTCDateTime",
    "Versioned",
    "check_version",
    "enum_type",
    "save_record",
    "stale_error",
    "stale_guard",
    "stamp",
    "utcnow",
]
