"""The audit log records every change and cannot be rewritten."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session

from hub.audit import (
    list_entries,
    missing_append_only_triggers,
    record_change,
    restore_append_only_triggers,
)
from hub.auth import Role
from hub.errors import PermissionDenied
from partners.models import OrganisationDraft
from partners.service import create_organisation, update_organisation
from tests.factories import make_principal


def test_update_records_who_when_before_and_after(session: Session) -> None:
    admin = make_principal(session, role=Role.ADMIN, display_name="Auditor")
    created = create_organisation(
        session=session, actor=admin, draft=OrganisationDraft(name="Before", sector="Health")
    )
    update_organisation(
        session=session,
        actor=admin,
        organisation_id=created.id or 0,
        draft=OrganisationDraft(name="After", sector="Health"),
        expected_version=created.version,
    )
    entries, total = list_entries(session=session, actor=admin, entity_type="organisation")
    assert total == 2
    newest = entries[0]
    assert newest.action == "update"
    assert newest.actor_label.startswith("Auditor")
    assert newest.at.tzinfo is not None
    assert newest.before is not None and newest.after is not None
    assert (newest.before["name"], newest.after["name"]) == ("Before", "After")
    assert newest.summary == "name"


def test_only_admins_read_the_log(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    with pytest.raises(PermissionDenied):
        list_entries(session=session, actor=staff)


def test_filters_and_pagination_happen_in_sql(session: Session) -> None:
    admin = make_principal(session, role=Role.ADMIN)
    for n in range(7):
        record_change(
            session=session, actor=admin, action="update", entity_type="thing", entity_id=n % 2
        )
    session.commit()
    page, total = list_entries(
        session=session, actor=admin, entity_type="thing", entity_id="1", limit=2, offset=2
    )
    assert total == 3
    assert len(page) == 1


def test_the_log_is_append_only_in_the_database(engine: Engine) -> None:
    with Session(engine) as session:
        admin = make_principal(session, role=Role.ADMIN)
        record_change(session=session, actor=admin, action="create", entity_type="thing")
        session.commit()
    for statement in ("UPDATE audit_entry SET action = 'forged'", "DELETE FROM audit_entry"):
        with engine.connect() as connection, pytest.raises(DatabaseError, match="append-only"):
            connection.execute(text(statement))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() >= 1
        assert (
            connection.execute(
                text("SELECT count(*) FROM audit_entry WHERE action = 'forged'")
            ).scalar_one()
            == 0
        )


def test_the_log_refuses_replace_and_truncate(engine: Engine) -> None:
    """Issue 13.11: SQLite's INSERT OR REPLACE deletes the old row without firing the
    DELETE trigger; PostgreSQL's TRUNCATE fires no row trigger. Both are refused."""
    with Session(engine) as session:
        admin = make_principal(session, role=Role.ADMIN)
        entry = record_change(session=session, actor=admin, action="create", entity_type="thing")
        session.commit()
        entry_id = entry.id
    if engine.dialect.name == "sqlite":
        statements = [
            "INSERT OR REPLACE INTO audit_entry (id, at, actor_label, action, entity_type, "
            f"summary) VALUES ({entry_id}, '2026-01-01', 'x', 'forged', 'thing', '')",
            "REPLACE INTO audit_entry (id, at, actor_label, action, entity_type, summary) "
            f"VALUES ({entry_id}, '2026-01-01', 'x', 'forged', 'thing', '')",
        ]
    else:
        statements = ["TRUNCATE audit_entry", "TRUNCATE audit_entry CASCADE"]
    for statement in statements:
        with engine.connect() as connection, pytest.raises(DatabaseError, match="append-only"):
            connection.execute(text(statement))
    with engine.connect() as connection:
        action = connection.execute(
            text("SELECT action FROM audit_entry WHERE id = :id"), {"id": entry_id}
        ).scalar_one()
    assert action == "create"


def test_missing_triggers_are_found_and_restored(engine: Engine) -> None:
    with Session(engine) as session:
        record_change(session=session, actor=None, action="create", entity_type="thing")
        session.commit()
    with engine.begin() as connection:
        assert missing_append_only_triggers(connection) == []
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER audit_entry_no_update"))
            expected = ["audit_entry_no_update"]
        else:
            connection.execute(
                text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_truncate")
            )
            connection.execute(text("DROP TRIGGER audit_entry_append_only ON audit_entry"))
            expected = ["audit_entry_append_only", "audit_entry_no_truncate"]
        assert missing_append_only_triggers(connection) == expected
        assert restore_append_only_triggers(connection) == expected
        assert missing_append_only_triggers(connection) == []
    with engine.connect() as connection, pytest.raises(DatabaseError, match="append-only"):
        connection.execute(text("UPDATE audit_entry SET action = 'forged'"))
