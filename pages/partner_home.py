"""A partner's own organisation: see and edit its profile."""

import streamlit as st

from hub.auth import Role
from hub.db import session_scope
from hub.i18n import _, format_datetime
from partners.models import TRUST_LEVEL_LABELS
from partners.service import get_organisation, update_organisation
from ui.forms import md, save_and_rerun, shown_version
from ui.guards import require_role
from ui.partners import organisation_fields
from ui.session import get_engine

principal = require_role(Role.PARTNER)

PROFILE_FORM = "partner_profile"


if principal.organisation_id is None:
    st.error(_("Your account is not linked to an organisation. Ask the coordination office."))
    st.stop()

with session_scope(get_engine()) as session:
    organisation = get_organisation(session=session, organisation_id=principal.organisation_id)
version = shown_version(PROFILE_FORM, organisation.version)

st.title(md(organisation.name))
st.caption(
    _("Trust level given by the office: {level}. Last changed {when} by {who}.").format(
        level=_(TRUST_LEVEL_LABELS[organisation.trust_level]),
        when=format_datetime(organisation.updated_at, format="short"),
        who=organisation.updated_by or "—",
    )
)

st.subheader(_("Profile"))
with st.form(PROFILE_FORM):
    draft = organisation_fields(organisation, key=PROFILE_FORM, can_set_trust=False)
    saved = st.form_submit_button(_("Save profile"), type="primary")

if saved:
    save_and_rerun(
        _("Saved."),
        PROFILE_FORM,
        lambda s: update_organisation(
            session=s,
            actor=principal,
            organisation_id=principal.organisation_id or 0,
            draft=draft,
            expected_version=version,
        ),
    )
