"""Staff: overlapping initiatives (pairs and groups, with reasons), decisions, coverage."""

import streamlit as st

from hub import settings
from hub.auth import STAFF_ROLES, Principal
from hub.db import session_scope
from hub.i18n import _, get_language
from initiatives.overlap import (
    Coverage,
    OverlapPair,
    coverage,
    find_overlaps,
    initiative_titles,
    notes_for_pair,
    overlap_groups,
)
from initiatives.queries import form_choices
from initiatives.service import draft_of, get_initiative
from ui.datacache import current_version
from ui.forms import md
from ui.guards import require_role
from ui.overlaps import coverage_grid, decision_box, overlap_pairs_table, side_by_side
from ui.session import get_engine

principal = require_role(*STAFF_ROLES)

PICK_KEY = "overlaps_pick"
DECISION_FORM = "overlaps_decision"
SHOWN = 200


# The pairs, their titles, the groups and the coverage grid: shared by every staff viewer
# and kept per data version (ui.datacache; decisions, links and notes move it too), so a
# later visit reads nothing but the version (issue 21). A resource, handed out as is:
# read-only here. The actor is checked on a miss and left out of the key.
@st.cache_resource(show_spinner=False, max_entries=4)
def overlap_figures(
    url: str, version: str, language: str, _actor: Principal
) -> tuple[list[OverlapPair], dict[int, str], list[list[int]], Coverage]:
    with session_scope(get_engine()) as session:
        pairs = find_overlaps(session=session, actor=_actor)
        grid = coverage(session=session, actor=_actor)
        titles = initiative_titles(
            session=session, ids={i for p in pairs for i in (p.initiative_a_id, p.initiative_b_id)}
        )
    figures = (pairs, titles, overlap_groups(pairs), grid)
    return figures


st.title(_("Overlapping initiatives"))
engine = get_engine()
pairs, titles, groups, grid = overlap_figures(
    settings.database_url(), current_version(), get_language(), principal
)
with session_scope(engine) as session:
    choices = form_choices(session=session, language=get_language())

pairs_tab, groups_tab, coverage_tab = st.tabs([_("Pairs"), _("Groups"), _("Coverage")])
with pairs_tab:
    st.caption(
        _(
            "{n} possible overlaps, highest score first. Decided pairs come back only when "
            "one of the two initiatives changes."
        ).format(n=len(pairs))
    )
    if not pairs:
        st.success(_("No overlapping initiatives found."), icon=":material/task_alt:")
    else:
        overlap_pairs_table(pairs[:SHOWN], titles)
        by_key = {(p.initiative_a_id, p.initiative_b_id): p for p in pairs[:SHOWN]}
        picked = st.selectbox(
            _("Compare"),
            list(by_key),
            key=PICK_KEY,
            format_func=lambda k: f"{by_key[k].score:.2f} · {titles[k[0]]} / {titles[k[1]]}",
        )
        pair = by_key[picked]
        st.info(_("Why: {explanation}").format(explanation=md(pair.explanation)))
        with session_scope(engine) as session:
            first, second = (
                draft_of(
                    session=session,
                    initiative=get_initiative(session=session, actor=principal, initiative_id=i),
                )
                for i in (pair.initiative_a_id, pair.initiative_b_id)
            )
            notes = notes_for_pair(
                session=session, actor=principal, a=pair.initiative_a_id, b=pair.initiative_b_id
            )
        for note in notes:
            st.caption(
                _("Partner's note: {note}").format(
                    note=(_("related") if note.related else "") + " " + md(note.note)
                )
            )
        side_by_side(first, second, choices=choices)
        decision_box(
            f"{DECISION_FORM}_{picked[0]}_{picked[1]}",
            pair=picked,
            drafts={picked[0]: first, picked[1]: second},
            actor=principal,
        )

with groups_tab:
    if not groups:
        st.caption(_("No groups."))
    for number, group in enumerate(groups[:50], start=1):
        st.markdown(
            _("**Group {n}** ({count} initiatives): {titles}").format(
                n=number,
                count=len(group),
                titles="; ".join(md(titles.get(i, str(i))) for i in group),
            )
        )

with coverage_tab:
    st.caption(_("How many initiatives act per category and district (national: whole country)."))
    coverage_grid(grid, choices=choices)
