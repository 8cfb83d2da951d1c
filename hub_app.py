"""Entry point: who are you? -> the pages for that role.

Navigation is rebuilt on every run from the principal and the table in ui/navigation.py,
so a page a role may not see is simply not there. Each page also guards itself (see
ui/guards.py for why).
"""

from __future__ import annotations

import streamlit as st

from hub.db import session_scope
from partners.accounts import must_change_password
from ui.navigation import NavItem, announce_language, every_page_file, pages_for
from ui.session import apply_language, current_principal, get_engine

# A local file: a Material icon here would be fetched from a font CDN on every page.
st.set_page_config(page_title="Hub", page_icon="static/favicon.png", layout="wide")
apply_language()
announce_language()  # <html lang> follows the page language
get_engine()  # a clear error page now, rather than half a page later
principal = current_principal()


def page(item: NavItem) -> st.Page:
    return st.Page(f"pages/{item.file}.py", title=item.title, icon=item.icon)


forced = False
if principal is not None:
    with session_scope(get_engine()) as session:
        forced = must_change_password(session=session, account_id=principal.account_id)

offered = pages_for(principal.role if principal else None, forced_password_change=forced)
sections = {section: [page(item) for item in items] for section, items in offered.items()}
# Every other page too, in no menu: a bookmark or deep link then reaches that page's own
# guard, which says why it is refused and offers sign-in coming back to it (issue 14),
# where Streamlit would answer "Page not found" and lose the address.
unlisted = sorted(every_page_file() - {item.file for items in offered.values() for item in items})
# Our own sidebar menu: Streamlit's is switched off in config.toml, because until some
# session has called st.navigation it would list every file in pages/ to anyone.
current = st.navigation(
    [p for pages in sections.values() for p in pages]
    + [st.Page(f"pages/{name}.py", title="Hub") for name in unlisted],
    position="hidden",
)
with st.sidebar:
    for section, pages in sections.items():
        if section:
            st.caption(section)
        for item in pages:
            st.page_link(item)
    st.divider()
current.run()
