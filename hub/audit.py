"""The append-only audit log: who changed what, when, before and after.

Every service that writes calls ``record_change`` inside the same transaction as the
change itself, so a change and its audit entry land together or not at all. The
table refuses UPDATE and DELETE at the database level (triggers created by the
migration), so not even a bug in our code can rewrite history.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, func, insert
from sqlmodel import Field, Session, SQLModel, col, select

from hub.auth import SYSTEM_EMAIL, Principal, require_admin
from hub.columns import UTCDateTime, utcnow

# Never copied into the log, whatever table they are on.
SECRET_FIELDS = frozenset({"password_hash"})


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, index=True)
    actor_label: str
    action: str = Field(index=True)
    entity_type: str = Field(index=True)
    entity_id: str | None = Field(default=None, index=True)
    summary: str = ""
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


def snapshot(record: Any) -> dict[str, Any]:
    """A JSON-safe copy of a model's columns, without secrets."""
    data = record.model_dump() if hasattr(record, "model_dump") else dict(record)
    return {key: _jsonable(value) for key, value in data.items() if key not in SECRET_FIELDS}


_PLAIN = (str, int, float, bool, type(None))


def _jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:  # exact types: a StrEnum member still goes below
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    try:
        json.dumps(value)
    except TypeError:
        return str(value)
    return value


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    before, after = before or {}, after or {}
    ignored = {"version", "updated_at", "updated_by"}
    return sorted(
        key
        for key in set(before) | set(after)
        if key not in ignored and before.get(key) != after.get(key)
    )


def record_change(
    *,
    session: Session,
    actor: Principal | None,
    action: str,
    entity_type: str,
    entity_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    summary: str = "",
) -> AuditEntry:
    """Add an audit entry to the session; the caller's commit writes it with the change."""
    entry = AuditEntry(
        **change_values(
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
            summary=summary,
        )
    )
    session.add(entry)
    return entry


def change_values(
    *,
    actor: Principal | None,
    action: str,
    entity_type: str,
    entity_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    summary: str = "",
) -> dict[str, Any]:
    """The columns of one audit entry (``record_change`` and ``record_changes``)."""
    return {
        "at": utcnow(),
        "actor_id": actor.account_id if actor else None,
        "actor_label": actor.label if actor else SYSTEM_EMAIL,
        "action": action,
        "entity_type": entity_type,
        "entity_id": None if entity_id is None else str(entity_id),
        "summary": summary or ", ".join(changed_fields(before, after)),
        "before": before,
        "after": after,
    }


def record_changes(*, session: Session, changes: Sequence[dict[str, Any]]) -> None:
    """Many audit entries (each from ``change_values``) in one batched INSERT, inside the
    caller's transaction: a bulk import audits every record without building thousands
    of ORM objects."""
    if changes:
        table = AuditEntry.__table__  # type: ignore[attr-defined]
        session.execute(insert(table), list(changes))


def list_entries(
    *,
    session: Session,
    actor: Principal | None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor_text: str | None = None,
    action: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Newest first, filtered and paginated in SQL. Returns (page, total matching)."""
    require_admin(actor)
    query = select(AuditEntry)
    if entity_type:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor_text:
        query = query.where(col(AuditEntry.actor_label).ilike(f"%{actor_text}%"))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = session.exec(
        query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(page), int(total)


def entity_types(*, session: Session) -> list[str]:
    return list(session.exec(select(AuditEntry.entity_type).distinct()).all())
