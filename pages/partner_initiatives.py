"""A partner's initiatives: create, edit, submit, report progress, confirm, withdraw."""

import streamlit as st

from hub.auth import Role
from hub.db import session_scope
from hub.i18n import _, format_datetime, get_language
from initiatives.models import InitiativeDraft, ReviewState
from initiatives.queries import RegistryFilter, form_choices, search_registry
from initiatives.service import (
    confirm_initiative,
    draft_of,
    get_initiative,
    mark_notifications_read,
    notifications_for,
    update_initiative,
    withdraw_initiative,
)
from ui.exchange import initiative_import
from ui.forms import md, reset_form, save_and_rerun, shown_version
from ui.guards import require_role
from ui.initiatives import check_fields, initiative_fields, initiative_table, progress_form
from ui.overlaps import new_initiative
from ui.session import get_engine

principal = require_role(Role.PARTNER)

NEW_FORM = "partner_new_initiative"
IMPORT_KEY = "partner_import"
EDIT_FORM = "partner_edit_initiative"
PICK_KEY = "partner_initiative_pick"
READ_KEY = "partner_notifications_read"
TABS_KEY = "partner_initiatives_tab"

st.title(_("Our initiatives"))
engine = get_engine()
with session_scope(engine) as session:
    choices = form_choices(session=session, language=get_language())
    rows, total = search_registry(
        session=session, actor=principal, filters=RegistryFilter(), limit=500
    )
    unread = notifications_for(session=session, actor=principal, unread_only=True)

for note in unread:
    st.info(
        f"{format_datetime(note.created_at, format='short')} · {md(note.message)}",
        icon=":material/notifications:",
    )
if unread and st.button(_("Mark messages as read"), key=READ_KEY):
    with session_scope(engine) as session:
        mark_notifications_read(session=session, actor=principal)
    st.rerun()

if rows:
    initiative_table(rows, choices=choices)
else:
    st.info(_("Your organisation has no initiatives yet. Describe the first one below."))
initiative_import(key=IMPORT_KEY, actor=principal, organisation_id=principal.organisation_id)


NEW_TAB, EDIT_TAB = _("New initiative"), _("Update an initiative")


def update_instead(initiative_id: int) -> None:
    """The callback of "Update that one instead" (run before the widgets are drawn, so
    it may set their state): open the update tab on the partner's own earlier
    initiative; the new draft is dropped, as the partner chose to edit that one."""
    reset_form(NEW_FORM)
    st.session_state[PICK_KEY] = initiative_id
    st.session_state[TABS_KEY] = EDIT_TAB


new_tab, edit_tab = st.tabs([NEW_TAB, EDIT_TAB], key=TABS_KEY, on_change="rerun")
with new_tab:
    new_initiative(key=NEW_FORM, actor=principal, choices=choices, update_instead=update_instead)

with edit_tab:
    if not rows:
        st.caption(_("Nothing to update yet."))
        st.stop()
    by_id = {r.id: r for r in rows}
    if st.session_state.get(PICK_KEY, rows[0].id) not in by_id:  # beyond the list shown
        del st.session_state[PICK_KEY]
    picked = st.selectbox(
        _("Initiative"),
        list(by_id),
        key=PICK_KEY,
        format_func=lambda i: f"{by_id[i].code} · {by_id[i].title}",
    )
    with session_scope(engine) as session:
        initiative = get_initiative(session=session, actor=principal, initiative_id=picked)
        current = draft_of(session=session, initiative=initiative)
    form_key = f"{EDIT_FORM}_{picked}"
    version = shown_version(form_key, initiative.version)
    if initiative.review_note and initiative.review_state in {
        ReviewState.CHANGES_REQUESTED,
        ReviewState.REJECTED,
        ReviewState.PUBLISHED,
    }:
        st.warning(
            _("Message from the coordination office: {note}").format(
                note=md(initiative.review_note)
            )
        )
    if initiative.pending_changes is not None:
        st.info(
            _(
                "Your last edit is waiting for review; the published version stays "
                "visible until it is approved."
            )
        )
        current = InitiativeDraft.model_validate(initiative.pending_changes)
    if initiative.review_state is ReviewState.WITHDRAWN:
        st.caption(_("This initiative was withdrawn; it can no longer be edited."))
        st.stop()
    unpublished = initiative.review_state is not ReviewState.PUBLISHED
    with st.form(form_key):
        edited = initiative_fields(
            current, key=form_key, choices=choices, lead_organisation_id=principal.organisation_id
        )
        left, right = st.columns(2)
        saved = left.form_submit_button(
            _("Save changes") if unpublished else _("Send changes for review"), type="primary"
        )
        resubmit = unpublished and right.form_submit_button(_("Submit for review"))
    if (saved or resubmit) and check_fields(form_key, edited):
        save_and_rerun(
            _("Saved."),
            form_key,
            lambda s: update_initiative(
                session=s,
                actor=principal,
                initiative_id=picked,
                draft=edited,
                expected_version=version,
                submit=bool(resubmit),
            ),
        )

    progress_form(
        initiative,
        key=f"{form_key}_progress",
        actor=principal,
        expected_version=version,
        on_saved=lambda: reset_form(form_key),
    )
    left, right = st.columns(2)
    if left.button(
        _("Confirm it is still current"), key=f"{form_key}_confirm", icon=":material/verified:"
    ):
        save_and_rerun(
            _("Thank you: confirmed as current."),
            form_key,
            lambda s: confirm_initiative(
                session=s, actor=principal, initiative_id=picked, expected_version=version
            ),
        )
    with right.popover(_("Withdraw"), icon=":material/block:"):
        reason = st.text_input(_("Why is it withdrawn?"), key=f"{form_key}_reason")
        if st.button(_("Withdraw this initiative"), key=f"{form_key}_withdraw", type="primary"):
            save_and_rerun(
                _("Withdrawn."),
                form_key,
                lambda s: withdraw_initiative(
                    session=s,
                    actor=principal,
                    initiative_id=picked,
                    expected_version=version,
                    reason=reason,
                ),
            )
