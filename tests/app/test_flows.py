"""What users do on the pages: stay signed in through a session row, sign out, end
sessions, switch language, edit, get refused cleanly. (The /signin form itself:
tests/unit/test_signin.py.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from hub.auth import Role
from hub.db import make_engine
from partners.demo import DEMO_PASSWORD
from partners.models import Account, Organisation
from partners.sessions import EndReason, WebSession, hash_token
from tests.app.conftest import APP, TIMEOUT, session_token_of, texts
from ui.session import LANGUAGE_KEY, LANGUAGE_SWITCH_KEY, TOKEN_KEY

Opener = Callable[[Role | None], AppTest]


def session_row(url: str, token: str) -> WebSession:
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        row = session.exec(
            select(WebSession).where(WebSession.token_hash == hash_token(token))
        ).one()
    engine.dispose()
    return row


def age_session(url: str, token: str, **moved_back: timedelta) -> None:
    """Move a session's timestamps into the past (no waiting in tests)."""
    engine = make_engine(url)
    with Session(engine) as session:
        row = session.exec(
            select(WebSession).where(WebSession.token_hash == hash_token(token))
        ).one()
        for name, delta in moved_back.items():
            setattr(row, name, getattr(row, name) - delta)
        session.add(row)
        session.commit()
    engine.dispose()


def test_a_session_row_signs_staff_in(open_app: Opener) -> None:
    app = open_app(Role.STAFF).run()
    assert not app.exception
    assert "Signed in as Rui Coordenação (coordination staff)" in "\n".join(
        c.value for c in app.sidebar.caption
    )
    app.switch_page("pages/staff_partners.py").run()
    assert "Partner directory" in texts(app)


def test_the_login_page_points_to_the_signin_form(open_app: Opener) -> None:
    app = open_app(None).run()
    app.switch_page("pages/login.py").run()
    assert not app.exception
    shown = texts(app)
    assert 'href="/signin?lang=en&amp;next=%2Fapp%2F" target="_self"' in shown
    assert "Go to the sign-in page" in shown
    assert any("lists the demo accounts" in c.value for c in app.caption)
    assert "Demo data" in shown


def test_outside_demo_mode_there_is_no_banner_and_no_account_list(
    open_app: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DEMO_MODE", "0")
    app = open_app(None).run()
    assert "Demo data" not in texts(app)
    app.switch_page("pages/login.py").run()
    assert not any("demo accounts" in c.value for c in app.caption)
    assert DEMO_PASSWORD not in texts(app)


def test_a_deep_link_while_signed_out_offers_sign_in_coming_back(open_app: Opener) -> None:
    app = open_app(None)
    app.switch_page("pages/staff_accounts.py").run()
    shown = texts(app)
    assert "Please sign in to see this page." in shown
    assert "/signin?lang=en&amp;next=%2Fapp%2F" in shown  # AppTest has no URL: the start
    assert ">Go to the start page</a>" in shown
    assert "Create an account" not in shown


def test_the_guard_speaks_portuguese_on_a_portuguese_page(
    open_app: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "pt")
    app = open_app(None)
    app.switch_page("pages/staff_home.py").run()
    shown = texts(app)
    assert "Inicie sessão para ver esta página." in shown
    assert ">Ir para a página inicial</a>" in shown
    assert ">Iniciar sessão</a>" in shown
    assert "Go to the start page" not in shown


def test_idle_session_expires(open_app: Opener, demo_url: str) -> None:
    app = open_app(Role.STAFF).run()
    token = app.session_state[TOKEN_KEY]
    age_session(demo_url, token, last_seen_at=timedelta(minutes=61))
    app.run()
    assert TOKEN_KEY not in app.session_state
    assert "Your session expired" in texts(app)
    app.switch_page("pages/staff_partners.py").run()  # a bookmark of a staff page
    shown = texts(app)
    assert "Your session expired. Please sign in again." in shown  # the guard says why
    assert "Partner directory" not in shown


def test_sign_in_older_than_the_maximum_expires(open_app: Opener, demo_url: str) -> None:
    app = open_app(Role.STAFF).run()
    token = app.session_state[TOKEN_KEY]
    age_session(demo_url, token, created_at=timedelta(hours=13), expires_at=timedelta(hours=13))
    app.switch_page("pages/staff_partners.py").run()
    assert TOKEN_KEY not in app.session_state
    shown = texts(app)
    assert "Your session expired. Please sign in again." in shown
    assert "Partner directory" not in shown


def test_a_disabled_account_is_signed_out_on_its_next_click(
    open_app: Opener, demo_url: str
) -> None:
    app = open_app(Role.STAFF).run()
    assert TOKEN_KEY in app.session_state
    engine = make_engine(demo_url)
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.email == "staff@demo.example")).one()
        account.active = False
        session.add(account)
        session.commit()
    engine.dispose()
    app.run()
    assert TOKEN_KEY not in app.session_state
    assert "no longer active" in texts(app)


