"""Staff overview: the registry and the directory at a glance, in charts."""

from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from hub import settings
from hub.auth import STAFF_ROLES, Principal, Role
from hub.db import session_scope
from hub.i18n import _, format_date, get_language
from initiatives.models import REVIEW_STATE_LABELS, STATUS_LABELS, ReviewState, Status
from initiatives.queries import (
    FormChoices,
    counts_by,
    form_choices,
    freshness_counts,
    review_queue_size,
)
from partners.accounts import count_by_role
from partners.service import count_by_type
from ui.datacache import current_version
from ui.forms import md
from ui.guards import require_role
from ui.session import get_engine

principal = require_role(*STAFF_ROLES)

st.title(_("Coordination overview"))
st.write(_("Welcome, {name}.").format(name=md(principal.display_name)))


# Shared by every staff viewer and kept per data version (ui.datacache): the figures
# aggregate every initiative, 50,000 at real size (issue 21). The actor is checked by the
# queries on a miss and left out of the key (the leading underscore).
@st.cache_data(show_spinner=False, max_entries=16)
def initiative_figures(
    url: str, version: str, language: str, _actor: Principal
) -> tuple[int, dict[str, int], dict[str, dict[str, int]], FormChoices]:
    with session_scope(get_engine()) as session:
        waiting = review_queue_size(session=session, actor=_actor)
        fresh = freshness_counts(session=session, actor=_actor)
        counts = {
            dimension: counts_by(session=session, actor=_actor, dimension=dimension)
            for dimension in ("category", "status", "review_state", "area", "target_group", "month")
        }
        return waiting, fresh, counts, form_choices(session=session, language=language)


with session_scope(get_engine()) as session:
    by_type = count_by_type(session=session)
    by_role = count_by_role(session=session)
waiting, fresh, counts, choices = initiative_figures(
    settings.database_url(), current_version(), get_language(), principal
)

columns = st.columns(4)
columns[0].metric(_("Initiatives"), sum(counts["review_state"].values()))
columns[1].metric(_("Waiting for review"), waiting)
columns[2].metric(
    _("Need attention (ended or unconfirmed)"), fresh["past_end"] + fresh["unconfirmed"]
)
columns[3].metric(_("Partner organisations"), sum(by_type.values()))


def month_counts(by_month: dict[str, int]) -> list[tuple[str, int]]:
    """{"2020-03": 4, "2020-06": 1} -> one row per month in between, zeros included."""
    first, last = (date.fromisoformat(f"{m}-01") for m in (min(by_month), max(by_month)))
    rows = []
    month = first
    while month <= last:
        label = format_date(month, format="MMM y")
        rows.append((label, by_month.get(f"{month:%Y-%m}", 0)))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return rows


def bar_chart(data: dict[str, int], labels: dict[str, str], title: str) -> alt.Chart | None:
    if not data:
        return None
    frame = pd.DataFrame([{"label": labels.get(key, key), "count": n} for key, n in data.items()])
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            x=alt.X("count:Q", title=_("Initiatives"), axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y("label:N", title=None, sort="-x"),
            tooltip=[
                alt.Tooltip("label:N", title=title),
                alt.Tooltip("count:Q", title=_("Initiatives")),
            ],
        )
        .properties(height=alt.Step(22))
    )


if not counts["review_state"]:
    st.info(_("No initiatives yet. Partners add theirs on the 'Our initiatives' page."))
else:
    districts = {code: n for code, n in counts["area"].items() if not code.isdigit()}
    charts = [
        bar_chart(counts["category"], choices.categories, _("By category")),
        bar_chart(counts["target_group"], choices.target_groups, _("By target group")),
        bar_chart(districts, choices.areas, _("By district (and national)")),
        bar_chart(counts["status"], {s.value: _(STATUS_LABELS[s]) for s in Status}, _("By status")),
        bar_chart(
            counts["review_state"],
            {r.value: _(REVIEW_STATE_LABELS[r]) for r in ReviewState},
            _("By review state"),
        ),
    ]
    left, right = st.columns(2)
    for n, chart in enumerate(c for c in charts if c is not None):
        (left if n % 2 == 0 else right).altair_chart(chart, width="stretch")
    if counts["month"]:
        # Every month from the first to the last, those without a start as 0 (bars, so
        # nothing is drawn across a gap), named in the page language by Babel.
        months = month_counts(counts["month"])
        order = [label for label, _n in months]
        frame = pd.DataFrame(months, columns=["label", "count"])
        st.altair_chart(
            alt.Chart(frame, title=_("Initiatives by planned start month"))
            .mark_bar()
            .encode(
                x=alt.X("label:N", title=None, sort=order, axis=alt.Axis(labelAngle=-45)),
                y=alt.Y(
                    "count:Q", title=_("Initiatives"), axis=alt.Axis(format="d", tickMinStep=1)
                ),
                tooltip=[
                    alt.Tooltip("label:N", title=_("Month")),
                    alt.Tooltip("count:Q", title=_("Initiatives")),
                ],
            ),
            width="stretch",
        )

st.caption(
    _("Accounts by role: ")
    + ", ".join(
        f"{name} {by_role.get(role.value, 0)}"
        for role, name in (
            (Role.ADMIN, _("administrator")),
            (Role.STAFF, _("coordination staff")),
            (Role.PARTNER, _("partner")),
        )
    )
)
