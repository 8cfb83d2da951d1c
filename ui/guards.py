"""Guards: the first statement of every page file (``allow_public``,
``require_signed_in`` or ``require_role``).

A guard works on its own, without the entry point having run: on a freshly started
server Streamlit serves files in ``pages/`` by URL until some session has called
``st.navigation``, so a guard that relied on hub_app.py would let an anonymous visitor
into ``/staff_accounts``. For the same reason the guards, not only the navigation,
keep an account whose password must change away from every page but "My account".
"""

from __future__ import annotations

from html import escape
from typing import NoReturn

import streamlit as st

from hub import settings
from hub.auth import Principal, Role
from hub.db import session_scope
from hub.i18n import _, get_language
from partners.accounts import must_change_password
from ui.session import (
    FLASH_KEY,
    WORKSPACE_PATH,
    apply_language,
    current_path,
    current_principal,
    ended_session_message,
    get_engine,
    language_switch,
    role_label,
    sign_out,
    signin_url,
)


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
            sign_out()  # the session row ends: every tab using it is signed out
            st.switch_page("pages/public_home.py")


def allow_public() -> Principal | None:
    """Guard of a public page: anyone may see it. Returns the principal, if any."""
    apply_language()
    principal = current_principal()
    _chrome(principal)
    return principal


def require_signed_in(*, password_change_page: bool = False) -> Principal:
    """Guard of a page for any signed-in account. Only the account page itself passes
    ``password_change_page=True``: every other page refuses an account whose password
    must change and points it to "My account"."""
    apply_language()
    principal = current_principal()
    ended = ended_session_message() if principal is None else None
    if ended and st.session_state.get(FLASH_KEY) == ended:
        del st.session_state[FLASH_KEY]  # the refusal says it: once is enough
    _chrome(principal)
    if principal is None:
        _refuse(ended or _("Please sign in to see this page."), sign_in=True)
    if not password_change_page:
        _refuse_until_password_changed(principal)
    return principal


def require_role(*roles: Role) -> Principal:
    """Guard of a restricted page: refuse (and stop the script) unless the principal
    has one of ``roles``. Accounts whose password must change are sent to do so."""
    principal = require_signed_in()
    if principal.role not in roles:
        _refuse(_("Your account does not give access to this page."))
    return principal


def _refuse_until_password_changed(principal: Principal) -> None:
    with session_scope(get_engine()) as session:
        forced = must_change_password(session=session, account_id=principal.account_id)
    if forced:
        st.error(_("Please change your password before you use the hub."), icon=":material/lock:")
        link(_("Go to My account"), f"{WORKSPACE_PATH}account")
        st.stop()


def link(label: str, href: str) -> None:
    """A link that opens in this tab (Streamlit opens markdown links in a new one)."""
    st.markdown(
        f'<a href="{escape(href)}" target="_self">{escape(label)}</a>', unsafe_allow_html=True
    )


def _refuse(message: str, *, sign_in: bool = False) -> NoReturn:
    """Refuse the page; someone not signed in gets the sign-in form's address with
    ``next`` set to this page, so they come back here."""
    st.error(message, icon=":material/lock:")
    if sign_in:
        link(_("Sign in"), signin_url(current_path()))
    link(_("Go to the start page"), f"{WORKSPACE_PATH}?lang={get_language()}")
    st.stop()
