"""Staff: the offline channels at a glance (issue 19). Send an urgent notice to an
area's subscribers now; see the last digest, the SMS traffic and the subscribers per
area (counts only: no address, no message text)."""

import streamlit as st

from hub.auth import Role
from hub.db import session_scope
from hub.i18n import _
from outreach.reach import outreach_overview
from ui.guards import require_role
from ui.outreach import overview_view, urgent_form
from ui.session import get_engine

principal = require_role(Role.STAFF, Role.ADMIN)

st.title(_("Offline reach"))
st.caption(
    _(
        "Subscribers get a daily digest at 09:00; an item marked urgent goes to them now. "
        "Leaflets per area are on the gap map."
    )
)
st.subheader(_("Mark an item urgent"))
urgent_form(principal)
with session_scope(get_engine()) as session:
    overview = outreach_overview(session=session, actor=principal)
overview_view(overview)
