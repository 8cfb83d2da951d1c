"""The account page's API section (AppTest): a partner creates a key (shown once, then
only its prefix), revokes it, subscribes a webhook (its secret shown once) and sees the
delivery log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from hub.db import make_engine
from hub.settings import PROJECT_ROOT
from partners.api_keys import ApiKey
from partners.models import Account
from partners.sessions import open_session
from partners.webhooks import WebhookSubscription
from ui.session import TOKEN_KEY
from wiring import prepare_database

PARTNER = "dgs@demo.example"


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_DEMO_MODE", "1")
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "en")
    engine = make_engine(url)
    prepare_database(engine)
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.email == PARTNER)).one()
        token = open_session(session=session, account_id=account.id or 0, device="AppTest")
    engine.dispose()
    test = AppTest.from_file(str(PROJECT_ROOT / "hub_app.py"), default_timeout=60)
    test.session_state[TOKEN_KEY] = token
    test.run()
    test.switch_page("pages/account.py").run()
    assert not test.exception, test.exception
    return test


def _rows(model: type, url: str) -> list:  # type: ignore[type-arg]
    engine = make_engine(url)
    with Session(engine) as session:
        found = list(session.exec(select(model)).all())
    engine.dispose()
    return found


def test_a_partner_creates_and_revokes_a_key_and_subscribes_a_webhook(
    app: AppTest, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    name_box = next(t for t in app.text_input if t.label == "What the key is for")
    name_box.input("case system")
    next(b for b in app.button if b.label == "Create key").click().run()
    assert not app.exception, app.exception
    (key,) = _rows(ApiKey, url)
    shown = [c.value for c in app.code]
    assert len(shown) == 1 and shown[0].startswith(key.prefix + "_")
    app.run()  # the next rerun no longer shows it
    assert not [c.value for c in app.code]
    next(b for b in app.button if b.label == "Revoke").click().run()
    (key,) = _rows(ApiKey, url)
    assert key.revoked_at is not None

    next(t for t in app.text_input if t.label == "Receiver URL").input("https://crm.example.pt/h")
    next(m for m in app.multiselect if m.label == "Events").set_value(["initiative.published"])
    next(b for b in app.button if b.label == "Subscribe").click().run()
    assert not app.exception, app.exception
    (subscription,) = _rows(WebhookSubscription, url)
    assert [c.value for c in app.code] == [subscription.secret]
    assert any("Nothing delivered yet." in c.value for c in app.caption)
