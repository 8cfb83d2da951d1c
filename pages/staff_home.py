"""Staff overview: the directory at a glance."""

import altair as alt
import pandas as pd
import streamlit as st

from hub.auth import STAFF_ROLES, Role
from hub.db import session_scope
from hub.i18n import _
from hub.ui import get_engine, require_role, role_label
from partners.accounts import count_by_role
from partners.models import ORGANISATION_TYPE_LABELS, OrganisationType
from partners.service import count_by_type

principal = require_role(*STAFF_ROLES)

st.title(_("Coordination overview"))
st.write(_("Welcome, {name}.").format(name=principal.display_name))

with session_scope(get_engine()) as session:
    by_type = count_by_type(session=session)
    by_role = count_by_role(session=session)

left, middle, right = st.columns(3)
left.metric(_("Partner organisations"), sum(by_type.values()))
middle.metric(_("Partner user accounts"), by_role.get(Role.PARTNER.value, 0))
right.metric(
    _("Office staff accounts"), by_role.get(Role.STAFF.value, 0) + by_role.get(Role.ADMIN.value, 0)
)

if by_type:
    frame = pd.DataFrame(
        [
            {_("Type"): _(ORGANISATION_TYPE_LABELS[OrganisationType(key)]), _("Organisations"): n}
            for key, n in by_type.items()
        ]
    )
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{_('Organisations')}:Q", axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y(f"{_('Type')}:N", sort="-x"),
            tooltip=[_("Type"), _("Organisations")],
        )
        .properties(title=_("Partners by type"), height=200)
    )
    st.altair_chart(chart, width="stretch")
else:
    st.info(_("No partner organisations yet. Add the first one on the Partners page."))

st.caption(
    _("Accounts by role: ")
    + ", ".join(f"{role_label(Role(key))} {n}" for key, n in sorted(by_role.items()))
)
