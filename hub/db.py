"""Database engine, sessions and migrations.

``make_engine`` is pure: the Streamlit app wraps it once per process with
``st.cache_resource`` and the CLI calls it directly. Work happens in short sessions
(``session_scope``), one per operation. The schema is only ever changed by Alembic
migrations in ``migrations/`` (``migrate``), never by ``create_all``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlmodel import Session, create_engine

from hub import settings
from hub.errors import DatabaseUnavailable
from hub.i18n import _

MIGRATIONS_DIR = settings.PROJECT_ROOT / "migrations"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str | None = None) -> Engine:
    """Build an engine for ``url`` (default: the HUB_DATABASE_URL setting).

    Raises DatabaseUnavailable with an actionable message when the URL is malformed or
    a SQLite file's folder cannot be created.
    """
    url = url or settings.database_url()
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(
            _(
                "HUB_DATABASE_URL is not a valid database URL. "
                "Use sqlite:///path/to/hub.db or postgresql+psycopg://user:password@host/db."
            )
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(url, parsed.database)
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseUnavailable(_("HUB_DATABASE_URL must point at SQLite or PostgreSQL."))
    try:
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ModuleNotFoundError) as err:
        raise DatabaseUnavailable(
            _("Cannot use HUB_DATABASE_URL: {error}").format(error=err)
        ) from None


def _make_sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        folder = Path(database).expanduser().resolve().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DatabaseUnavailable(
                _(
                    "Cannot create the database folder {folder}: {reason}. "
                    "Set HUB_DATABASE_URL to a writable place."
                ).format(folder=folder, reason=err.strerror or err)
            ) from None
    busy_ms = int(settings.get("HUB_SQLITE_BUSY_TIMEOUT_MS"))
    engine = create_engine(url, connect_args={"timeout": busy_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers work while one writer writes; foreign keys are off by
        # default in SQLite and we rely on them. synchronous=NORMAL is SQLite's advice
        # for WAL: no fsync per commit (the WAL is synced at checkpoints), still safe
        # against corruption; a power cut (not a crash of the app) may lose the last
        # commits. An fsync per commit made each feed poll's small writes cost ~5 ms.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One short unit of work: commit is the caller's (services commit), rollback on error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revisions() -> set[str]:
    """The newest migration of each branch (each capability may start its own)."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def applied_migrations(engine: Engine) -> int:
    """How many migrations the database has applied (every revision up to its heads)."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    heads = current_revisions(engine)
    return len({rev.revision for rev in script.iterate_revisions(tuple(heads), "base")})


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration. Safe to call on every start."""
    try:
        command.upgrade(alembic_config(engine), "heads")
    except OperationalError as err:
        raise DatabaseUnavailable(describe_connection_error(engine, err)) from None


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as err:
        raise DatabaseUnavailable(describe_connection_error(engine, err)) from None


def describe_connection_error(engine: Engine, err: Exception) -> str:
    where = engine.url.render_as_string(hide_password=True)
    reason = str(getattr(err, "orig", err)).strip().splitlines()[0] if str(err) else ""
    return _(
        "Cannot open the database at {where} ({reason}). Check HUB_DATABASE_URL, that the "
        "server is running and that the file or folder is writable."
    ).format(where=where, reason=reason)


def has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)
