"""The append-only audit log: who changed what, when, before and after.

An entry keeps the record's version and, of an edit, before and after of the fields that
changed only (of a create, the created fields once as "after"; of a delete, the record
as it was as "before"), so the log grows with the change, not with the record. Entries
written before issue 21 hold whole snapshots; ``rebuild_history`` reads both kinds, and
``changed_fields`` finds what changed in either.

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
from dataclasses import dataclass
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
# Computed from other fields on every save (the search columns of initiatives): the
# fields they are computed from are logged, so a copy of them would only add bytes.
DERIVED_FIELDS = frozenset({"search_text", "search_stems"})
# Bookkeeping every versioned record carries: the entry has them in its own columns
# (version, at, actor_label), so they are not repeated in before/after.
BOOKKEEPING_FIELDS = frozenset({"version", "updated_at", "updated_by"})


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
    # The record's version after the change (None: no versioned record, or an entry
    # from before migration 0011_audit_changes, whose snapshots hold it).
    version: int | None = Field(default=None)


def snapshot(record: Any) -> dict[str, Any]:
    """A JSON-safe copy of a model's columns, without secrets."""
    data = record.model_dump() if hasattr(record, "model_dump") else dict(record)
    return {
        key: _jsonable(value)
        for key, value in data.items()
        if key not in SECRET_FIELDS and key not in DERIVED_FIELDS
    }


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
    return sorted(
        key
        for key in set(before) | set(after)
        if key not in BOOKKEEPING_FIELDS
        and key not in DERIVED_FIELDS
        and before.get(key) != after.get(key)
    )


def _kept(values: dict[str, Any]) -> dict[str, Any]:
    """A whole record as the log keeps it once (a create's "after", a delete's "before")."""
    return {
        key: value
        for key, value in values.items()
        if key not in BOOKKEEPING_FIELDS and key not in DERIVED_FIELDS
    }


def lean_change(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The before/after an entry stores for a change from ``before`` to ``after`` (whole
    snapshots, as services pass them): the changed fields only."""
    if before is None or after is None:
        return (None if before is None else _kept(before)), (
            None if after is None else _kept(after)
        )
    fields = changed_fields(before, after)
    return {f: before.get(f) for f in fields}, {f: after.get(f) for f in fields}


def _version_of(before: dict[str, Any] | None, after: dict[str, Any] | None) -> int | None:
    version = (after if after is not None else before or {}).get("version")
    return version if isinstance(version, int) else None


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
    """The columns of one audit entry (``record_change`` and ``record_changes``): the
    changed fields of ``before`` and ``after`` (whole snapshots) and the version."""
    kept_before, kept_after = lean_change(before, after)
    return {
        "at": utcnow(),
        "actor_id": actor.account_id if actor else None,
        "actor_label": actor.label if actor else SYSTEM_EMAIL,
        "action": action,
        "entity_type": entity_type,
        "entity_id": None if entity_id is None else str(entity_id),
        "summary": summary or ", ".join(changed_fields(before, after)),
        "before": kept_before,
        "after": kept_after,
        "version": _version_of(before, after),
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


# --- history, rebuilt from the entries -----------------------------------------------


@dataclass(frozen=True)
class HistoryStep:
    """The record's state after one audited change."""

    entry_id: int
    at: datetime
    actor_label: str
    action: str
    version: int | None
    changed: list[str]  # the fields this step changed
    state: dict[str, Any]  # every field known after this step (empty once deleted)


def rebuild_history(entries: Sequence[AuditEntry]) -> list[HistoryStep]:
    """The record's state after each change, field by field, from its entries in the
    order written. Reads lean entries (changed fields) and old ones (whole snapshots)
    alike; entries that changed nothing (a refused attempt) are left out."""
    state: dict[str, Any] = {}
    steps: list[HistoryStep] = []
    for entry in sorted(entries, key=lambda e: e.id or 0):
        before, after = entry.before, entry.after
        if before is None and after is None:
            continue
        if after is None:  # deleted
            changed, state = sorted(_kept(before or {})), {}
        elif before is None:  # created: the created fields once
            state = _kept(after)
            changed = sorted(state)
        else:
            changed = changed_fields(before, after)
            for key in set(before) - set(after):  # an old snapshot without the key
                state.pop(key, None)
            state = {**state, **_kept(after)}
        steps.append(
            HistoryStep(
                entry_id=entry.id or 0,
                at=entry.at,
                actor_label=entry.actor_label,
                action=entry.action,
                version=entry.version if entry.version is not None else _version_of(before, after),
                changed=changed,
                state=dict(state),
            )
        )
    return steps


def record_history(
    *, session: Session, actor: Principal | None, entity_type: str, entity_id: str
) -> list[HistoryStep]:
    """``rebuild_history`` of one record, from all its entries (administrators only)."""
    require_admin(actor)
    entries = session.exec(
        select(AuditEntry)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
        .order_by(col(AuditEntry.id))
    ).all()
    return rebuild_history(list(entries))
