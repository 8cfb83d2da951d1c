"""Streamlit glue shared by hub_app.py and every page: the one module of hub/ that
imports streamlit (the structure test enforces it).

Every page file's first statement is a guard from here (``allow_public``,
``require_signed_in`` or ``require_role``). The guard works on its own, without the
entry point having run: on a freshly started server Streamlit serves files in
``pages/`` by URL until some session has called ``st.navigation``, so a guard that
relied on hub_app.py would let an anonymous visitor into ``/staff_accounts``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import NoReturn

import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from hub import settings
from hub.auth import Principal, Role
from hub.bootstrap import prepare_database
from hub.db import make_engine, session_scope
from hub.errors import DatabaseUnavailable, HubError, StaleRecord
from hub.i18n import LANGUAGES, _, get_language, set_language
from hub.records import utcnow
from hub.settings import SettingsError
from hub.text import escape_markdown
from partners.models import OrganisationPublic
from portal.content import PortalContent
from portal.content import PublicQuery as PortalQuery

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


# --- who is signed in ---------------------------------------------------------------


def sign_in(principal: Principal) -> None:
    st.session_state[PRINCIPAL_KEY] = principal
    st.session_state[LAST_SEEN_KEY] = utcnow()


def sign_out(message: str | None = None) -> None:
    st.session_state.pop(PRINCIPAL_KEY, None)
    st.session_state.pop(LAST_SEEN_KEY, None)
    if message:
        st.session_state[FLASH_KEY] = message


def _expired(principal: Principal) -> bool:
    now = utcnow()
    idle = timedelta(minutes=int(settings.get("HUB_SESSION_IDLE_MINUTES")))
    longest = timedelta(hours=int(settings.get("HUB_SESSION_MAX_HOURS")))
    last_seen = st.session_state.get(LAST_SEEN_KEY, principal.signed_in_at)
    return now - last_seen > idle or now - principal.signed_in_at > longest


def _sso_principal() -> Principal | None:
    """Map the identity provider's e-mail to our account (single sign-on mode)."""
    from partners.accounts import principal_for_sso_email

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
    from partners.accounts import principal_from_account_id

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


# --- guards: the first statement of every page ------------------------------------


def _chrome(principal: Principal | None) -> None:
    language_switch()
    if settings.demo_mode():
        st.warning(
            _(
                "Demo data: the organisations, accounts and records shown here are "
                "illustrative, not real commitments."
            ),
            icon=":material/science:",
        )
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.info(flash)
    if principal is not None:
        st.sidebar.caption(
            _("Signed in as {name} ({role})").format(
                name=principal.display_name, role=role_label(principal.role)
            )
        )
        if st.sidebar.button(_("Sign out"), key="hub_sign_out", icon=":material/logout:"):
            sign_out(_("You are signed out."))
            if settings.get("HUB_AUTH_MODE") == "oidc" and st.user.get("is_logged_in", False):
                st.logout()
            st.rerun()


def allow_public() -> Principal | None:
    """Guard of a public page: anyone may see it. Returns the principal, if any."""
    apply_language()
    principal = current_principal()
    _chrome(principal)
    return principal


def require_signed_in() -> Principal:
    apply_language()
    principal = current_principal()
    _chrome(principal)
    if principal is None:
        _refuse(_("Please sign in to see this page."))
    return principal


def require_role(*roles: Role) -> Principal:
    """Guard of a restricted page: refuse (and stop the script) unless the principal
    has one of ``roles``. Partners whose password must change are sent to do so."""
    apply_language()
    principal = current_principal()
    _chrome(principal)
    if principal is None:
        _refuse(_("Please sign in to see this page."))
    if principal.role not in roles:
        _refuse(_("Your account does not give access to this page."))
    return principal


def _refuse(message: str) -> NoReturn:
    st.error(message, icon=":material/lock:")
    st.markdown(f"[{_('Go to the start page')}](/)")
    st.stop()


def role_label(role: Role) -> str:
    return {
        Role.ADMIN: _("administrator"),
        Role.STAFF: _("coordination staff"),
        Role.PARTNER: _("partner"),
    }[role]


# --- shared cached reads (cleared after writes) -------------------------------------


@st.cache_data(ttl=60, show_spinner=False)
def _public_organisations(url: str) -> list[OrganisationPublic]:
    from partners.service import list_public_organisations

    with session_scope(_engine_for(url)) as session:
        return list_public_organisations(session=session)


def public_organisations() -> list[OrganisationPublic]:
    """Shared by every public viewer: one query a minute, however many visitors."""
    get_engine()
    return _public_organisations(settings.database_url())


def clear_public_caches() -> None:
    _public_organisations.clear()
    _public_content.clear()


def md(text: str) -> str:
    """Escape text from users or partners so Markdown cannot turn it into links or markup."""
    return escape_markdown(text)


# --- editing forms: optimistic locking across reruns --------------------------------

FORM_VERSIONS_KEY = "hub_form_versions"


def shown_version(form_key: str, current_version: int) -> int:
    """The record's version when this form was first shown to this user.

    Saving passes it as ``expected_version``; if someone else saved in between, the
    service refuses instead of overwriting their change.
    """
    versions: dict[str, int] = st.session_state.setdefault(FORM_VERSIONS_KEY, {})
    return versions.setdefault(form_key, current_version)


def reset_form(form_key: str) -> None:
    """Forget the form's inputs and remembered version, so it shows the record afresh."""
    st.session_state.setdefault(FORM_VERSIONS_KEY, {}).pop(form_key, None)
    for key in [k for k in st.session_state if str(k).startswith(form_key + "_")]:
        del st.session_state[key]


def flash(message: str) -> None:
    """Show ``message`` at the top of the next run (survives ``st.rerun``)."""
    st.session_state[FLASH_KEY] = message


def reload_button(form_key: str) -> None:
    if st.button(_("Reload the record"), key=f"reload_{form_key}", icon=":material/refresh:"):
        reset_form(form_key)
        st.rerun()


def save_and_rerun(success: str, form_key: str, write: Callable[[Session], object]) -> None:
    """Run one write in its own short session. On success forget the form and rerun with
    ``success`` shown; on a domain error show its message (and a reload button when
    someone else saved first). Nothing is half-written: services commit all or nothing."""
    try:
        with session_scope(get_engine()) as session:
            write(session)
    except StaleRecord as err:
        st.error(str(err))
        reload_button(form_key)
    except HubError as err:
        st.error(str(err))
    else:
        clear_public_caches()
        reset_form(form_key)
        flash(success)
        st.rerun()


@st.cache_data(ttl=30, show_spinner=False, max_entries=256)
def _public_content(url: str, query: PortalQuery, language: str) -> PortalContent:
    from portal.content import gather

    with session_scope(_engine_for(url)) as session:
        return gather(session=session, query=query, language=language)


def public_content(query: PortalQuery, language: str) -> PortalContent:
    """What the public page shows; shared by every visitor asking the same thing."""
    get_engine()
    return _public_content(settings.database_url(), query, language)


# --- who is asking, for rate limits (issue 8) --------------------------------------------

CLIENT_ID_KEY = "hub_client_id"


def client_identifier() -> str:
    """The connection's address when Streamlit knows it, else a random id for this
    browser session (tests, some proxies). Services store only a hash of it."""
    import secrets

    address = getattr(st.context, "ip_address", None)
    if isinstance(address, str) and address:  # AppTest gives a mock object here
        return f"ip:{address}"
    if CLIENT_ID_KEY not in st.session_state:
        st.session_state[CLIENT_ID_KEY] = secrets.token_hex(16)
    return f"session:{st.session_state[CLIENT_ID_KEY]}"
