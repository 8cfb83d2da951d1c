"""Staff: the partner directory. Add, edit, deactivate organisations; export CSV."""

import pandas as pd
import streamlit as st

from hub.auth import STAFF_ROLES
from hub.db import session_scope
from hub.errors import HubError
from hub.i18n import _
from partners.models import (
    GOVERNMENT_LEVEL_LABELS,
    ORGANISATION_TYPE_LABELS,
    TRUST_LEVEL_LABELS,
    OrganisationDraft,
)
from partners.service import (
    create_organisation,
    list_organisations,
    set_organisation_active,
    update_organisation,
)
from ui.forms import (
    clear_data_caches,
    md,
    reset_form,
    save_and_rerun,
    shown_version,
    spreadsheet_csv,
)
from ui.guards import require_role
from ui.partners import organisation_fields
from ui.session import flash, get_engine

principal = require_role(*STAFF_ROLES)

NEW_FORM = "partners_new"
EDIT_FORM = "partners_edit"
SEARCH_KEY = "partners_search"
PICK_KEY = "partners_pick"


st.title(_("Partner directory"))

with session_scope(get_engine()) as session:
    organisations = list_organisations(session=session, include_inactive=True)

search = st.text_input(_("Search by name, acronym or sector"), key=SEARCH_KEY).strip().lower()
shown = [
    o for o in organisations if not search or search in f"{o.name} {o.acronym} {o.sector}".lower()
]
table = pd.DataFrame(
    [
        {
            _("Name"): o.name,
            _("Acronym"): o.acronym,
            _("Type"): _(ORGANISATION_TYPE_LABELS[o.type]),
            _("Sector"): o.sector,
            _("Level of government"): _(GOVERNMENT_LEVEL_LABELS[o.government_level]),
            _("Trust level"): _(TRUST_LEVEL_LABELS[o.trust_level]),
            _("Website"): o.website,
            _("Active"): o.active,
        }
        for o in shown
    ]
)
if table.empty:
    st.info(_("No organisation matches. Clear the search or add one below."))
else:
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={_("Website"): st.column_config.LinkColumn(_("Website"))},
    )
    st.download_button(
        _("Download as CSV"),
        spreadsheet_csv(table),
        file_name="partners.csv",
        mime="text/csv",
        icon=":material/download:",
    )

with (
    st.expander(_("Add an organisation"), icon=":material/add:"),
    st.form(NEW_FORM, clear_on_submit=False),
):
    draft = organisation_fields(None, key=NEW_FORM, can_set_trust=True)
    if st.form_submit_button(_("Add organisation"), type="primary"):
        try:
            with session_scope(get_engine()) as session:
                created = create_organisation(session=session, actor=principal, draft=draft)
        except HubError as err:
            st.error(str(err))
        else:
            clear_data_caches()
            reset_form(NEW_FORM)
            flash(_("Added {name}.").format(name=md(created.name)))
            st.rerun()

st.subheader(_("Edit an organisation"))
if organisations:
    by_id = {o.id: o for o in organisations if o.id is not None}  # saved rows have ids
    picked_id = st.selectbox(
        _("Organisation"), list(by_id), key=PICK_KEY, format_func=lambda i: by_id[i].name
    )
    organisation = by_id[picked_id]
    form_key = f"{EDIT_FORM}_{picked_id}"
    version = shown_version(form_key, organisation.version)
    with st.form(form_key):
        edited: OrganisationDraft = organisation_fields(
            organisation, key=form_key, can_set_trust=True
        )
        save, toggle = st.columns(2)
        saved = save.form_submit_button(_("Save changes"), type="primary")
        toggled = toggle.form_submit_button(
            _("Deactivate") if organisation.active else _("Reactivate")
        )
    if saved:
        save_and_rerun(
            _("Saved."),
            form_key,
            lambda s: update_organisation(
                session=s,
                actor=principal,
                organisation_id=picked_id,
                draft=edited,
                expected_version=version,
            ),
        )
    elif toggled:
        save_and_rerun(
            _("Saved."),
            form_key,
            lambda s: set_organisation_active(
                session=s,
                actor=principal,
                organisation_id=picked_id,
                active=not organisation.active,
                expected_version=version,
            ),
        )
