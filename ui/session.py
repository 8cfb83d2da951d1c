"""Process and browser-session state for the faces: the engine, the language, who is
signed in, the flash message, and the cached reads every viewer shares.

``ui/`` is the only non-page code that imports streamlit (the structure test enforces
it); domain code never imports ``ui``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NoReturn

import streamlit as st
from sqlalchemy.engine import Engine

from hub import settings
from hub.auth import Principal, Role
from hub.clients import rate_limit_identifier
from hub.db import make_engine, session_scope
from hub.errors import DatabaseUnavailable
from hub.i18n import LANGUAGES, _, get_language, set_language
from hub.records import utcnow
from hub.settings import SettingsError
from partners.accounts import principal_for_sso_email, principal_from_account_id
from partners.models import OrganisationPublic
from partners.service import list_public_organisations
from portal.content import PortalContent, gather
from portal.content import PublicQuery as PortalQuery
from wiring import prepare_database

# Session-state keys, one place.
PRINCIPAL_KEY = "hub_principal"
LAST_SEEN_KEY = "hub_last_seen"
LANGUAGE_KEY = "hub_language"
LANGUAGE_SWITCH_KEY = "hub_language_switch"
FLASH_KEY = "hub_flash"


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
    return {
        Role.ADMIN: _("administrator"),
        Role.STAFF: _("coordination staff"),
        Role.PARTNER: _("partner"),
    }[role]


# --- who is signed in ---------------------------------------------------------------


def flash(message: str) -> None:
    """Show ``message`` at the top of the next run (survives ``st.rerun``)."""
    st.session_state[FLASH_KEY] = message


def sign_in(principal: Principal) -> None:
    st.session_state[PRINCIPAL_KEY] = principal
    st.session_state[LAST_SEEN_KEY] = utcnow()


def sign_out(message: str | None = None) -> None:
    st.session_state.pop(PRINCIPAL_KEY, None)
    st.session_state.pop(LAST_SEEN_KEY, None)
    if message:
        flash(message)


def _expired(principal: Principal) -> bool:
    now = utcnow()
    idle = timedelta(minutes=int(settings.get("HUB_SESSION_IDLE_MINUTES")))
    longest = timedelta(hours=int(settings.get("HUB_SESSION_MAX_HOURS")))
    last_seen = st.session_state.get(LAST_SEEN_KEY, principal.signed_in_at)
    return bool(now - last_seen > idle or now - principal.signed_in_at > longest)


def _sso_principal() -> Principal | None:
    """Map the identity provider's e-mail to our account (single sign-on mode)."""
    if not (st.user.get("is_logged_in", False) and st.user.get("email")):
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
    sign_in(principal)
    return principal


def current_principal() -> Principal | None:
    """The signed-in principal, re-read from the accounts table on every run so that a
    disabled account or a changed role takes effect at once."""
    stored: Principal | None = st.session_state.get(PRINCIPAL_KEY)
    if stored is None and settings.get("HUB_AUTH_MODE") == "oidc":
        stored = _sso_principal()
    if stored is None:
        return None
    if _expired(stored):
        sign_out(_("Your session expired. Please sign in again."))
        return None
    with session_scope(get_engine()) as session:
        fresh = principal_from_account_id(session=session, account_id=stored.account_id)
    if fresh is None:
        sign_out(_("Your account is no longer active."))
        return None
    principal = Principal(**{**fresh.__dict__, "signed_in_at": stored.signed_in_at})
    st.session_state[PRINCIPAL_KEY] = principal
    st.session_state[LAST_SEEN_KEY] = utcnow()
    return principal


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
