"""Process and browser-session state for the faces: the engine, the language, who is
signed in, the flash message, and the cached reads every viewer shares.

``ui/`` is the only non-page code that imports streamlit (the structure test enforces
it); domain code never imports ``ui``.
"""

from __future__ import annotations

from typing import NoReturn
from urllib.parse import urlencode, urlsplit

import streamlit as st
from sqlalchemy.engine import Engine

from hub import settings
from hub.auth import ROLE_LABELS, Principal, Role
from hub.clients import rate_limit_identifier
from hub.db import make_engine, session_scope
from hub.errors import DatabaseUnavailable
from hub.i18n import LANGUAGES, _, format_datetime, get_language, set_language
from hub.settings import SettingsError
from hub.text import escape_markdown
from partners.accounts import principal_for_sso_email
from partners.models import OrganisationPublic
from partners.service import list_public_organisations
from partners.sessions import (
    EXPIRED,
    SESSION_COOKIE,
    EndReason,
    device_summary,
    end_all_sessions,
    end_session,
    ended_reason,
    list_sessions,
    open_session,
    resolve,
)
from partners.sessions import sign_out as end_web_session
from portal.content import PortalContent, gather
from portal.content import PublicQuery as PortalQuery
from wiring import prepare_database

# Session-state keys, one place.
TOKEN_KEY = "hub_session_token"  # noqa: S105 - a key name; the tab's own token (AppTest, SSO)
SIGNED_IN_KEY = "hub_signed_in"  # this tab was signed in at its last run
ENDED_KEY = "hub_session_ended"  # why it no longer is (a message), for the guards
LANGUAGE_KEY = "hub_language"
LANGUAGE_SWITCH_KEY = "hub_language_switch"
FLASH_KEY = "hub_flash"
SIGNIN_PATH = "/signin"  # portal/signin.py
WORKSPACE_PATH = "/app/"  # server.baseUrlPath in .streamlit/config.toml


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    engine = make_engine(url)
    prepare_database(engine)  # migrations and first-start demo data, once per process
    return engine


def get_engine() -> Engine:
    """The process-wide engine, or a clear error page when the database is unusable."""
    try:
        return _engine_for(settings.database_url())
    except (DatabaseUnavailable, SettingsError) as err:
        show_fatal(_("The hub cannot reach its database."), str(err))


def show_fatal(title: str, detail: str) -> NoReturn:
    st.error(f"**{title}**\n\n{detail}", icon=":material/database:")
    st.caption(_("Administrators: fix the setting, then reload this page."))
    st.stop()


# --- language -----------------------------------------------------------------------


def apply_language() -> str:
    """Pick this run's language: the switch, else ?lang=, else the default setting."""
    if LANGUAGE_KEY not in st.session_state:
        wanted = st.query_params.get("lang", "")
        if wanted not in LANGUAGES:
            try:
                wanted = settings.default_language()
            except SettingsError:
                wanted = "pt"
        st.session_state[LANGUAGE_KEY] = wanted
    set_language(st.session_state[LANGUAGE_KEY])
    return get_language()


def language_switch() -> None:
    # The widget has its own key and copies its value over in a callback: a widget
    # keyed directly on LANGUAGE_KEY would be reset when the page seeded it.
    options = list(LANGUAGES)
    st.sidebar.radio(
        "Idioma / Language",
        options=options,
        index=options.index(st.session_state[LANGUAGE_KEY]),
        format_func=LANGUAGES.__getitem__,
        key=LANGUAGE_SWITCH_KEY,
        horizontal=True,
        on_change=_language_changed,
    )


def _language_changed() -> None:
    st.session_state[LANGUAGE_KEY] = st.session_state[LANGUAGE_SWITCH_KEY]


def role_label(role: Role) -> str:
    return _(ROLE_LABELS[role])


# --- who is signed in ---------------------------------------------------------------
#
# The browser's ``hub_session`` cookie (set by /signin, portal/signin.py) holds the
# token of a database session row; every run reads it through st.context.cookies and
# resolves it (partners.sessions), so a reload, a new tab or another replica stays
# signed in and an ended row signs out every tab at its next run. The raw token may also
# sit in this tab's session_state (TOKEN_KEY): for AppTest, which sends no cookies, and
# for single sign-on, which opens its row from st.user. Never the Principal itself.


