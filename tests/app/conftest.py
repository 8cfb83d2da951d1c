"""AppTest fixtures: a demo database per test and helpers to open the app as a role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from hub.auth import Principal, Role
from hub.db import make_engine
from hub.settings import PROJECT_ROOT
from partners.accounts import principal_for
from partners.models import Account
from partners.sessions import open_session
from ui.session import TOKEN_KEY
from wiring import prepare_database

APP = str(PROJECT_ROOT / "hub_app.py")
TIMEOUT = 60  # seconds per run: generous, the machines are shared and slow

DEMO_EMAILS = {
    Role.ADMIN: "admin@demo.example",
    Role.STAFF: "staff@demo.example",
    Role.PARTNER: "dgs@demo.example",
}


@pytest.fixture
def demo_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_DEMO_MODE", "1")
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "en")
    engine = make_engine(url)
    prepare_database(engine)
    engine.dispose()
    yield url


def principal_of(url: str, role: Role) -> Principal:
    engine = make_engine(url)
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.email == DEMO_EMAILS[role])).one()
        principal = principal_for(account)
    engine.dispose()
    return principal


def session_token_of(url: str, role: Role) -> str:
    """A real web session row for the demo account of ``role``; its token, as the
    hub_session cookie would carry it."""
    engine = make_engine(url)
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.email == DEMO_EMAILS[role])).one()
        token = open_session(session=session, account_id=account.id or 0, device="AppTest")
    engine.dispose()
    return token


@pytest.fixture
def open_app(demo_url: str) -> Callable[[Role | None], AppTest]:
    """A fresh AppTest (a new browser tab), signed in as ``role`` (None: anonymous)
    through a real session row. AppTest sends no cookies, so the token goes where
    ui.session keeps a tab's own token."""

    def opener(role: Role | None) -> AppTest:
        app = AppTest.from_file(APP, default_timeout=TIMEOUT)
        if role is not None:
            app.session_state[TOKEN_KEY] = session_token_of(demo_url, role)
        return app

    return opener


def texts(app: AppTest) -> str:
    """Everything readable on the page, for assertions."""
    parts = [e.value for e in app.title] + [e.value for e in app.markdown]
    parts += [e.value for e in app.error] + [e.value for e in app.warning]
    parts += [e.value for e in app.info] + [e.value for e in app.success]
    parts += [e.value for e in app.header] + [e.value for e in app.subheader]
    # Markdown escapes (\\- in "Direção\\-Geral") are not what a reader sees.
    return "\n".join(str(p) for p in parts).replace("\\", "")
