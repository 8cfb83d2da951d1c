"""Staff: the whole registry. Filter, search, sort and page through it (in SQL), open a
record to see its history or edit it."""

import math

import pandas as pd
import streamlit as st

from hub.auth import STAFF_ROLES
from hub.db import session_scope
from hub.i18n import _, format_datetime, format_number, get_language
from initiatives.models import REVIEW_STATE_LABELS
from initiatives.queries import form_choices, freshness_counts, search_registry
from initiatives.service import draft_of, get_initiative, history, update_initiative
from ui.exchange import initiative_exports, initiative_import
from ui.forms import action_label, save_and_rerun, shown_version
from ui.guards import require_role
from ui.initiatives import check_fields, initiative_fields, initiative_table, registry_filters
from ui.session import get_engine

principal = require_role(*STAFF_ROLES)

FILTERS_KEY = "registry_filters"
PAGE_KEY = "registry_page"
PICK_KEY = "registry_pick"
EDIT_FORM = "registry_edit"
PAGE_SIZE = 50
IMPORT_KEY = "registry_import"
EXPORT_KEY = "registry_export"

st.title(_("Registry of initiatives"))
engine = get_engine()
with session_scope(engine) as session:
    choices = form_choices(session=session, language=get_language())
    fresh = freshness_counts(session=session, actor=principal)

left, right = st.columns(2)
left.metric(_("Published, past their end date"), fresh["past_end"])
right.metric(_("Published, not confirmed recently"), fresh["unconfirmed"])

initiative_import(key=IMPORT_KEY, actor=principal, organisation_id=None)
with st.expander(_("Export the whole registry"), icon=":material/download:"):
    st.caption(
        _(
            "Every state, with contact e-mails: for the office only. The public open "
            "data has published initiatives and public fields only."
        )
    )
    initiative_exports(key=EXPORT_KEY, actor=principal, include_all=True)
with st.expander(_("Filters and sorting"), expanded=True, icon=":material/filter_list:"):
    filters = registry_filters(key=FILTERS_KEY, choices=choices, with_organisation=True)

with session_scope(engine) as session:
    _rows, total = search_registry(session=session, actor=principal, filters=filters, limit=0)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page_number = st.number_input(_("Page"), min_value=1, max_value=pages, value=1, key=PAGE_KEY)
    rows, total = search_registry(
        session=session,
        actor=principal,
        filters=filters,
        limit=PAGE_SIZE,
        offset=(int(page_number) - 1) * PAGE_SIZE,
    )
st.caption(
    _("{total} initiatives; page {page} of {pages}.").format(
        total=format_number(total), page=page_number, pages=pages
    )
)
if not rows:
    st.info(_("No initiative matches these filters. Clear a filter or the search."))
    st.stop()
initiative_table(rows, choices=choices)

by_id = {r.id: r for r in rows}
picked = st.selectbox(
    _("Open"),
    list(by_id),
    key=PICK_KEY,
    format_func=lambda i: f"{by_id[i].code} · {by_id[i].title}",
)
with session_scope(engine) as session:
    initiative = get_initiative(session=session, actor=principal, initiative_id=picked)
    current = draft_of(session=session, initiative=initiative)
    versions = history(session=session, actor=principal, initiative_id=picked)
form_key = f"{EDIT_FORM}_{picked}"
version = shown_version(form_key, initiative.version)

edit_tab, history_tab = st.tabs([_("Edit"), _("History")])
with edit_tab:
    st.caption(_("Staff edits apply at once, also to published initiatives."))
    with st.form(form_key):
        edited = initiative_fields(
            current, key=form_key, choices=choices, lead_organisation_id=None
        )
        saved = st.form_submit_button(_("Save changes"), type="primary")
    if saved and check_fields(form_key, edited):
        save_and_rerun(
            _("Saved."),
            form_key,
            lambda s: update_initiative(
                session=s,
                actor=principal,
                initiative_id=picked,
                draft=edited,
                expected_version=version,
            ),
        )
with history_tab:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    _("Version"): v.number,
                    _("When"): format_datetime(v.at),
                    _("Who"): v.actor_label,
                    _("Action"): action_label(v.action),
                    _("Review"): _(REVIEW_STATE_LABELS[v.review_state]),
                }
                for v in versions
            ]
        ),
        hide_index=True,
        width="stretch",
    )
