"""Overlap widgets (issue 4): similar initiatives for a draft, overlapping pairs,
side-by-side comparison, the category x area coverage grid."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st
from sqlmodel import Session

from hub.auth import Principal
from hub.db import session_scope
from hub.i18n import _, format_date, format_number
from initiatives.models import InitiativeDraft, ReviewState
from initiatives.overlap import (
    Coverage,
    OverlapPair,
    OwnEarlierInitiative,
    SimilarInitiative,
    decide_pair,
    note_overlap_response,
    own_earlier_initiatives,
    similar_to_draft,
    warn_threshold,
)
from initiatives.overlap_models import DECISION_LABELS, Decision
from initiatives.queries import FormChoices
from initiatives.service import create_initiative
from ui.forms import md, save_and_rerun
from ui.initiatives import check_fields, initiative_fields, initiative_summary
from ui.session import get_engine

# Session-state key suffixes of the new-initiative form (reset_form clears them):
SIMILAR = "similar"  # the initiatives shown as similar
NEAREST = "nearest"  # the nearest one when none was similar enough
OWN = "own"  # the partner's own earlier initiatives with nearly the same title
PENDING = "pending"  # a submitted draft waiting for the partner's answer
NEAREST_NOTE_KEY = "hub_nearest_note"  # shown once after the submit (outlives reset_form)


def nearest_caption(nearest: SimilarInitiative | None) -> str:
    """Why no warning: how near the nearest visible initiative came, and what differed."""
    if nearest is None:
        return _("No similar initiative found: nothing in the registry is comparable yet.")
    return _(
        "No similar initiative found. Nearest: {code} · {title}, score {score} "
        "(a warning starts at {threshold}): {explanation}."
    ).format(
        code=nearest.code,
        title=md(nearest.title),
        score=format_number(round(nearest.score, 2)),
        threshold=format_number(warn_threshold()),
        explanation=md(nearest.explanation),
    )


def similar_initiatives(
    matches: list[SimilarInitiative],
    *,
    key: str,
    choices: FormChoices,
    nearest: SimilarInitiative | None = None,
    ask: bool = True,
) -> tuple[list[int], str]:
    """The closest existing initiatives to a draft (best first), each with the engine's
    explanation; with ``ask`` the partner may mark some as related or say how theirs
    differs. With none, why not (``nearest``). Returns (related ids, note)."""
    if not matches:
        st.success(nearest_caption(nearest), icon=":material/task_alt:")
        return [], ""
    st.warning(
        _("Similar initiatives exist. You may still submit; consider contacting them first."),
        icon=":material/content_copy:",
    )
    for match in matches:
        with st.container(border=True):
            st.markdown(
                f"**{md(match.title)}** · {md(match.organisation)} · {match.code} · "
                + _("score {score}").format(score=format_number(round(match.score, 2)))
            )
            when = " – ".join(format_date(d) for d in (match.start, match.end) if d) or "—"
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
    if not ask:
        return [], ""
    by_id = {m.initiative_id: m for m in matches}
    related = st.multiselect(
        _("Ours is related to (linked for the coordination office)"),
        list(by_id),
        format_func=lambda i: f"{by_id[i].code} · {by_id[i].title}",
        key=f"{key}_related",
        placeholder=_("Choose initiatives"),
    )
    note = st.text_area(_("How ours differs from them (optional)"), key=f"{key}_differs")
    return list(related), note


def own_earlier(
    matches: list[OwnEarlierInitiative],
    *,
    key: str,
    held: bool,
    update_instead: Callable[[int], None] | None,
) -> int | None:
    """The organisation's own earlier initiatives with nearly the same title (issue 15),
    each offering to update that one instead and, once the draft is held, to submit the
    new one as a new edition of it. Returns the id chosen as the earlier edition."""
    st.warning(
        _("Your own earlier initiative: is this a renewal or an update of it?"),
        icon=":material/history:",
    )
    edition_of = None
    for match in matches:
        with st.container(border=True):
            st.markdown(f"**{md(match.title)}** · {match.code}")
            st.caption(md(match.explanation))
            left, right = st.columns(2)
            if update_instead is not None and match.state is not ReviewState.WITHDRAWN:
                left.button(
                    _("Update that one instead"),
                    key=f"{key}_own_update_{match.initiative_id}",
                    icon=":material/edit:",
                    on_click=update_instead,
                    args=(match.initiative_id,),
                )
            if held and right.button(
                _("This is a new edition: submit"),
                key=f"{key}_own_edition_{match.initiative_id}",
                help=_("Sent for review, linked to the earlier one for the coordination office."),
            ):
                edition_of = match.initiative_id
    return edition_of


def _check(
    session: Session, actor: Principal, draft: InitiativeDraft
) -> tuple[list[SimilarInitiative], list[OwnEarlierInitiative]]:
    """Both checks of a draft: the organisation's own earlier initiatives with nearly the
    same title, and the duplicate candidates (without those already listed as own)."""
    own = own_earlier_initiatives(session=session, actor=actor, draft=draft)
    shown = {o.initiative_id for o in own}
    found = similar_to_draft(session=session, actor=actor, draft=draft)
    return [f for f in found if f.initiative_id not in shown], own


def _nearest(
    session: Session, actor: Principal, draft: InitiativeDraft
) -> SimilarInitiative | None:
    found = similar_to_draft(session=session, actor=actor, draft=draft, limit=1, min_score=0)
    return found[0] if found else None


def new_initiative(
    *,
    key: str,
    actor: Principal,
    choices: FormChoices,
    update_instead: Callable[[int], None] | None = None,
) -> None:
    """The partner's new-initiative form. Submit runs the similar-initiative check first
    (issue 15): with candidates above the warn threshold, or an own earlier initiative
    with nearly the same title, the draft is held, shown with them, until the partner
    submits anyway, submits it as a new edition, links it as related or explains the
    difference (or goes to update the earlier one: ``update_instead``, a button
    callback given the id); with none it is sent, saying how near the nearest came. The
    check button gives an early look."""
    similar_key, nearest_key, pending_key, own_key = (
        f"{key}_{k}" for k in (SIMILAR, NEAREST, PENDING, OWN)
    )
    why = st.session_state.pop(NEAREST_NOTE_KEY, None)
    if why:  # after a submit that warned of nothing: how near the nearest came
        st.info(why, icon=":material/info:")
    with st.form(key):
        draft = initiative_fields(
            None, key=key, choices=choices, lead_organisation_id=actor.organisation_id
        )
        left, middle, right = st.columns(3)
        checked = left.form_submit_button(_("Check for similar initiatives"))
        as_draft = middle.form_submit_button(_("Save as draft"))
        submitted = right.form_submit_button(_("Submit for review"), type="primary")
    if checked or (submitted and check_fields(key, draft)):
        with session_scope(get_engine()) as session:
            found, own = _check(session, actor, draft)
            st.session_state[nearest_key] = None if found else _nearest(session, actor, draft)
        st.session_state[similar_key] = found
        st.session_state[own_key] = own
        if submitted and (found or own):
            st.session_state[pending_key] = draft
        else:
            st.session_state.pop(pending_key, None)

    similar: list[SimilarInitiative] | None = st.session_state.get(similar_key)
    own_matches: list[OwnEarlierInitiative] = st.session_state.get(own_key) or []
    pending: InitiativeDraft | None = st.session_state.get(pending_key)
    nearest: SimilarInitiative | None = st.session_state.get(nearest_key)
    held = pending is not None and bool(similar or own_matches)
    if held:
        st.subheader(_("Before it is sent: similar initiatives"))
        st.caption(
            _(
                "Your initiative is not sent yet. Submit it anyway, link it to the ones it "
                "is related to, or explain how it differs."
            )
            if similar
            else _(
                "Your initiative is not sent yet. Submit it as a new edition of your "
                "earlier one, update that one instead, or submit it anyway."
            )
        )
    edition_of = None
    if own_matches:
        edition_of = own_earlier(own_matches, key=key, held=held, update_instead=update_instead)
    related: list[int] = []
    differs = ""
    if similar or (similar is not None and not own_matches):
        related, differs = similar_initiatives(similar, key=key, choices=choices, nearest=nearest)
    answer = None
    if edition_of is not None:
        answer, related = "edition", [edition_of]
    if held:
        first, second, third, fourth = st.columns(4)
        if first.button(_("Submit anyway"), key=f"{key}_answer_anyway", type="primary"):
            answer = "anyway"
        if similar and second.button(_("Link as related and submit"), key=f"{key}_answer_related"):
            answer = "related"
        if similar and third.button(
            _("Explain the difference and submit"), key=f"{key}_answer_explain"
        ):
            answer = "explain"
        if fourth.button(_("Back to the form"), key=f"{key}_answer_back"):
            st.session_state.pop(pending_key, None)
            st.rerun()
        if answer == "related" and not related:
            st.error(_("Choose the initiatives yours is related to, above."))
            answer = None
        if answer == "explain" and not differs.strip():
            st.error(_("Write how yours differs from them, above."))
            answer = None

    def create(session: Session, new: InitiativeDraft, *, submit: bool) -> None:
        created = create_initiative(session=session, actor=actor, draft=new, submit=submit)
        shown = [m.initiative_id for m in own_matches]
        shown += [m.initiative_id for m in similar or []]
        if shown:
            note_overlap_response(
                session=session,
                actor=actor,
                initiative_id=created.id or 0,
                shown_ids=shown,
                related_ids=related,
                note=differs,
            )

    sent = _("Submitted. The coordination office will review it.")
    if as_draft and check_fields(key, draft):
        save_and_rerun(_("Saved."), key, lambda s: create(s, draft, submit=False))
    if submitted and not held:

        def create_and_say_why(session: Session) -> None:
            create(session, draft, submit=True)
            st.session_state[NEAREST_NOTE_KEY] = nearest_caption(nearest)

        save_and_rerun(sent, key, create_and_say_why)
    if answer is not None and pending is not None:
        waiting = pending
        save_and_rerun(sent, key, lambda s: create(s, waiting, submit=True))


def decision_box(
    key: str, *, pair: tuple[int, int], drafts: dict[int, InitiativeDraft], actor: Principal
) -> None:
    """Staff's decision on a pair (issue 15): nothing is chosen for them, and a merge
    names the record it will withdraw and asks to be confirmed before anything is
    written."""
    decision = st.radio(
        _("Decision"),
        list(Decision),
        index=None,
        format_func=lambda d: _(DECISION_LABELS[d]),
        key=f"{key}_decision",
    )
    if decision is None:
        st.caption(_("Choose a decision: nothing is recorded until you do."))
        return
    reason = st.text_area(_("Reason"), key=f"{key}_reason")
    if decision is not Decision.DUPLICATE:
        if st.button(_("Record decision"), type="primary", key=f"{key}_record"):
            save_and_rerun(
                _("Decision recorded."),
                key,
                lambda s: decide_pair(
                    session=s,
                    actor=actor,
                    initiative_a_id=pair[0],
                    initiative_b_id=pair[1],
                    decision=decision,
                    reason=reason,
                ),
            )
        return
    keep = st.radio(
        _("Keep which record?"),
        list(pair),
        index=None,
        format_func=lambda i: drafts[i].title,
        key=f"{key}_keep",
    )
    if keep is None:
        st.caption(_("Choose the record to keep; the other one is withdrawn."))
        return
    merged = drafts[pair[1] if keep == pair[0] else pair[0]]
    st.warning(
        _(
            "Merging withdraws {code} · {title}: it leaves the public site and the "
            "registry's active lists, its partner sees it as merged into {kept}, and the "
            "two records are linked. This cannot be undone here."
        ).format(code=merged.code or "—", title=md(merged.title), kept=md(drafts[keep].title)),
        icon=":material/warning:",
    )
    confirmed = st.checkbox(
        _("I have checked: withdraw {code} and keep {kept}.").format(
            code=merged.code or "—", kept=md(drafts[keep].title)
        ),
        key=f"{key}_confirm",
    )
    if st.button(
        _("Merge and withdraw {code}").format(code=merged.code or "—"),
        type="primary",
        disabled=not confirmed,
        key=f"{key}_merge",
    ):
        save_and_rerun(
            _("Merged: {code} was withdrawn.").format(code=merged.code or "—"),
            key,
            lambda s: decide_pair(
                session=s,
                actor=actor,
                initiative_a_id=pair[0],
                initiative_b_id=pair[1],
                decision=Decision.DUPLICATE,
                reason=reason,
                keep_id=keep,
            ),
        )


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
