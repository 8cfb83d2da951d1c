"""Backup and restore of the whole database.

SQLite uses the online backup API (a consistent copy while the app keeps running);
PostgreSQL uses pg_dump / pg_restore in custom format. A restore first checks that the
file is one of ours (right format, intact, our tables, a migration we know); a corrupt
or foreign file is refused and the current database is left untouched. PostgreSQL
restores run in a single transaction, so a failure half-way changes nothing either.

After a restore the audit log's append-only triggers are checked: any that the file
lacks (an owner dropped or disabled them before the backup) are re-created, and the
restore's own audit entry names them, so the log is protected again from the first
write and the gap is on record. (Refusing such a file would leave the operator with
no way back to their data; re-creating keeps the data and the protection.)
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import Engine, make_url

from hub.audit import record_change, restore_append_only_triggers
from hub.db import current_revisions, known_revisions, migrate, session_scope
from hub.errors import BackupError
from hub.i18n import _

REQUIRED_TABLES = frozenset({"alembic_version", "organisation", "account", "audit_entry"})
SQLITE_HEADER = b"SQLite format 3\x00"


def backup(engine: Engine, target: Path, *, overwrite: bool = False) -> Path:
    target = Path(target)
    if target.exists() and not overwrite:
        raise BackupError(
            _("{path} already exists. Choose another file name or pass --overwrite.").format(
                path=target
            )
        )
    if not target.parent.exists():
        raise BackupError(_("The folder {folder} does not exist.").format(folder=target.parent))
    if engine.dialect.name == "sqlite":
        _backup_sqlite(engine, target)
    else:
        _backup_postgres(engine, target)
    return target


def restore(engine: Engine, source: Path) -> str:
    """Replace the database with ``source``; returns the schema revision now in force."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(_("{path} is not a file.").format(path=source))
    if engine.dialect.name == "sqlite":
        _restore_sqlite(engine, source)
    else:
        _restore_postgres(engine, source)
    migrate(engine)  # an older backup is brought up to the current schema
    with engine.begin() as connection:
        repaired = restore_append_only_triggers(connection)
    summary = f"restored from {source.name}"
    if repaired:
        summary += "; re-created audit log triggers missing from the file: " + ", ".join(repaired)
    with session_scope(engine) as session:
        record_change(
            session=session,
            actor=None,
            action="restore",
            entity_type="database",
            summary=summary,
        )
        session.commit()
    return ", ".join(sorted(current_revisions(engine)))


# --- SQLite -------------------------------------------------------------------------


def _sqlite_path(engine: Engine) -> str:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError(_("An in-memory database cannot be backed up or restored."))
    return database


def _backup_sqlite(engine: Engine, target: Path) -> None:
    # Write beside the target and rename, so a failed backup never leaves half a file.
    fd, partial = tempfile.mkstemp(prefix=".backup-", dir=target.parent)
    os.close(fd)
    try:
        with sqlite3.connect(_sqlite_path(engine)) as live, sqlite3.connect(partial) as copy:
            live.backup(copy)
        os.replace(partial, target)
    except sqlite3.Error as err:
        raise BackupError(_("Backup failed: {reason}").format(reason=err)) from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def check_sqlite_backup(source: Path) -> str:
    """Return the file's schema revisions, or raise BackupError saying why it is refused."""
    with source.open("rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(_("{path} is not a SQLite backup of the hub.").format(path=source))
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as candidate:
            if candidate.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise BackupError(
                    _("{path} is damaged (integrity check failed).").format(path=source)
                )
            tables = {
                row[0]
                for row in candidate.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            missing = REQUIRED_TABLES - tables
            if missing:
                raise BackupError(
                    _("{path} is not a backup of the hub (missing tables: {tables}).").format(
                        path=source, tables=", ".join(sorted(missing))
                    )
                )
            revisions = {
                row[0] for row in candidate.execute("SELECT version_num FROM alembic_version")
            }
    except sqlite3.DatabaseError as err:
        raise BackupError(
            _("{path} cannot be read as a database ({reason}).").format(path=source, reason=err)
        ) from None
    unknown = revisions - known_revisions()
    if not revisions or unknown:
        raise BackupError(
            _("{path} was made by a newer or unknown version of the hub (schema {rev}).").format(
                path=source, rev=", ".join(sorted(unknown)) or "?"
            )
        )
    return ", ".join(sorted(revisions))


def _restore_sqlite(engine: Engine, source: Path) -> None:
    check_sqlite_backup(source)
    engine.dispose()  # close pooled connections before the pages under them change
    try:
        with (
            sqlite3.connect(f"file:{source}?mode=ro", uri=True) as candidate,
            sqlite3.connect(_sqlite_path(engine)) as live,
        ):
            # The backup API copies every page under one lock: readers see the old
            # database or the new one, never a mix.
            candidate.backup(live)
    except sqlite3.Error as err:
        raise BackupError(
            _("Restore failed, nothing was changed: {reason}").format(reason=err)
        ) from None


# --- PostgreSQL ---------------------------------------------------------------------


def _pg_command(engine: Engine) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and an environment carrying it."""
    url = make_url(engine.url.render_as_string(hide_password=False))
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    libpq_url = url.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False
    )
    return libpq_url, env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            _(
                "{tool} was not found. Install the PostgreSQL client tools "
                "(Debian: apt-get install postgresql-client)."
            ).format(tool=name)
        )
    return path


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600, check=False)


def _backup_postgres(engine: Engine, target: Path) -> None:
    url, env = _pg_command(engine)
    fd, partial = tempfile.mkstemp(prefix=".backup-", dir=target.parent)
    os.close(fd)
    try:
        result = _run(
            [
                _pg_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                f"--file={partial}",
                f"--dbname={url}",
            ],
            env,
        )
        if result.returncode != 0:
            raise BackupError(_("Backup failed: {reason}").format(reason=result.stderr.strip()))
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def check_postgres_backup(source: Path) -> None:
    result = _run([_pg_tool("pg_restore"), "--list", str(source)], dict(os.environ))
    if result.returncode != 0:
        raise BackupError(_("{path} is not a PostgreSQL backup of the hub.").format(path=source))
    listed = {
        line.split()[-2]
        for line in result.stdout.splitlines()
        if " TABLE " in line and not line.startswith(";") and len(line.split()) >= 2
    }
    missing = REQUIRED_TABLES - listed
    if missing:
        raise BackupError(
            _("{path} is not a backup of the hub (missing tables: {tables}).").format(
                path=source, tables=", ".join(sorted(missing))
            )
        )


def _restore_postgres(engine: Engine, source: Path) -> None:
    check_postgres_backup(source)
    url, env = _pg_command(engine)
    engine.dispose()
    result = _run(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={url}",
            str(source),
        ],
        env,
    )
    if result.returncode != 0:
        raise BackupError(
            _("Restore failed, nothing was changed: {reason}").format(reason=result.stderr.strip())
        )
