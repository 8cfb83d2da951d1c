"""Staff: the measures in force and the consolidated contacts directory."""

import pandas as pd
import streamlit as st

from answers.directory import (
    create_contact,
    create_measure,
    draft_of_measure,
    get_contact,
    get_measure,
    list_contacts,
    list_measures,
    update_contact,
    update_measure,
)
from answers.models import TOPIC_LABELS, ContactDraft, MeasureDraft, Topic
from hub.auth import STAFF_ROLES
from hub.db import session_scope
from hub.i18n import _, format_date
from ui.answers import contact_fields, measure_fields
from ui.forms import save_and_rerun, shown_version
from ui.guards import require_role
from ui.session import get_engine

principal = require_role(*STAFF_ROLES)

MEASURE_PICK_KEY = "directory_measure_pick"
CONTACT_PICK_KEY = "directory_contact_pick"

st.title(_("Measures and contacts"))
engine = get_engine()
with session_scope(engine) as session:
    measures = list_measures(session=session, actor=principal)
    contacts = list_contacts(session=session, actor=principal)

measures_tab, contacts_tab = st.tabs([_("Measures in force"), _("Contacts directory")])

with measures_tab:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    _("Id"): m.id,
                    _("Government area"): _(TOPIC_LABELS[m.area]),
                    _("Title"): m.title,
                    _("In force from"): format_date(m.in_force_from) or "—",
                    _("In force until"): format_date(m.in_force_to) or _("no end date"),
                    _("Published"): _("Yes") if m.published else _("No"),
                }
                for m in measures
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    by_id = {m.id: m for m in measures}
    picked = st.selectbox(
        _("Edit a measure"),
        [None, *by_id],
        key=MEASURE_PICK_KEY,
        format_func=lambda i: by_id[i].title if i else _("New measure"),
    )
    form_key = f"directory_measure_{picked or 'new'}"
    if picked:
        with session_scope(engine) as session:
            measure = get_measure(session=session, actor=principal, measure_id=picked)
            draft = draft_of_measure(session=session, measure=measure)
        version = shown_version(form_key, measure.version)
    else:
        draft = MeasureDraft(area=Topic.HEALTH, title="", summary="")
    with st.form(form_key):
        edited = measure_fields(draft, key=form_key)
        submitted = st.form_submit_button(_("Save the measure"), type="primary")
    if submitted:
        save_and_rerun(
            _("Measure saved."),
            form_key,
            lambda s: (
                update_measure(
                    session=s,
                    actor=principal,
                    measure_id=picked,
                    draft=edited,
                    expected_version=version,
                )
                if picked
                else create_measure(session=s, actor=principal, draft=edited)
            ),
        )

with contacts_tab:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    _("Id"): c.id,
                    _("Name"): c.name,
                    _("Phone"): c.phone,
                    _("Emergency line"): c.emergency,
                    _("Last verified"): c.last_verified,
                    _("Published"): c.published,
                }
                for c in contacts
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    by_contact = {c.id: c for c in contacts}
    chosen = st.selectbox(
        _("Edit a contact"),
        [None, *by_contact],
        key=CONTACT_PICK_KEY,
        format_func=lambda i: by_contact[i].name if i else _("New contact"),
    )
    contact_key = f"directory_contact_{chosen or 'new'}"
    if chosen:
        with session_scope(engine) as session:
            contact = get_contact(session=session, actor=principal, contact_id=chosen)
        contact_version = shown_version(contact_key, contact.version)
        contact_draft = ContactDraft.model_validate(contact, from_attributes=True)
    else:
        contact_draft = ContactDraft(name="")
    with st.form(contact_key):
        edited_contact = contact_fields(contact_draft, key=contact_key)
        contact_submitted = st.form_submit_button(_("Save the contact"), type="primary")
    if contact_submitted:
        save_and_rerun(
            _("Contact saved."),
            contact_key,
            lambda s: (
                update_contact(
                    session=s,
                    actor=principal,
                    contact_id=chosen,
                    draft=edited_contact,
                    expected_version=contact_version,
                )
                if chosen
                else create_contact(session=s, actor=principal, draft=edited_contact)
            ),
        )
