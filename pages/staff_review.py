"""Staff: the review queue. Approve and publish, ask for changes, or reject with a reason,
one record at a time or many at once (ui.review)."""

import pandas as pd
import streamlit as st

from hub.auth import STAFF_ROLES
from hub.db import session_scope
from hub.i18n import _, format_datetime, get_language
from initiatives.models import InitiativeDraft
from initiatives.queries import form_choices, review_queue
from initiatives.review import waiting
from initiatives.service import approve, draft_of, get_initiative, review_diff, send_back
from ui.forms import md, save_and_rerun, shown_version
from ui.guards import require_role
from ui.initiatives import initiative_summary
from ui.review import bulk_review, last_summary
from ui.session import get_engine

principal = require_role(*STAFF_ROLES)

PICK_KEY = "review_pick"
DECISION_FORM = "review_decision"

st.title(_("Review queue"))
last_summary()
engine = get_engine()
with session_scope(engine) as session:
    queue = review_queue(session=session, actor=principal)
    choices = form_choices(session=session, language=get_language())
    candidates = waiting(session=session, actor=principal)

new_count = sum(1 for item in queue if item.kind == "new")
left, right = st.columns(2)
left.metric(_("New submissions"), new_count)
right.metric(_("Edits of published initiatives"), len(queue) - new_count)
if not queue:
    st.success(_("Nothing is waiting for review."), icon=":material/task_alt:")
    st.stop()

kinds = {"new": _("new"), "edit": _("edit")}
st.dataframe(
    pd.DataFrame(
        [
            {
                _("Waiting since"): format_datetime(item.waiting_since, format="short") or "—",
                _("Kind"): kinds[item.kind],
                _("Id"): item.code,
                _("Title"): item.title,
                _("Lead organisation"): item.organisation,
            }
            for item in queue
        ]
    ),
    hide_index=True,
    width="stretch",
)

bulk_review(principal=principal, candidates=candidates, choices=choices)

st.subheader(_("One at a time"))
by_id = {item.initiative_id: item for item in queue}
picked = st.selectbox(
    _("Review"),
    list(by_id),
    key=PICK_KEY,
    format_func=lambda i: (
        f"{kinds[by_id[i].kind]} · {by_id[i].code} · {by_id[i].title} ({by_id[i].organisation})"
    ),
)
with session_scope(engine) as session:
    initiative = get_initiative(session=session, actor=principal, initiative_id=picked)
    current = draft_of(session=session, initiative=initiative)
    diff = review_diff(session=session, actor=principal, initiative_id=picked)
form_key = f"{DECISION_FORM}_{picked}"
version = shown_version(form_key, initiative.version)

if by_id[picked].kind == "edit":
    st.subheader(_("Proposed changes, field by field"))
    st.caption(_("The published version stays live until you approve."))
    st.table(
        pd.DataFrame(
            [
                {
                    _("Field"): field,
                    _("Published"): md(str(before)),
                    _("Proposed"): md(str(after)),
                }
                for field, before, after in diff
            ]
        )
    )
    with st.expander(_("Proposed version in full")):
        initiative_summary(
            InitiativeDraft.model_validate(initiative.pending_changes), choices=choices
        )
else:
    st.subheader(_("Submitted initiative"))
    initiative_summary(current, choices=choices)

with st.form(form_key):
    reason = st.text_area(
        _("Reason or requested changes (the partner sees this)"), key=f"{form_key}_reason"
    )
    approve_col, changes_col, reject_col = st.columns(3)
    approved = approve_col.form_submit_button(_("Approve and publish"), type="primary")
    changes = changes_col.form_submit_button(_("Ask for changes"))
    rejected = reject_col.form_submit_button(_("Reject"))
if approved:
    save_and_rerun(
        _("Approved and published."),
        form_key,
        lambda s: approve(
            session=s, actor=principal, initiative_id=picked, expected_version=version
        ),
    )
elif changes or rejected:
    save_and_rerun(
        _("Sent back to the partner."),
        form_key,
        lambda s: send_back(
            session=s,
            actor=principal,
            initiative_id=picked,
            expected_version=version,
            reason=reason,
            reject=bool(rejected),
        ),
    )
