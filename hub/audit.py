"""The append-only audit log: who changed what, when, before and after.

Every service that writes calls ``record_change`` inside the same transaction as the
change itself, so a change and its audit entry land together or not at all. The
table refuses UPDATE and DELETE at the database level (triggers created by the
migrations 0001 and 0007), and REPLACE (SQLite) and TRUNCATE (PostgreSQL) too, so not
even a bug in our code can rewrite history. A database owner can still drop the
triggers: ``missing_append_only_triggers`` and ``restore_append_only_triggers`` let a
restore check and repair them; backups kept elsewhere are the defence against an owner.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Connection, func, insert, text
from sqlmodel import Field, Session, SQLModel, col, select

from hub.auth import SYSTEM_EMAIL, Principal, require_admin
from hub.columns import UTCDateTime, utcnow

_APPEND_ONLY = "SELECT RAISE(ABORT, 'the audit log is append-only')"

# Every trigger that keeps the log append-only, by dialect (the migrations create the
# same ones; this is the copy a restore re-creates from). PostgreSQL triggers call the
# function in POSTGRES_APPEND_ONLY_FUNCTION.
APPEND_ONLY_TRIGGERS: dict[str, dict[str, str]] = {
    "sqlite": {
        "audit_entry_no_update": (
            f"CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
            f"BEGIN {_APPEND_ONLY}; END"
        ),
        "audit_entry_no_delete": (
            f"CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
            f"BEGIN {_APPEND_ONLY}; END"
        ),
        "audit_entry_no_replace": (
            "CREATE TRIGGER audit_entry_no_replace BEFORE INSERT ON audit_entry "
            "WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit_entry WHERE id = NEW.id) "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        ),
    },
    "postgresql": {
        "audit_entry_append_only": (
            "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
        ),
        "audit_entry_no_truncate": (
            "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()"
        ),
    },
}
POSTGRES_APPEND_ONLY_FUNCTION = (
    "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$"
)


def missing_append_only_triggers(connection: Connection) -> list[str]:
    """The append-only triggers absent from (or, on PostgreSQL, disabled in) the
    database, in name order. Empty when the log is protected."""
    dialect = connection.dialect.name
    expected = APPEND_ONLY_TRIGGERS["sqlite" if dialect == "sqlite" else "postgresql"]
    if dialect == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entry'"
    else:
        query = (
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_entry'::regclass "
            "AND NOT tgisinternal AND tgenabled <> 'D'"
        )
    present = {row[0] for row in connection.execute(text(query))}
    return sorted(set(expected) - present)


def restore_append_only_triggers(connection: Connection) -> list[str]:
    """Re-create the append-only triggers that are missing or disabled; returns their
    names. The caller commits."""
    missing = missing_append_only_triggers(connection)
    if not missing:
        return []
    if connection.dialect.name == "sqlite":
        for name in missing:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
            connection.execute(text(APPEND_ONLY_TRIGGERS["sqlite"][name]))
    else:
        connection.execute(text(POSTGRES_APPEND_ONLY_FUNCTION))
        for name in missing:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON audit_entry"))
            connection.execute(text(APPEND_ONLY_TRIGGERS["postgresql"][name]))
    return missing


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
    exclude_actions: Sequence[str] = (),
) -> tuple[list[AuditEntry], int]:
    """Newest first, filtered and paginated in SQL. Returns (page, total matching).
    ``exclude_actions`` leaves out frequent entries (sign-ins) unless asked for."""
    require_admin(actor)
    query = select(AuditEntry)
    if exclude_actions:
        query = query.where(col(AuditEntry.action).not_in(list(exclude_actions)))
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
