"""Public information page: no sign-in. Renders public shapes only."""

import streamlit as st

from hub.i18n import _
from hub.ui import allow_public, md, public_organisations
from partners.models import ORGANISATION_TYPE_LABELS, OrganisationType

allow_public()

st.title(_("Official information and support"))
st.markdown(
    _(
        "One place for reliable information during the crisis: who is helping, "
        "where to call, and what is available. Maintained by the coordination office "
        "with its public, private and non-profit partners."
    )
)

st.header(_("Emergency and support lines"), divider="gray")
left, right = st.columns(2)
left.metric(_("Emergency"), "112")
right.metric(_("SNS 24 health line"), "808 24 24 24")

st.header(_("Who is working with the office"), divider="gray")
organisations = public_organisations()
if not organisations:
    st.info(_("No partners are listed yet. Check back soon."))
for organisation_type in OrganisationType:
    members = [o for o in organisations if o.type is organisation_type]
    if not members:
        continue
    st.subheader(f"{_(ORGANISATION_TYPE_LABELS[organisation_type])} ({len(members)})")
    lines = []
    for organisation in members:
        line = f"**{md(organisation.name)}**"
        if organisation.acronym:
            line += f" ({md(organisation.acronym)})"
        if organisation.sector:
            line += f" · {md(organisation.sector)}"
        if organisation.website:
            line += f" · [{_('website')}]({organisation.website})"
        lines.append("- " + line)
    st.markdown("\n".join(lines))
