"""Shared fixtures: a fresh, migrated database per test, on SQLite and PostgreSQL.

PostgreSQL tests use the server named by HUB_TEST_POSTGRES_URL (a database the user may
CREATE DATABASE from). Locally they skip with a reason when it is unset; under CI=true
a missing server fails the run instead, so CI can never pass by skipping them.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from hub.db import make_engine, migrate
from hub.i18n import set_language
from tests.factories import World, make_world

# A real SMTP server fixture (aiosmtpd on 127.0.0.1) for any test that sends mail.
pytest_plugins = ["tests.smtp_server"]

POSTGRES_ENV = "HUB_TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").lower() == "true"


def postgres_admin_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if url:
        return url
    if IN_CI:
        pytest.fail(f"CI=true but {POSTGRES_ENV} is not set: PostgreSQL tests must run in CI.")
    return None


def require_postgres() -> str:
    url = postgres_admin_url()
    if url is None:
        pytest.skip(f"set {POSTGRES_ENV} (e.g. postgresql+psycopg://hub:hub@127.0.0.1/hub_test)")
    return url


class PostgresDatabases:
    """Creates throw-away databases, cloned from one migrated template per test run."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.admin = sa_create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.template: str | None = None

    def _url_for(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def _ensure_template(self) -> str:
        if self.template is None:
            name = f"hub_tmpl_{uuid.uuid4().hex[:10]}"
            with self.admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            engine = make_engine(self._url_for(name))
            migrate(engine)
            engine.dispose()
            self.template = name
        return self.template

    def create(self, *, migrated: bool = True) -> str:
        name = f"hub_t_{uuid.uuid4().hex[:12]}"
        template = f' TEMPLATE "{self._ensure_template()}"' if migrated else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{template}'))
        return self._url_for(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        # FORCE ends our own leftover connections, but not an autovacuum worker
        # (a superuser's process) that may be visiting the new database: wait it out.
        for attempt in range(40):
            try:
                with self.admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                return
            except DBAPIError:
                if attempt == 39:
                    raise
                time.sleep(0.25)

    def close(self) -> None:
        if self.template:
            self.drop(self._url_for(self.template))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases | None]:
    url = postgres_admin_url()
    if url is None:
        yield None
        return
    databases = PostgresDatabases(url)
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "hub.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_databases: PostgresDatabases | None,
) -> Iterator[str]:
    """URL of a fresh, migrated database, once per backend."""
    if request.param == "sqlite":
        path = tmp_path / "hub.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if postgres_databases is None:
        require_postgres()
        return
    url = postgres_databases.create()
    yield url
    postgres_databases.drop(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture(autouse=True)
def english_messages() -> Iterator[None]:
    """Tests assert on English text unless they switch language themselves."""
    set_language("en")
    yield
    set_language("en")


@pytest.fixture(autouse=True)
def clean_hub_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit an operator's HUB_* settings."""
    for name in list(os.environ):
        if name.startswith("HUB_") and name != POSTGRES_ENV:
            monkeypatch.delenv(name)


@pytest.fixture
def world(session: Session) -> World:
    """The registry tests' common start: areas, staff, three organisations, partners."""
    return make_world(session)
