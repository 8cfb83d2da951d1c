"""Review widgets: many submissions decided in one action (issue 21).

Staff narrow the queue by organisation, import and category (or take all shown), pick
approve, send back or reject, and watch a progress bar while ``initiatives.review``
decides each record as one; the summary (done, refused with the reason per record, a
CSV of the refusals) survives the rerun that refreshes the queue.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hub.auth import Principal
from hub.db import session_scope
from hub.errors import HubError
from hub.i18n import _
from initiatives.queries import FormChoices
from initiatives.review import Candidate, Decision, review_many
from ui.forms import clear_data_caches
from ui.session import get_engine

KEY = "bulk_review"
RESULT_KEY = f"{KEY}_result"
# The records (id -> version) the previous run showed: a click decides those, as the
# reviewer saw them, so one changed or decided meanwhile is refused, not taken as it is now.
SEEN_KEY = f"{KEY}_seen"
ALL = ""


def _labels() -> dict[Decision, str]:
    return {
        Decision.APPROVE: _("Approve and publish"),
        Decision.SEND_BACK: _("Ask for changes"),
        Decision.REJECT: _("Reject"),
    }


def bulk_review(*, principal: Principal, candidates: list[Candidate], choices: FormChoices) -> None:
    """The bulk review section: filters, the decision, the progress and the summary."""
    st.subheader(_("Review many at once"))
    organisations = dict(sorted({(c.organisation_id, c.organisation) for c in candidates}))
    left, middle, right = st.columns(3)
    organisation = left.selectbox(
        _("Lead organisation"),
        [0, *sorted(organisations, key=organisations.__getitem__)],
        key=f"{KEY}_organisation",
        format_func=lambda i: organisations.get(i, _("All")),
    )
    shown = [c for c in candidates if not organisation or c.organisation_id == organisation]
    imports: dict[str, int] = {}
    for candidate in shown:
        imports[candidate.import_id] = imports.get(candidate.import_id, 0) + 1
    batch = middle.selectbox(
        _("Import"),
        [ALL, *sorted((i for i, n in imports.items() if n > 1), reverse=True)],
        key=f"{KEY}_import",
        format_func=lambda i: _("{id} ({n} records)").format(id=i, n=imports[i]) if i else _("All"),
    )
    shown = [c for c in shown if not batch or c.import_id == batch]
    categories = sorted({c.category for c in shown})
    category = right.selectbox(
        _("Category"),
        [ALL, *categories],
        key=f"{KEY}_category",
        format_func=lambda c: choices.categories.get(c, c) if c else _("All"),
    )
    shown = [c for c in shown if not category or c.category == category]
    st.caption(_("{n} records selected.").format(n=len(shown)))
    seen: dict[int, int] = st.session_state.get(SEEN_KEY) or {
        c.initiative_id: c.version for c in shown
    }
    st.session_state[SEEN_KEY] = {c.initiative_id: c.version for c in shown}
    labels = _labels()
    decision = st.radio(
        _("Decision"),
        list(Decision),
        key=f"{KEY}_decision",
        format_func=labels.__getitem__,
        horizontal=True,
    )
    message = st.text_area(
        _("Reason or requested changes (the partner sees this)"), key=f"{KEY}_message"
    )
    if not st.button(
        _("Apply to the {n} selected").format(n=len(shown)),
        key=f"{KEY}_apply",
        disabled=not shown,
        type="primary",
    ):
        return
    bar = st.progress(0.0, text=_("Reviewing…"))

    def tick(done: int, total: int) -> None:
        if done == total or done % 20 == 0:  # a redraw per record would cost more than it
            bar.progress(done / total, text=_("{done} of {total}").format(done=done, total=total))

    try:
        with session_scope(get_engine()) as session:
            result = review_many(
                session=session,
                actor=principal,
                ids=list(seen),
                versions=seen,
                decision=decision or Decision.APPROVE,
                message=message,
                progress=tick,
            )
    except HubError as err:
        st.error(str(err))
        return
    clear_data_caches()
    st.session_state.pop(SEEN_KEY, None)
    st.session_state[RESULT_KEY] = result
    st.rerun()


def last_summary() -> None:
    """The outcome of the last bulk action, once (shown even when the queue is empty now)."""
    result = st.session_state.pop(RESULT_KEY, None)
    if result is None:
        return
    label = _labels()[result.decision]
    st.success(
        _("{decision}: {done} done, {refused} refused.").format(
            decision=label, done=len(result.done), refused=len(result.refused)
        )
    )
    if not result.refused:
        return
    st.warning(_("These records were not changed; the reason is given for each."))
    st.dataframe(
        pd.DataFrame([{_("Id"): r.code, _("Reason"): r.reason} for r in result.refused]),
        hide_index=True,
        width="stretch",
    )
    st.download_button(
        _("Download the refusals as CSV"),
        result.refusals_csv(),
        file_name="review-refusals.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"{KEY}_refusals",
    )