def test_signing_out_in_one_tab_signs_out_the_other(open_app: Opener) -> None:
    first = open_app(Role.STAFF).run()
    token = first.session_state[TOKEN_KEY]
    second = AppTest.from_file(APP, default_timeout=TIMEOUT)
    second.session_state[TOKEN_KEY] = token  # the same browser: the same cookie
    second.run()
    second.switch_page("pages/staff_partners.py").run()
    assert "Partner directory" in texts(second)

    first.sidebar.button(key="hub_sign_out").click().run()
    assert "You are signed out." in texts(first)
    assert not any("Signed in as" in c.value for c in first.sidebar.caption)

    second.run()
    shown = texts(second)
    assert "Partner directory" not in shown
    assert "You are signed out." in shown


def test_my_account_lists_sessions_and_ends_the_others(open_app: Opener, demo_url: str) -> None:
    here = open_app(Role.PARTNER).run()
    elsewhere = session_token_of(demo_url, Role.PARTNER)  # another browser of the same user
    here.switch_page("pages/account.py").run()
    assert not here.exception
    shown = texts(here)
    assert "Open sessions" in shown and "this session" in shown and "AppTest" in shown
    here.button(key="account_sessions_end_all").click().run()
    assert "Sessions ended: 1." in texts(here)
    assert session_row(demo_url, elsewhere).revoked_at is not None
    assert session_row(demo_url, here.session_state[TOKEN_KEY]).revoked_at is None


def test_changing_the_password_keeps_this_session_and_ends_the_others(
    open_app: Opener, demo_url: str
) -> None:
    app = open_app(Role.PARTNER).run()
    elsewhere = session_token_of(demo_url, Role.PARTNER)
    app.switch_page("pages/account.py").run()
    fields = app.text_input
    fields[0].input(DEMO_PASSWORD)
    fields[1].input("a quite different passphrase")
    fields[2].input("a quite different passphrase")
    app.button(key="FormSubmitter:account_password_form-Change password").click().run()
    assert not app.exception
    assert "Password changed." in texts(app)
    assert session_row(demo_url, elsewhere).revoked_reason == EndReason.PASSWORD_CHANGED
    app.run()
    assert TOKEN_KEY in app.session_state  # still signed in here


def test_admin_ends_another_users_sessions(open_app: Opener, demo_url: str) -> None:
    partner = open_app(Role.PARTNER).run()
    token = partner.session_state[TOKEN_KEY]
    admin = open_app(Role.ADMIN).run()
    admin.switch_page("pages/staff_accounts.py").run()
    picker = admin.selectbox(key="accounts_pick")
    wanted = next(o for o in picker.options if o.startswith("dgs@demo.example"))
    picker.select(wanted).run()
    assert "Open sessions" in texts(admin)
    end_all = next(b for b in admin.button if b.key and b.key.endswith("_sessions_end_all"))
    end_all.click().run()
    assert not admin.exception
    assert session_row(demo_url, token).revoked_reason == EndReason.ENDED_BY_ADMIN
    partner.run()
    assert TOKEN_KEY not in partner.session_state
    assert "This session was ended" in texts(partner)


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


def test_single_sign_on_opens_a_session_row_that_ends_like_any_other(
    open_app: Opener, demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_AUTH_MODE", "oidc")
    app = open_app(None)
    app.user = {"is_logged_in": True, "email": "Staff@Demo.Example"}
    app.run()
    assert not app.exception
    token = app.session_state[TOKEN_KEY]
    row = session_row(demo_url, token)
    assert row.method == "sso" and row.revoked_at is None
    app.switch_page("pages/staff_partners.py").run()
    assert "Partner directory" in texts(app)

    admin = open_app(Role.ADMIN).run()
    admin.switch_page("pages/staff_accounts.py").run()
    picker = admin.selectbox(key="accounts_pick")
    picker.select(next(o for o in picker.options if o.startswith("staff@demo.example"))).run()
    end_all = next(b for b in admin.button if b.key and b.key.endswith("_sessions_end_all"))
    end_all.click().run()

    app.run()  # the row ended: the tab is signed out and single sign-on with it
    assert TOKEN_KEY not in app.session_state
    assert not app.user.get("is_logged_in")
    assert "This session was ended" in texts(app)


def test_single_sign_on_without_an_account_signs_nobody_in(
    open_app: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_AUTH_MODE", "oidc")
    app = open_app(None)
    app.user = {"is_logged_in": True, "email": "stranger@example.org"}
    app.run()
    assert TOKEN_KEY not in app.session_state
    assert "no active account for your e-mail" in texts(app)
