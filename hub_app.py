"""Entry point: who are you? -> the pages for that role.

Navigation is rebuilt on every run from the principal, so a page a role may not see is
simply not there. Each page also guards itself (see ui/guards.py for why).
"""

from __future__ import annotations

import streamlit as st

from hub.auth import Role
from hub.db import session_scope
from hub.i18n import _
from partners.accounts import must_change_password
from ui.session import apply_language, current_principal, get_engine

# A local file: a Material icon here would be fetched from a font CDN on every page.
st.set_page_config(page_title="Hub", page_icon="static/favicon.png", layout="wide")
apply_language()
get_engine()  # a clear error page now, rather than half a page later
principal = current_principal()


def page(file: str, title: str, icon: str) -> st.Page:
    return st.Page(f"pages/{file}.py", title=title, icon=icon)


def pages_for(
    principal_role: Role | None, *, forced_password_change: bool
) -> dict[str, list[st.Page]]:
    """The pages of one role by section; the very first page is its start page."""
    information = page("public_home", _("Public information"), ":material/campaign:")
    account = page("account", _("My account"), ":material/person:")
    if principal_role is None:
        return {"": [information, page("login", _("Sign in"), ":material/login:")]}
    if forced_password_change:
        return {"": [account]}
    if principal_role is Role.PARTNER:
        return {
            _("My organisation"): [
                page("partner_initiatives", _("Our initiatives"), ":material/volunteer_activism:"),
                page("partner_home", _("Organisation profile"), ":material/domain:"),
            ],
            _("Public"): [information],
            _("Account"): [account],
        }
    sections = {
        _("Registry"): [
            page("staff_home", _("Overview"), ":material/dashboard:"),
            page("staff_review", _("Review"), ":material/fact_check:"),
            page("staff_registry", _("Registry"), ":material/table_view:"),
            page("staff_overlaps", _("Overlaps"), ":material/join_inner:"),
            page("staff_gaps", _("Gap map"), ":material/map:"),
            page("staff_partners", _("Partners"), ":material/handshake:"),
        ],
        _("Public information"): [
            page("staff_feeds", _("Feeds"), ":material/rss_feed:"),
            page("staff_feed_review", _("Feed review"), ":material/checklist:"),
            page("staff_questions", _("Questions"), ":material/contact_support:"),
            page("staff_directory", _("Measures and contacts"), ":material/contact_phone:"),
            information,
        ],
    }
    if principal_role is Role.ADMIN:
        sections[_("Administration")] = [
            page("staff_accounts", _("Accounts"), ":material/manage_accounts:"),
            page("staff_audit", _("Audit log"), ":material/history:"),
        ]
    sections[_("Account")] = [account]
    return sections


forced = False
if principal is not None:
    with session_scope(get_engine()) as session:
        forced = must_change_password(session=session, account_id=principal.account_id)

sections = pages_for(principal.role if principal else None, forced_password_change=forced)
# Our own sidebar menu: Streamlit's is switched off in config.toml, because until some
# session has called st.navigation it would list every file in pages/ to anyone.
current = st.navigation([p for pages in sections.values() for p in pages], position="hidden")
with st.sidebar:
    for section, pages in sections.items():
        if section:
            st.caption(section)
        for item in pages:
            st.page_link(item)
    st.divider()
current.run()