def flash(message: str) -> None:
    """Show ``message`` at the top of the next run (survives ``st.rerun``)."""
    st.session_state[FLASH_KEY] = message


def _cookie_token() -> str | None:
    try:
        token = st.context.cookies.get(SESSION_COOKIE)
    except (AttributeError, RuntimeError, TypeError):  # no browser (AppTest, bare mode)
        return None
    return token if isinstance(token, str) and token else None


def current_token() -> str | None:
    """This browser's session token: the cookie, else the tab's own (AppTest, SSO)."""
    token = _cookie_token()
    if token:
        return token
    stored = st.session_state.get(TOKEN_KEY)
    return stored if isinstance(stored, str) and stored else None


def _oidc() -> bool:
    return bool(settings.get("HUB_AUTH_MODE") == "oidc")


def _sso_logged_in() -> bool:
    return bool(st.user.get("is_logged_in", False))


def _device() -> str:
    headers = getattr(st.context, "headers", None)
    agent = getattr(headers, "get", lambda _name: None)("User-Agent")
    return device_summary(agent if isinstance(agent, str) else None)


def _sso_token() -> str | None:
    """Single sign-on: map the identity provider's e-mail to our account and open a
    session row for this tab (the identity cookie is Streamlit's; ours is the row)."""
    if not (_sso_logged_in() and st.user.get("email")):
        return None
    with session_scope(get_engine()) as session:
        principal = principal_for_sso_email(session=session, email=str(st.user["email"]))
        if principal is None:
            flash(
                _(
                    "Your sign-in worked, but this hub has no active account for your e-mail. "
                    "Ask the coordination office to create one."
                )
            )
            return None
        token = open_session(
            session=session,
            account_id=principal.account_id,
            device=_device(),
            client=client_identifier(),
            method="sso",
        )
    st.session_state[TOKEN_KEY] = token
    return token


def ended_message(reason: str | None) -> str | None:
    """What to tell someone whose session ended for ``reason`` (partners.sessions)."""
    if reason is None:
        return None
    return {
        EXPIRED: _("Your session expired. Please sign in again."),
        EndReason.SIGNED_OUT: _("You are signed out."),
        EndReason.ACCOUNT_DISABLED: _("Your account is no longer active."),
        EndReason.PASSWORD_CHANGED: _(
            "Your password was changed, so you were signed out. Please sign in again."
        ),
        EndReason.PASSWORD_RESET: _(
            "Your password was changed, so you were signed out. Please sign in again."
        ),
        EndReason.ROLE_CHANGED: _(
            "Your role changed, so you were signed out. Please sign in again."
        ),
    }.get(reason, _("This session was ended. Please sign in again."))


def current_principal() -> Principal | None:
    """The signed-in principal, resolved from the session row on every run: role and
    organisation re-read from the accounts table, so a change takes effect at once."""
    token = current_token()
    if token is None and _oidc():
        token = _sso_token()
    if token is None:
        return None
    with session_scope(get_engine()) as session:
        principal = resolve(session=session, token=token)
        reason = None if principal else ended_reason(session=session, token=token)
    if principal is not None:
        st.session_state[SIGNED_IN_KEY] = True
        st.session_state.pop(ENDED_KEY, None)
        return principal
    st.session_state.pop(TOKEN_KEY, None)
    message = ended_message(reason)
    st.session_state[ENDED_KEY] = message
    if st.session_state.pop(SIGNED_IN_KEY, False) and message:
        flash(message)  # this tab was signed in a moment ago: say so once
    if _oidc() and _sso_logged_in():
        st.logout()  # an ended row ends single sign-on in this browser too
    return None


def ended_session_message() -> str | None:
    """Why this tab is no longer signed in, if it was (for the guards' refusal)."""
    message = st.session_state.get(ENDED_KEY)
    return message if isinstance(message, str) else None


def sign_out() -> None:
    """End this browser's session row (every tab using it is signed out at its next
    run) and forget the tab's copy; single sign-on is ended too."""
    token = current_token()
    if token:
        with session_scope(get_engine()) as session:
            end_web_session(session=session, token=token)
    st.session_state.pop(TOKEN_KEY, None)
    st.session_state.pop(SIGNED_IN_KEY, None)
    flash(_("You are signed out."))
    if _oidc() and _sso_logged_in():
        st.logout()


