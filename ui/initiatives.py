"""Initiative widgets: the initiative form and summary, the registry table and
filters, and the progress report."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from hub.auth import Principal
from hub.db import session_scope
from hub.i18n import _, format_date, format_number
from initiatives.exchange import draft_problems
from initiatives.models import (
    CHANNEL_LABELS,
    COST_LABELS,
    REVIEW_STATE_LABELS,
    STATUS_LABELS,
    Channel,
    Cost,
    Initiative,
    InitiativeDraft,
    InitiativeRow,
    Participant,
    ParticipantRole,
    ReviewState,
    Status,
)
from initiatives.queries import FormChoices, RegistryFilter
from initiatives.service import report_progress
from ui.forms import md, plain, save_and_rerun
from ui.session import get_engine

ERRORS = "errors"  # session-state key suffix: field -> messages of the last refused save


def field_errors(key: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = st.session_state.get(f"{key}_{ERRORS}", {})
    return errors


def check_fields(key: str, draft: InitiativeDraft) -> bool:
    """Check every field before a save: True when the draft passes. Otherwise the
    problems are remembered and the page reruns, so the form shows each beside its
    field and all of them at its top (the service checks again when it saves)."""
    with session_scope(get_engine()) as session:
        problems = draft_problems(session=session, draft=draft)
    if not problems:
        st.session_state.pop(f"{key}_{ERRORS}", None)
        return True
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.field, []).append(problem.message)
    st.session_state[f"{key}_{ERRORS}"] = errors
    st.rerun()
    return False  # not reached: st.rerun raises


def _beside(container: DeltaGenerator | None, errors: dict[str, list[str]], *fields: str) -> None:
    """The messages for ``fields`` under the widget (in ``container``, or in the form)."""
    show = st.error if container is None else container.error
    for field in fields:
        for message in errors.get(field, []):
            show(message, icon=":material/error:")


def initiative_fields(
    draft: InitiativeDraft | None,
    *,
    key: str,
    choices: FormChoices,
    lead_organisation_id: int | None,
) -> InitiativeDraft:
    """The initiative form's fields (inside an ``st.form``). ``lead_organisation_id``
    fixes the lead (partners); None lets staff choose it."""
    draft = draft or InitiativeDraft(lead_organisation_id=lead_organisation_id)
    errors = field_errors(key)
    if errors:
        st.error(
            _("Nothing was saved. Correct the fields marked below:")
            + "\n"
            + "\n".join(f"- {md(m)}" for messages in errors.values() for m in messages),
            icon=":material/error:",
        )
    organisations = list(choices.organisations)
    title = st.text_input(_("Title"), value=draft.title, max_chars=200, key=f"{key}_title")
    _beside(None, errors, "title")
    description = st.text_area(
        _("Description: what is offered, to whom, and how to get it"),
        value=draft.description,
        max_chars=5000,
        key=f"{key}_description",
    )
    _beside(None, errors, "description")
    left, right = st.columns(2)
    if lead_organisation_id is None:
        lead = left.selectbox(
            _("Lead organisation"),
            organisations,
            index=organisations.index(draft.lead_organisation_id)
            if draft.lead_organisation_id in organisations
            else None,
            format_func=choices.organisations.__getitem__,
            key=f"{key}_lead",
            placeholder=_("Choose an organisation"),
        )
    else:
        lead = lead_organisation_id
        left.text_input(
            _("Lead organisation"),
            value=choices.organisations.get(lead, ""),
            disabled=True,
            key=f"{key}_lead_shown",
        )
    categories = list(choices.categories)
    category = right.selectbox(
        _("Category"),
        categories,
        index=categories.index(draft.category) if draft.category in categories else None,
        format_func=choices.categories.__getitem__,
        key=f"{key}_category",
        placeholder=_("Choose a category"),
    )
    _beside(left, errors, "lead_organisation_id")
    _beside(right, errors, "category")
    partners = st.multiselect(
        _("Other participating organisations (implementing)"),
        [o for o in organisations if o != lead],
        default=[
            p.organisation_id
            for p in draft.participants
            if p.organisation_id in choices.organisations and p.organisation_id != lead
        ],
        format_func=choices.organisations.__getitem__,
        key=f"{key}_participants",
        placeholder=_("Choose organisations"),
    )
    _beside(None, errors, "participants")
    groups = st.multiselect(
        _("For whom (target groups)"),
        list(choices.target_groups),
        default=[g for g in draft.target_groups if g in choices.target_groups],
        format_func=choices.target_groups.__getitem__,
        key=f"{key}_groups",
        placeholder=_("Choose target groups"),
    )
    _beside(None, errors, "target_groups")
    areas = st.multiselect(
        _("Where: the whole country, districts or municipalities"),
        list(choices.areas),
        default=[a for a in draft.areas if a in choices.areas],
        format_func=choices.areas.__getitem__,
        key=f"{key}_areas",
        placeholder=_("Choose districts or municipalities"),
    )
    _beside(None, errors, "areas")
    channels = st.multiselect(
        _("How people get it (channels)"),
        list(Channel),
        default=draft.channels,
        format_func=lambda c: _(CHANNEL_LABELS[c]),
        key=f"{key}_channels",
        placeholder=_("Choose channels"),
    )
    _beside(None, errors, "channels")
    first, second, third, fourth = st.columns(4)
    planned_start = first.date_input(
        _("Planned start"),
        value=draft.planned_start,
        format="YYYY-MM-DD",
        key=f"{key}_planned_start",
    )
    planned_end = second.date_input(
        _("Planned end"), value=draft.planned_end, format="YYYY-MM-DD", key=f"{key}_planned_end"
    )
    statuses = list(Status)
    status = third.selectbox(
        _("Status"),
        statuses,
        index=statuses.index(draft.status),
        format_func=lambda s: _(STATUS_LABELS[s]),
        key=f"{key}_status",
    )
    costs = [None, *Cost]
    cost = fourth.selectbox(
        _("Cost to the user"),
        costs,
        index=costs.index(draft.cost),
        format_func=lambda c: _(COST_LABELS[c]) if c else "—",
        key=f"{key}_cost",
    )
    _beside(first, errors, "planned_start")
    _beside(second, errors, "planned_end")
    _beside(third, errors, "status")
    _beside(fourth, errors, "cost")
    first, second = st.columns(2)
    targeted = first.number_input(
        _("People targeted"),
        min_value=0,
        step=1,
        value=draft.people_targeted,
        key=f"{key}_targeted",
    )
    reached = second.number_input(
        _("People reached so far"),
        min_value=0,
        step=1,
        value=draft.people_reached,
        key=f"{key}_reached",
    )
    _beside(first, errors, "people_targeted")
    _beside(second, errors, "people_reached")
    link = st.text_input(
        _("Public link (how to get it)"),
        value=draft.link,
        placeholder="https://",
        key=f"{key}_link",
    )
    _beside(None, errors, "link")
    contact = st.text_input(
        _("Contact e-mail for the office (never shown to the public)"),
        value=draft.contact_email,
        key=f"{key}_contact",
    )
    _beside(None, errors, "contact_email")
    return InitiativeDraft(
        code=draft.code,
        title=title,
        description=description,
        lead_organisation_id=lead,
        participants=[
            Participant(organisation_id=o, role=ParticipantRole.IMPLEMENTING) for o in partners
        ],
        category=category or "",
        target_groups=groups,
        areas=areas,
        channels=channels,
        planned_start=planned_start,
        planned_end=planned_end,
        actual_start=draft.actual_start,
        actual_end=draft.actual_end,
        status=status,
        people_targeted=None if targeted is None else int(targeted),
        people_reached=None if reached is None else int(reached),
        cost=cost,
        link=link,
        contact_email=contact,
    )


def initiative_summary(draft: InitiativeDraft, *, choices: FormChoices) -> None:
    """A read-only view of an initiative's content."""
    st.markdown(f"**{md(draft.title)}**")
    if draft.description:
        plain(draft.description)
    facts = {
        _("Lead organisation"): choices.organisations.get(draft.lead_organisation_id or 0, "—"),
        _("Other participating organisations (implementing)"): ", ".join(
            choices.organisations.get(p.organisation_id, "?") for p in draft.participants
        )
        or "—",
        _("Category"): choices.categories.get(draft.category, draft.category),
        _("For whom (target groups)"): ", ".join(
            choices.target_groups.get(g, g) for g in draft.target_groups
        )
        or "—",
        _("Where: the whole country, districts or municipalities"): ", ".join(
            choices.areas.get(a, a) for a in draft.areas
        )
        or "—",
        _("How people get it (channels)"): ", ".join(_(CHANNEL_LABELS[c]) for c in draft.channels)
        or "—",
        _("Planned start"): format_date(draft.planned_start) or "—",
        _("Planned end"): format_date(draft.planned_end) or _("no end date"),
        _("Status"): _(STATUS_LABELS[draft.status]),
        _("People targeted"): draft.people_targeted if draft.people_targeted is not None else "—",
        _("People reached so far"): draft.people_reached
        if draft.people_reached is not None
        else "—",
        _("Public link (how to get it)"): draft.link or "—",
        _("Contact e-mail for the office (never shown to the public)"): draft.contact_email or "—",
    }
    st.table({_("Field"): list(facts), _("Value"): [md(str(v)) for v in facts.values()]})


