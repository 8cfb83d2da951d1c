"""backup / restore round trip; corrupt or foreign files are refused, nothing touched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, select

from hub.audit import missing_append_only_triggers, record_change
from hub.auth import Role
from hub.backup import backup, restore
from hub.errors import BackupError
from partners.models import Organisation
from tests.factories import make_organisation, make_principal


def names(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(o.name for o in session.exec(select(Organisation)).all())


def test_round_trip(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        make_principal(session, role=Role.ADMIN)
        make_organisation(session, name="Kept")
    target = backup(engine, tmp_path / "hub.backup")
    assert target.stat().st_size > 0
    with Session(engine) as session:
        make_organisation(session, name="Added after the backup")
    assert names(engine) == ["Added after the backup", "Kept"]

    restore(engine, target)

    assert names(engine) == ["Kept"]
    with pytest.raises(BackupError, match="already exists"):
        backup(engine, target)


def _corrupt_files(tmp_path: Path) -> list[Path]:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database at all" * 100)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE recipes (name TEXT)")
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(b"SQLite format 3\x00" + b"\x00" * 50)
    return [garbage, foreign, truncated, tmp_path / "missing.db"]


def test_corrupt_or_foreign_files_are_refused_and_nothing_changes(
    engine: Engine, tmp_path: Path
) -> None:
    with Session(engine) as session:
        make_organisation(session, name="Untouched")
    for bad in _corrupt_files(tmp_path):
        with pytest.raises(BackupError):
            restore(engine, bad)
        assert names(engine) == ["Untouched"]


def test_a_sqlite_file_cannot_be_restored_into_postgres_and_vice_versa(
    engine: Engine, tmp_path: Path
) -> None:
    # Each backend only accepts its own format; the other's file is refused cleanly.
    other = tmp_path / "other.backup"
    if engine.dialect.name == "sqlite":
        other.write_bytes(b"PGDMP" + b"\x00" * 100)
    else:
        with sqlite3.connect(other) as connection:
            connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
    with Session(engine) as session:
        make_organisation(session, name="Still here")
    with pytest.raises(BackupError):
        restore(engine, other)
    assert names(engine) == ["Still here"]


def test_a_backup_without_audit_triggers_is_restored_with_them(
    engine: Engine, tmp_path: Path
) -> None:
    """Issue 13.12: a valid backup whose append-only triggers were dropped used to be
    restored as it was, and the log then accepted UPDATE. The triggers are re-created
    and the restore's audit entry says so."""
    with Session(engine) as session:
        admin = make_principal(session, role=Role.ADMIN)
        make_organisation(session, name="Kept")
        record_change(session=session, actor=admin, action="create", entity_type="thing")
        session.commit()
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            for name in ("no_update", "no_delete", "no_replace"):
                connection.execute(text(f"DROP TRIGGER audit_entry_{name}"))
        else:
            connection.execute(text("DROP TRIGGER audit_entry_append_only ON audit_entry"))
            connection.execute(text("DROP TRIGGER audit_entry_no_truncate ON audit_entry"))
            connection.execute(text("DROP FUNCTION audit_entry_append_only()"))
    target = backup(engine, tmp_path / "stripped.backup")

    restore(engine, target)

    with engine.connect() as connection, pytest.raises(DatabaseError, match="append-only"):
        connection.execute(text("UPDATE audit_entry SET action = 'forged'"))
    with engine.connect() as connection:
        assert missing_append_only_triggers(connection) == []
        summary = connection.execute(
            text("SELECT summary FROM audit_entry WHERE action = 'restore'")
        ).scalar_one()
    assert "re-created audit log triggers" in summary
    assert names(engine) == ["Kept"]
