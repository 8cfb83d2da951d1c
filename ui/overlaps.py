"""Overlap widgets (issue 4): similar initiatives for a draft, overlapping pairs,
side-by-side comparison, the category x area coverage grid."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hub.i18n import _
from initiatives.models import InitiativeDraft
from initiatives.overlap import Coverage, OverlapPair, SimilarInitiative
from initiatives.queries import FormChoices
from ui.forms import md
from ui.initiatives import initiative_summary


def similar_initiatives(
    matches: list[SimilarInitiative], *, key: str, choices: FormChoices
) -> tuple[list[int], str]:
    """The closest existing initiatives to a draft, and why; the partner may mark some as
    related or say how theirs differs. Returns (related initiative ids, note)."""
    if not matches:
        st.success(_("No similar initiative found."), icon=":material/task_alt:")
        return [], ""
    st.warning(
        _("Similar initiatives exist. You may still submit; consider contacting them first."),
        icon=":material/content_copy:",
    )
    for match in matches:
        with st.container(border=True):
            st.markdown(f"**{md(match.title)}** · {md(match.organisation)} · {match.code}")
            when = " – ".join(str(d) for d in (match.start, match.end) if d) or "—"
            st.caption(
                " · ".join(
                    (
                        _("Where: {areas}").format(
                            areas=", ".join(choices.areas.get(a, a) for a in match.areas) or "—"
                        ),
                        _("When: {dates}").format(dates=when),
                        _("For whom: {groups}").format(
                            groups=", ".join(
                                choices.target_groups.get(g, g) for g in match.target_groups
                            )
                            or "—"
                        ),
                    )
                )
            )
            st.markdown(_("Why: {explanation}").format(explanation=md(match.explanation)))
    by_id = {m.initiative_id: m for m in matches}
    related = st.multiselect(
        _("Ours is related to (linked for the coordination office)"),
        list(by_id),
        format_func=lambda i: f"{by_id[i].code} · {by_id[i].title}",
        key=f"{key}_related",
    )
    note = st.text_area(_("How ours differs from them (optional)"), key=f"{key}_differs")
    return list(related), note


def overlap_pairs_table(pairs: list[OverlapPair], titles: dict[int, str]) -> None:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    _("Score"): round(p.score, 2),
                    _("Initiative A"): titles.get(p.initiative_a_id, str(p.initiative_a_id)),
                    _("Initiative B"): titles.get(p.initiative_b_id, str(p.initiative_b_id)),
                    _("Why"): p.explanation,
                }
                for p in pairs
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def side_by_side(first: InitiativeDraft, second: InitiativeDraft, *, choices: FormChoices) -> None:
    left, right = st.columns(2)
    with left:
        initiative_summary(first, choices=choices)
    with right:
        initiative_summary(second, choices=choices)


def coverage_grid(coverage: Coverage, *, choices: FormChoices) -> None:
    """Category x area counts: crowding and gaps at a glance."""
    frame = pd.DataFrame(
        [
            {
                _("Category"): choices.categories.get(category, category),
                **{
                    choices.areas.get(area, area): coverage.counts.get((category, area), 0)
                    for area in coverage.areas
                },
            }
            for category in coverage.categories
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")
