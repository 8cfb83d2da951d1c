"""Entry point: who are you? -> the pages for that role.

Navigation is rebuilt on every run from the principal, so a page a role may not see is
simply not there. Each page also guards itself (see hub/ui.py for why).
"""

from __future__ import annotations

import streamlit as st

from hub.auth import Role
from hub.db import session_scope
from hub.i18n import _
from hub.ui import apply_language, current_principal, get_engine
from partners.accounts import must_change_password

st.set_page_config(page_title="Hub", page_icon=":material/hub:", layout="wide")
apply_language()
get_engine()  # a clear error page now, rather than half a page later
principal = current_principal()


def page(file: str, title: str, icon: str) -> st.Page:
    return st.Page(f"pages/{file}.py", title=title, icon=icon)


def pages_for(principal_role: Role | None, *, forced_password_change: bool) -> list[st.Page]:
    """The pages of one role, the first being its start page."""
    information = page("public_home", _("Information"), ":material/campaign:")
    account = page("account", _("My account"), ":material/person:")
    if principal_role is None:
        return [information, page("login", _("Sign in"), ":material/login:")]
    if forced_password_change:
        return [account]
    if principal_role is Role.PARTNER:
        return [
            page("partner_home", _("Organisation profile"), ":material/domain:"),
            information,
            account,
        ]
    office = [
        page("staff_home", _("Overview"), ":material/dashboard:"),
        page("staff_partners", _("Partners"), ":material/handshake:"),
    ]
    if principal_role is Role.ADMIN:
        office += [
            page("staff_accounts", _("Accounts"), ":material/manage_accounts:"),
            page("staff_audit", _("Audit log"), ":material/history:"),
        ]
    return [*office, information, account]


forced = False
if principal is not None:
    with session_scope(get_engine()) as session:
        forced = must_change_password(session=session, account_id=principal.account_id)

# Along the top: the sidebar's pages-directory list is switched off in config.toml.
st.navigation(
    pages_for(principal.role if principal else None, forced_password_change=forced),
    position="top",
).run()