def initiative_table(rows: list[InitiativeRow], *, choices: FormChoices) -> None:
    """The registry list as a table, with freshness flags people can scan."""
    frame = pd.DataFrame(
        [
            {
                _("Id"): r.code,
                _("Title"): r.title,
                _("Lead organisation"): r.organisation,
                _("Category"): choices.categories.get(r.category, r.category),
                _("Review"): _(REVIEW_STATE_LABELS[r.review_state])
                + (" · " + _("edit waiting") if r.has_pending_edit else ""),
                _("Status"): _(STATUS_LABELS[r.status]),
                _("Where"): ", ".join(choices.areas.get(a, a) for a in r.areas) or "—",
                _("Planned start"): format_date(r.planned_start) or "—",
                _("Planned end"): format_date(r.planned_end) or _("no end date"),
                _("People reached so far"): format_number(r.people_reached) or "—",
                _("Needs attention"): " ".join(
                    flag
                    for flag, on in (
                        (_("past its end date"), r.past_end),
                        (_("not confirmed recently"), r.unconfirmed),
                    )
                    if on
                ),
            }
            for r in rows
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch")


def progress_form(
    initiative: Initiative,
    *,
    key: str,
    actor: Principal,
    expected_version: int,
    on_saved: Callable[[], None],
) -> None:
    """Report progress: status, people reached, actual dates (applied at once)."""
    statuses = list(Status)
    with st.expander(_("Report progress"), icon=":material/trending_up:"), st.form(key):
        left, right = st.columns(2)
        status = left.selectbox(
            _("Status"),
            statuses,
            index=statuses.index(initiative.status),
            format_func=lambda s: _(STATUS_LABELS[s]),
            key=f"{key}_status",
        )
        reached = right.number_input(
            _("People reached so far"),
            min_value=0,
            step=1,
            value=initiative.people_reached,
            key=f"{key}_reached",
        )
        left, right = st.columns(2)
        actual_start = left.date_input(
            _("Actual start"),
            value=initiative.actual_start,
            format="YYYY-MM-DD",
            key=f"{key}_start",
        )
        actual_end = right.date_input(
            _("Actual end"), value=initiative.actual_end, format="YYYY-MM-DD", key=f"{key}_end"
        )
        submitted = st.form_submit_button(_("Save progress"), type="primary")
    if submitted:
        on_saved()
        save_and_rerun(
            _("Progress saved."),
            key,
            lambda s: report_progress(
                session=s,
                actor=actor,
                initiative_id=initiative.id or 0,
                expected_version=expected_version,
                status=status,
                people_reached=None if reached is None else int(reached),
                actual_start=actual_start,
                actual_end=actual_end,
            ),
        )


def registry_filters(*, key: str, choices: FormChoices, with_organisation: bool) -> RegistryFilter:
    """Filters, text search and sort order for a registry list."""
    text = st.text_input(_("Search title, description or organisation"), key=f"{key}_text")
    columns = st.columns(4)
    organisation_id = None
    if with_organisation:
        organisation_id = columns[0].selectbox(
            _("Organisation"),
            [None, *choices.organisations],
            key=f"{key}_org",
            format_func=lambda o: choices.organisations[o] if o else _("All"),
        )
    category = columns[1].selectbox(
        _("Category"),
        [None, *choices.categories],
        key=f"{key}_category",
        format_func=lambda c: choices.categories[c] if c else _("All"),
    )
    group = columns[2].selectbox(
        _("For whom (target groups)"),
        [None, *choices.target_groups],
        key=f"{key}_group",
        format_func=lambda g: choices.target_groups[g] if g else _("All"),
    )
    area = columns[3].selectbox(
        _("Area"),
        [None, *choices.areas],
        key=f"{key}_area",
        format_func=lambda a: choices.areas[a] if a else _("All"),
    )
    columns = st.columns(4)
    status = columns[0].selectbox(
        _("Status"),
        [None, *Status],
        key=f"{key}_status",
        format_func=lambda s: _(STATUS_LABELS[s]) if s else _("All"),
    )
    review = columns[1].selectbox(
        _("Review"),
        [None, *ReviewState],
        key=f"{key}_review",
        format_func=lambda r: _(REVIEW_STATE_LABELS[r]) if r else _("All"),
    )
    channel = columns[2].selectbox(
        _("Channel"),
        [None, *Channel],
        key=f"{key}_channel",
        format_func=lambda c: _(CHANNEL_LABELS[c]) if c else _("All"),
    )
    sort_labels = {
        "updated_at": _("Last changed"),
        "title": _("Title"),
        "planned_start": _("Planned start"),
        "planned_end": _("Planned end"),
        "people_reached": _("People reached so far"),
    }
    sort = columns[3].selectbox(
        _("Sort by"), list(sort_labels), key=f"{key}_sort", format_func=sort_labels.__getitem__
    )
    columns = st.columns(4)
    active_from = columns[0].date_input(
        _("Active on or after"), value=None, format="YYYY-MM-DD", key=f"{key}_from"
    )
    active_to = columns[1].date_input(
        _("Active on or before"), value=None, format="YYYY-MM-DD", key=f"{key}_to"
    )
    descending = columns[2].toggle(_("Newest / largest first"), value=True, key=f"{key}_desc")
    stale = columns[3].toggle(_("Only those needing attention"), key=f"{key}_stale")
    return RegistryFilter(
        organisation_id=organisation_id,
        category=category,
        target_group=group,
        area=area,
        status=status,
        review_state=review,
        channel=channel,
        active_on_or_after=active_from,
        active_on_or_before=active_to,
        text=text,
        stale_only=stale,
        sort=sort,
        descending=descending,
    )
