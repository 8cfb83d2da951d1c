"""What users do on the pages: sign in, switch language, edit, get refused cleanly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from hub.auth import Principal, Role
from hub.db import make_engine
from hub.records import utcnow
from partners.demo import DEMO_PASSWORD
from partners.models import Account, Organisation
from tests.app.conftest import APP, TIMEOUT, principal_of, texts
from ui.session import LANGUAGE_KEY, LANGUAGE_SWITCH_KEY, LAST_SEEN_KEY, PRINCIPAL_KEY

Opener = Callable[[Role | None], AppTest]


def sign_in_through_the_form(app: AppTest, email: str, password: str) -> AppTest:
    app.run()
    app.switch_page("pages/login.py").run()
    app.text_input(key="login_email").input(email)
    app.text_input(key="login_password").input(password)
    app.button(key="FormSubmitter:login_form-Sign in").click().run()
    return app


def test_staff_sign_in_through_the_form(open_app: Opener) -> None:
    app = sign_in_through_the_form(open_app(None), "staff@demo.example", DEMO_PASSWORD)
    assert not app.exception
    principal = app.session_state[PRINCIPAL_KEY]
    assert isinstance(principal, Principal) and principal.role is Role.STAFF
    app.switch_page("pages/staff_partners.py").run()
    assert "Partner directory" in texts(app)


def test_wrong_password_gets_the_generic_message(open_app: Opener) -> None:
    app = sign_in_through_the_form(open_app(None), "staff@demo.example", "wrong password!")
    assert "Sign-in failed." in texts(app)
    assert PRINCIPAL_KEY not in app.session_state


def test_demo_mode_lists_accounts_and_shows_the_banner(open_app: Opener) -> None:
    app = open_app(None).run()
    app.switch_page("pages/login.py").run()
    shown = texts(app)
    assert "Demo data" in shown
    assert "Demo accounts" in shown
    assert DEMO_PASSWORD in shown


def test_outside_demo_mode_there_is_no_banner_and_no_account_list(
    open_app: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DEMO_MODE", "0")
    app = open_app(None).run()
    assert "Demo data" not in texts(app)
    app.switch_page("pages/login.py").run()
    assert "Demo accounts" not in texts(app)
    assert DEMO_PASSWORD not in texts(app)


def test_idle_session_expires(open_app: Opener, demo_url: str) -> None:
    app = open_app(Role.STAFF)
    app.session_state[LAST_SEEN_KEY] = utcnow() - timedelta(minutes=61)
    app.run()
    assert PRINCIPAL_KEY not in app.session_state
    assert "Your session expired" in texts(app)
    with pytest.raises(ValueError):
        app.switch_page("pages/staff_home.py").run()


def test_sign_in_older_than_the_maximum_expires(open_app: Opener, demo_url: str) -> None:
    app = open_app(None)
    old = principal_of(demo_url, Role.STAFF)
    app.session_state[PRINCIPAL_KEY] = Principal(
        **{**old.__dict__, "signed_in_at": utcnow() - timedelta(hours=13)}
    )
    app.run()
    assert PRINCIPAL_KEY not in app.session_state


def test_a_disabled_account_is_signed_out_on_its_next_click(
    open_app: Opener, demo_url: str
) -> None:
    app = open_app(Role.STAFF).run()
    assert app.session_state[PRINCIPAL_KEY].role is Role.STAFF
    engine = make_engine(demo_url)
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.email == "staff@demo.example")).one()
        account.active = False
        session.add(account)
        session.commit()
    engine.dispose()
    app.run()
    assert PRINCIPAL_KEY not in app.session_state
    assert "no longer active" in texts(app)


def test_portuguese_is_the_default_and_the_switch_changes_it(
    open_app: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "pt")
    app = open_app(None).run()
    assert app.session_state[LANGUAGE_KEY] == "pt"
    portuguese_title = app.title[0].value
    assert portuguese_title != "Official information and support"
    app.sidebar.radio(key=LANGUAGE_SWITCH_KEY).set_value("en").run()
    assert app.title[0].value == "Official information and support"


def test_unreachable_database_shows_a_clear_error_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "en")
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql+psycopg://hub:pw@127.0.0.1:1/nowhere")
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not app.exception
    shown = texts(app)
    assert "The hub cannot reach its database." in shown
    assert "HUB_DATABASE_URL" in shown and "pw@" not in shown


def test_partner_edits_own_profile(open_app: Opener, demo_url: str) -> None:
    app = open_app(Role.PARTNER).run()
    app.switch_page("pages/partner_home.py").run()
    app.text_input(key="partner_profile_sector").input("Public health authority")
    app.button(key="FormSubmitter:partner_profile-Save profile").click().run()
    assert not app.exception
    assert "Saved." in texts(app)
    engine = make_engine(demo_url)
    with Session(engine) as session:
        dgs = session.exec(select(Organisation).where(Organisation.acronym == "DGS")).one()
        assert dgs.sector == "Public health authority"
    engine.dispose()


def test_second_staff_save_is_refused_on_the_page(open_app: Opener, demo_url: str) -> None:
    first = open_app(Role.STAFF).run()
    first.switch_page("pages/staff_partners.py").run()
    second = open_app(Role.ADMIN).run()
    second.switch_page("pages/staff_partners.py").run()
    picked = first.selectbox(key="partners_pick").value
    key = f"partners_edit_{picked}"

    first.text_input(key=f"{key}_sector").input("Changed by the first")
    first.button(key=f"FormSubmitter:{key}-Save changes").click().run()
    assert "Saved." in texts(first)

    second.text_input(key=f"{key}_sector").input("Changed by the second")
    second.button(key=f"FormSubmitter:{key}-Save changes").click().run()
    shown = texts(second)
    assert "Rui Coordenação" in shown and "reload" in shown
    engine = make_engine(demo_url)
    with Session(engine) as session:
        assert session.get(Organisation, picked).sector == "Changed by the first"  # type: ignore[union-attr]
    engine.dispose()


def test_admin_creates_an_account_and_sees_the_one_time_password(open_app: Opener) -> None:
    app = open_app(Role.ADMIN).run()
    app.switch_page("pages/staff_accounts.py").run()
    app.text_input(key="accounts_new_email").input("new.partner@example.pt")
    app.text_input(key="accounts_new_name").input("New Partner")
    organisations = app.selectbox(key="accounts_new_org").options
    app.selectbox(key="accounts_new_org").select_index(1)
    assert len(organisations) > 1
    app.button(key="FormSubmitter:accounts_new-Create account").click().run()
    assert not app.exception
    shown = texts(app)
    assert "One-time password for new.partner@example.pt" in shown
    assert "Created the account new.partner@example.pt" in shown