def signin_url(next_path: str | None = None) -> str:
    """The /signin form, in this run's language, coming back to ``next_path``."""
    query = {"lang": get_language()}
    if next_path:
        query["next"] = next_path
    return f"{SIGNIN_PATH}?{urlencode(query)}"


def current_path() -> str:
    """The path of the page this run serves ("/app/staff_accounts"), for ``next=``."""
    try:
        url = st.context.url
    except (AttributeError, RuntimeError):
        url = None
    path = urlsplit(url).path if isinstance(url, str) and url else ""
    return path if path.startswith("/") and not path.startswith("//") else WORKSPACE_PATH


def sessions_table(*, actor: Principal, account_id: int, key: str) -> None:
    """The open sessions of an account (device, opened, last seen, "this session"),
    with a button to end each and one to end all but this one; on "My account" for
    one's own, on Accounts for an administrator (the service checks who may)."""
    own = account_id == actor.account_id
    current = current_token() if own else None
    st.subheader(_("Open sessions"))
    st.caption(
        _(
            "Each browser you signed in with. End a session you do not recognise, or all "
            "the others after using a shared computer."
        )
        if own
        else _("Ending a session signs this person out there at their next page.")
    )
    with session_scope(get_engine()) as session:
        open_sessions = list_sessions(
            session=session, actor=actor, account_id=account_id, current_token=current
        )
    if not open_sessions:
        st.caption(_("No open sessions."))
        return
    for row in open_sessions:
        text, action = st.columns([4, 1], vertical_alignment="center")
        how = _("single sign-on") if row.method == "sso" else _("password")
        text.markdown(
            _("**{device}** · {how} · opened {opened} · last seen {seen}").format(
                device=escape_markdown(row.device),
                how=how,
                opened=format_datetime(row.created_at, format="short"),
                seen=format_datetime(row.last_seen_at, format="short"),
            )
            + (f" · **{_('this session')}**" if row.current else "")
        )
        if not row.current and action.button(_("End"), key=f"{key}_end_{row.id}"):
            with session_scope(get_engine()) as session:
                end_session(session=session, actor=actor, session_id=row.id)
            flash(_("The session on {device} was ended.").format(device=row.device))
            st.rerun()
    others = [row for row in open_sessions if not row.current]
    label = _("End all other sessions") if current else _("End all sessions")
    if others and st.button(label, key=f"{key}_end_all", icon=":material/logout:"):
        with session_scope(get_engine()) as session:
            ended = end_all_sessions(
                session=session, actor=actor, account_id=account_id, except_token=current
            )
        flash(_("Sessions ended: {n}.").format(n=ended))
        st.rerun()


# --- shared cached reads (cleared after writes) -------------------------------------


@st.cache_data(ttl=60, show_spinner=False)
def _public_organisations(url: str) -> list[OrganisationPublic]:
    with session_scope(_engine_for(url)) as session:
        return list_public_organisations(session=session)


def public_organisations() -> list[OrganisationPublic]:
    """Shared by every public viewer: one query a minute, however many visitors."""
    get_engine()
    return _public_organisations(settings.database_url())


@st.cache_data(ttl=30, show_spinner=False, max_entries=256)
def _public_content(url: str, query: PortalQuery, language: str) -> PortalContent:
    with session_scope(_engine_for(url)) as session:
        return gather(session=session, query=query, language=language)


def public_content(query: PortalQuery, language: str) -> PortalContent:
    """What the public page shows; shared by every visitor asking the same thing."""
    get_engine()
    return _public_content(settings.database_url(), query, language)


def clear_public_caches() -> None:
    _public_organisations.clear()
    _public_content.clear()


# --- who is asking, for rate limits (issue 8) --------------------------------------------


def client_identifier() -> str:
    """The client's real address (hub.clients: X-Forwarded-For only through trusted
    proxies), or one key shared by every client whose address is unknown: never a
    per-session id, which a new browser session would reset. Services store a hash."""
    address = getattr(st.context, "ip_address", None)
    headers = getattr(st.context, "headers", None)
    forwarded = getattr(headers, "get", lambda _name: None)("X-Forwarded-For")
    return rate_limit_identifier(  # AppTest gives mock objects here: strings only
        address if isinstance(address, str) else None,
        forwarded if isinstance(forwarded, str) else None,
    )
