"""Entry point: who are you? -> the pages for that role (``streamlit run hub_app.py``).

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


def page(file: str, title: str, icon: str, *, default: bool = False) -> st.Page:
    return st.Page(f"pages/{file}.py", title=title, icon=icon, default=default)


public_home = page(
    "public_home", _("Information"), ":material/campaign:", default=principal is None
)
account = page("account", _("My account"), ":material/person:")

sections: dict[str, list[st.Page]]
if principal is None:
    sections = {_("Public"): [public_home, page("login", _("Sign in"), ":material/login:")]}
else:
    with session_scope(get_engine()) as session:
        forced_password_change = must_change_password(
            session=session, account_id=principal.account_id
        )
    if forced_password_change:
        account = page("account", _("My account"), ":material/person:", default=True)
        sections = {_("Account"): [account]}
    elif principal.role is Role.PARTNER:
        sections = {
            _("My organisation"): [
                page("partner_home", _("Organisation profile"), ":material/domain:", default=True),
            ],
            _("Public"): [public_home],
            _("Account"): [account],
        }
    else:
        office = [
            page("staff_home", _("Overview"), ":material/dashboard:", default=True),
            page("staff_partners", _("Partners"), ":material/handshake:"),
        ]
        admin = []
        if principal.role is Role.ADMIN:
            admin = [
                page("staff_accounts", _("Accounts"), ":material/manage_accounts:"),
                page("staff_audit", _("Audit log"), ":material/history:"),
            ]
        sections = {_("Office"): office}
        if admin:
            sections[_("Administration")] = admin
        sections[_("Public")] = [public_home]
        sections[_("Account")] = [account]

st.navigation(sections).run()
