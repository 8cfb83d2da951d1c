"""Reusable form widgets. Streamlit lives here and in hub/ui.py only, never in domain
packages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from hub.auth import Principal
from hub.db import session_scope
from hub.errors import HubError
from hub.i18n import _
from hub.text import escape_markdown
from hub.ui import clear_public_caches, get_engine, save_and_rerun
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
from partners.models import (
    GOVERNMENT_LEVEL_LABELS,
    ORGANISATION_TYPE_LABELS,
    TRUST_LEVEL_LABELS,
    GovernmentLevel,
    Organisation,
    OrganisationDraft,
    OrganisationType,
    TrustLevel,
)


def organisation_fields(
    existing: Organisation | None, *, key: str, can_set_trust: bool
) -> OrganisationDraft:
    """The organisation form's fields (call inside an ``st.form``)."""
    types = list(OrganisationType)
    levels = list(GovernmentLevel)
    trusts = list(TrustLevel)
    name = st.text_input(
        _("Name"), value=existing.name if existing else "", max_chars=200, key=f"{key}_name"
    )
    acronym = st.text_input(
        _("Acronym"), value=existing.acronym if existing else "", max_chars=40, key=f"{key}_acronym"
    )
    left, right = st.columns(2)
    organisation_type = left.selectbox(
        _("Type"),
        types,
        index=types.index(existing.type) if existing else 0,
        format_func=lambda t: _(ORGANISATION_TYPE_LABELS[t]),
        key=f"{key}_type",
    )
    level = right.selectbox(
        _("Level of government"),
        levels,
        index=levels.index(existing.government_level) if existing else 0,
        format_func=lambda g: _(GOVERNMENT_LEVEL_LABELS[g]),
        key=f"{key}_level",
    )
    sector = st.text_input(
        _("Sector"), value=existing.sector if existing else "", max_chars=120, key=f"{key}_sector"
    )
    website = st.text_input(
        _("Website"),
        value=existing.website if existing else "",
        placeholder="https://",
        key=f"{key}_website",
    )
    trust = existing.trust_level if existing else TrustLevel.NEW
    if can_set_trust:
        trust = st.selectbox(
            _("Trust level"),
            trusts,
            index=trusts.index(trust),
            format_func=lambda t: _(TRUST_LEVEL_LABELS[t]),
            key=f"{key}_trust",
            help=_("How far the office relies on this partner's submissions."),
        )
    return OrganisationDraft(
        name=name,
        acronym=acronym,
        type=organisation_type,
        sector=sector,
        government_level=level,
        website=website,
        trust_level=trust,
    )


# --- feeds (issue 5) -----------------------------------------------------------------


def source_fields(existing: Any | None, *, key: str) -> Any:
    """The feed-source form's fields (call inside an ``st.form``); returns a SourceDraft."""
    from feeds.models import DEFAULT_INTERVAL_MINUTES, TRUST_TIER_LABELS, SourceDraft, TrustTier
    from feeds.topics import topic_keys, topic_label

    tiers = list(TrustTier)
    name = st.text_input(
        _("Name"), value=existing.name if existing else "", max_chars=200, key=f"{key}_name"
    )
    url = st.text_input(
        _("Feed URL"),
        value=existing.url if existing else "",
        placeholder="https://",
        key=f"{key}_url",
        help=_("The address of the RSS, Atom or JSON Feed document, not of the web page."),
    )
    left, right = st.columns(2)
    publisher = left.text_input(
        _("Publisher"), value=existing.publisher if existing else "", key=f"{key}_publisher"
    )
    language = right.text_input(
        _("Language"), value=existing.language if existing else "pt", key=f"{key}_language"
    )
    trust = left.selectbox(
        _("Trust tier"),
        tiers,
        index=tiers.index(existing.trust if existing else TrustTier.ALLOWED),
        format_func=lambda t: _(TRUST_TIER_LABELS[t]),
        key=f"{key}_trust",
    )
    interval = right.number_input(
        _("Poll every (minutes)"),
        min_value=15,
        max_value=1440,
        value=existing.interval_minutes if existing else DEFAULT_INTERVAL_MINUTES,
        key=f"{key}_interval",
    )
    keys = topic_keys()
    chosen = [t for t in (existing.topics.split(",") if existing else []) if t in keys]
    topics = st.multiselect(
        _("Topics"),
        keys,
        default=chosen,
        format_func=topic_label,
        key=f"{key}_topics",
        help=_("Used when no keyword rule matches an item."),
    )
    attribution = st.text_input(
        _("Attribution"),
        value=existing.attribution if existing else "",
        key=f"{key}_attribution",
        help=_("Credit line shown with every item, when the source requires one."),
    )
    enabled = st.checkbox(
        _("Enabled"), value=existing.enabled if existing else True, key=f"{key}_enabled"
    )
    return SourceDraft(
        name=name,
        url=url,
        publisher=publisher,
        language=language,
        topics=",".join(topics),
        trust=trust,
        interval_minutes=int(interval),
        attribution=attribution,
        enabled=enabled,
    )


# --- initiatives ------------------------------------------------------------------------


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
    organisations = list(choices.organisations)
    title = st.text_input(_("Title"), value=draft.title, max_chars=200, key=f"{key}_title")
    description = st.text_area(
        _("Description: what is offered, to whom, and how to get it"),
        value=draft.description,
        max_chars=5000,
        key=f"{key}_description",
    )
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
    )
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
    )
    groups = st.multiselect(
        _("For whom (target groups)"),
        list(choices.target_groups),
        default=[g for g in draft.target_groups if g in choices.target_groups],
        format_func=choices.target_groups.__getitem__,
        key=f"{key}_groups",
    )
    areas = st.multiselect(
        _("Where: the whole country, districts or municipalities"),
        list(choices.areas),
        default=[a for a in draft.areas if a in choices.areas],
        format_func=choices.areas.__getitem__,
        key=f"{key}_areas",
    )
    channels = st.multiselect(
        _("How people get it (channels)"),
        list(Channel),
        default=draft.channels,
        format_func=lambda c: _(CHANNEL_LABELS[c]),
        key=f"{key}_channels",
    )
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
    link = st.text_input(
        _("Public link (how to get it)"),
        value=draft.link,
        placeholder="https://",
        key=f"{key}_link",
    )
    contact = st.text_input(
        _("Contact e-mail for the office (never shown to the public)"),
        value=draft.contact_email,
        key=f"{key}_contact",
    )
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
    st.markdown(f"**{escape_markdown(draft.title)}**")
    if draft.description:
        st.write(draft.description)
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
        _("Planned start"): draft.planned_start or "—",
        _("Planned end"): draft.planned_end or "—",
        _("Status"): _(STATUS_LABELS[draft.status]),
        _("People targeted"): draft.people_targeted if draft.people_targeted is not None else "—",
        _("People reached so far"): draft.people_reached
        if draft.people_reached is not None
        else "—",
        _("Public link (how to get it)"): draft.link or "—",
        _("Contact e-mail for the office (never shown to the public)"): draft.contact_email or "—",
    }
    st.table({_("Field"): list(facts), _("Value"): [str(v) for v in facts.values()]})


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
                _("Where"): ", ".join(r.areas),
                _("Planned start"): r.planned_start,
                _("Planned end"): r.planned_end,
                _("People reached so far"): r.people_reached,
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


# --- overlap detection (issue 4) ---------------------------------------------------------


def similar_initiatives(
    matches: list[Any], *, key: str, choices: FormChoices
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
            st.markdown(
                f"**{escape_markdown(match.title)}** · {escape_markdown(match.organisation)} "
                f"· {match.code}"
            )
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
            st.markdown(_("Why: {explanation}").format(explanation=match.explanation))
    by_id = {m.initiative_id: m for m in matches}
    related = st.multiselect(
        _("Ours is related to (linked for the coordination office)"),
        list(by_id),
        format_func=lambda i: f"{by_id[i].code} · {by_id[i].title}",
        key=f"{key}_related",
    )
    note = st.text_area(_("How ours differs from them (optional)"), key=f"{key}_differs")
    return list(related), note


def overlap_pairs_table(pairs: list[Any], titles: dict[int, str]) -> None:
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


def coverage_grid(coverage: Any, *, choices: FormChoices) -> None:
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


# --- official answers, measures in force, contacts (issue 8) ----------------------------

QUESTION_TEXT_KEY = "public_question_text"
QUESTION_EMAIL_KEY = "public_question_email"
QUESTION_RESULT_KEY = "public_question_result"


def contacts_directory(contacts: list[Any]) -> None:
    """Emergency lines as large figures, then every contact in a table (plain cells: no
    Markdown from the data), websites as links (scheme-checked by the service)."""
    emergency = [c for c in contacts if c.emergency]
    if emergency:
        columns = st.columns(min(len(emergency), 4))
        for n, line in enumerate(emergency):
            columns[n % len(columns)].metric(line.name, line.phone)
    if not contacts:
        return
    frame = pd.DataFrame(
        [
            {
                _("Service"): c.name,
                _("Phone"): c.phone,
                _("E-mail"): c.email,
                _("Website"): c.web or None,
                _("Opening hours"): c.opening_hours,
                _("For whom"): c.audience,
                _("Languages"): c.languages,
                _("Responsible organisation"): c.organisation,
                _("Last verified"): c.last_verified,
                _("Note"): c.note,
            }
            for c in contacts
        ]
    )
    with st.expander(_("Every emergency and support contact"), expanded=not emergency):
        st.dataframe(
            frame,
            hide_index=True,
            width="stretch",
            column_config={_("Website"): st.column_config.LinkColumn()},
        )
        st.caption(_("Open data: [CSV](/public/contacts.csv) · [JSON](/public/contacts.json)"))


def answers_section(content: Any, *, on_useful: Callable[[int], None]) -> None:
    """Questions answered by the competent authority, by topic, most asked first."""
    from hub.text import escape_markdown as md
    from portal.render import when

    if not content.answers_by_topic:
        st.info(_("No answer matches yet. Ask your question below, or call the lines above."))
    for topic, answers in content.answers_by_topic:
        st.subheader(md(topic))
        for answer in answers:
            with st.expander(md(answer.question)):
                st.markdown(md(answer.answer).replace("\n", "  \n"))
                facts = [
                    _("Answered by {authority}").format(authority=md(answer.authority))
                    + (f" ({md(answer.answered_by)})" if answer.answered_by else ""),
                    when(answer.published_at),
                ]
                if answer.updated_at:
                    facts.append(
                        "**" + _("updated on {when}").format(when=when(answer.updated_at)) + "**"
                    )
                if answer.source_url:
                    facts.append(f"[{_('Source document')}]({answer.source_url})")
                facts.append(_("asked {n} times").format(n=answer.ask_count))
                st.caption(" · ".join(facts))
                if st.button(
                    _("Was this useful? Yes ({n})").format(n=answer.useful_count),
                    key=f"useful_{answer.id}",
                    icon=":material/thumb_up:",
                ):
                    on_useful(answer.id)


def measures_section(content: Any) -> None:
    from hub.text import escape_markdown as md

    if not content.measures_by_area:
        st.info(_("No measures published yet."))
    for area, measures in content.measures_by_area:
        st.subheader(md(area))
        for measure in measures:
            with st.container(border=True):
                st.markdown(f"**{md(measure.title)}**")
                st.markdown(md(measure.summary))
                facts = []
                if measure.audience:
                    facts.append(_("For whom") + ": " + md(measure.audience))
                until = measure.in_force_to or _("until further notice")
                facts.append(_("In force") + f": {measure.in_force_from or '—'} – {until}")
                if measure.legal_reference:
                    reference = md(measure.legal_reference)
                    link = measure.legal_link
                    facts.append(f"[{reference}]({link})" if link else reference)
                st.caption(" · ".join(facts))
                if measure.documents:
                    st.markdown(
                        _("Forms and documents")
                        + ":\n"
                        + "\n".join(f"- {md(d)}" for d in measure.documents)
                    )
                if measure.initiatives:
                    st.caption(
                        _("Carried out by")
                        + ": "
                        + "; ".join(f"{md(i.title)} ({md(i.code)})" for i in measure.initiatives)
                    )


def question_form(submit: Callable[[str, str], str | None]) -> None:
    """The public question form. ``submit(text, email)`` returns an error message or
    None; on success the fields are emptied (in the callback, before the rerun)."""

    def on_submit() -> None:
        from hub.ui import apply_language

        apply_language()  # callbacks run before the page's guard has set the language
        error = submit(
            st.session_state.get(QUESTION_TEXT_KEY, ""),
            st.session_state.get(QUESTION_EMAIL_KEY, ""),
        )
        st.session_state[QUESTION_RESULT_KEY] = error or ""
        if error is None:
            st.session_state[QUESTION_TEXT_KEY] = ""
            st.session_state[QUESTION_EMAIL_KEY] = ""

    with st.form("public_question"):
        st.text_area(
            _("Your question"),
            key=QUESTION_TEXT_KEY,
            max_chars=1000,
            help=_("Plain text. Do not write your name, phone or other personal data."),
        )
        st.text_input(
            _("Your e-mail, to be told when it is answered (optional, never published)"),
            key=QUESTION_EMAIL_KEY,
            max_chars=254,
        )
        st.form_submit_button(_("Send the question"), on_click=on_submit)
    result = st.session_state.pop(QUESTION_RESULT_KEY, None)
    if result == "":
        st.success(
            _(
                "Thank you. The coordination office will ask the competent authority; "
                "the answer will appear on this page once reviewed."
            )
        )
    elif result:
        st.error(result)


def answer_fields(question: Any, *, key: str) -> Any:
    """Staff: triage and answer one question (inside an ``st.form``); an AnswerDraft."""
    from answers.models import KNOWN_AUTHORITIES, TOPIC_LABELS, AnswerDraft, Topic

    topics = [None, *Topic]
    public_text = st.text_area(
        _("Public wording (personal data removed)"),
        value=question.public_text,
        max_chars=1000,
        key=f"{key}_public_text",
    )
    left, right = st.columns(2)
    topic = left.selectbox(
        _("Topic"),
        topics,
        index=topics.index(question.topic),
        format_func=lambda t: _(TOPIC_LABELS[t]) if t else "—",
        key=f"{key}_topic",
    )
    authority = right.text_input(
        _("Competent authority"),
        value=question.authority,
        max_chars=120,
        placeholder=", ".join(KNOWN_AUTHORITIES),
        key=f"{key}_authority",
    )
    answer_text = st.text_area(
        _("The authority's answer"),
        value=question.answer_text,
        height=200,
        key=f"{key}_answer",
    )
    left, right = st.columns(2)
    answered_by = left.text_input(
        _("Answered by (person or unit at the authority)"),
        value=question.answered_by,
        max_chars=200,
        key=f"{key}_answered_by",
    )
    source_url = right.text_input(
        _("Source document"),
        value=question.source_url,
        placeholder="https://",
        key=f"{key}_source",
    )
    return AnswerDraft(
        public_text=public_text,
        topic=topic,
        authority=authority,
        answer_text=answer_text,
        answered_by=answered_by,
        source_url=source_url,
    )


def measure_fields(draft: Any, *, key: str) -> Any:
    """Staff: one measure's fields (inside an ``st.form``); a MeasureDraft."""
    from answers.models import TOPIC_LABELS, MeasureDraft, Topic

    areas = list(Topic)
    left, right = st.columns([1, 2])
    area = left.selectbox(
        _("Government area"),
        areas,
        index=areas.index(draft.area),
        format_func=lambda t: _(TOPIC_LABELS[t]),
        key=f"{key}_area",
    )
    title = right.text_input(_("Title"), value=draft.title, max_chars=200, key=f"{key}_title")
    summary = st.text_area(
        _("Plain-language summary"), value=draft.summary, max_chars=4000, key=f"{key}_summary"
    )
    audience = st.text_input(
        _("For whom"), value=draft.audience, max_chars=300, key=f"{key}_audience"
    )
    left, right = st.columns(2)
    in_force_from = left.date_input(
        _("In force from"), value=draft.in_force_from, format="YYYY-MM-DD", key=f"{key}_from"
    )
    in_force_to = right.date_input(
        _("In force until"), value=draft.in_force_to, format="YYYY-MM-DD", key=f"{key}_to"
    )
    left, right = st.columns(2)
    legal_reference = left.text_input(
        _("Legal reference"), value=draft.legal_reference, max_chars=300, key=f"{key}_legal"
    )
    legal_link = right.text_input(
        _("Legal text link"), value=draft.legal_link, placeholder="https://", key=f"{key}_link"
    )
    documents = st.text_area(
        _("Forms and documents (one per line)"),
        value="\n".join(draft.documents),
        key=f"{key}_documents",
    )
    codes = st.text_input(
        _("Initiatives that carry it out (identifiers, comma-separated)"),
        value=", ".join(draft.initiative_codes),
        key=f"{key}_codes",
    )
    published = st.checkbox(_("Published"), value=draft.published, key=f"{key}_published")
    return MeasureDraft(
        area=area,
        title=title,
        summary=summary,
        audience=audience,
        in_force_from=in_force_from,
        in_force_to=in_force_to,
        legal_reference=legal_reference,
        legal_link=legal_link,
        documents=[line for line in documents.splitlines() if line.strip()],
        initiative_codes=[c for c in codes.replace(";", ",").split(",") if c.strip()],
        published=published,
    )


def contact_fields(draft: Any, *, key: str) -> Any:
    """Staff: one contact's fields (inside an ``st.form``); a ContactDraft."""
    from answers.models import ContactDraft

    left, right = st.columns(2)
    name = left.text_input(_("Name"), value=draft.name, max_chars=200, key=f"{key}_name")
    organisation = right.text_input(
        _("Responsible organisation"), value=draft.organisation, max_chars=200, key=f"{key}_org"
    )
    left, middle, right = st.columns(3)
    phone = left.text_input(
        _("Phone"), value=draft.phone, max_chars=40, placeholder="808 24 24 24", key=f"{key}_phone"
    )
    email = middle.text_input(_("E-mail"), value=draft.email, max_chars=254, key=f"{key}_email")
    web = right.text_input(_("Website"), value=draft.web, placeholder="https://", key=f"{key}_web")
    left, middle, right = st.columns(3)
    hours = left.text_input(
        _("Opening hours"), value=draft.opening_hours, max_chars=200, key=f"{key}_hours"
    )
    languages = middle.text_input(
        _("Languages"), value=draft.languages, max_chars=200, key=f"{key}_languages"
    )
    area_code = right.text_input(
        _("Area code"), value=draft.area_code, max_chars=12, key=f"{key}_area"
    )
    audience = st.text_input(
        _("For whom"), value=draft.audience, max_chars=300, key=f"{key}_audience"
    )
    note = st.text_input(_("Note"), value=draft.note, max_chars=300, key=f"{key}_note")
    left, middle, right, last = st.columns(4)
    verified = left.date_input(
        _("Last verified"), value=draft.last_verified, format="YYYY-MM-DD", key=f"{key}_verified"
    )
    position = middle.number_input(
        _("Position"), min_value=0, value=draft.position, step=1, key=f"{key}_position"
    )
    emergency = right.checkbox(_("Emergency line"), value=draft.emergency, key=f"{key}_emergency")
    published = last.checkbox(_("Published"), value=draft.published, key=f"{key}_published")
    return ContactDraft(
        name=name,
        phone=phone,
        email=email,
        web=web,
        opening_hours=hours,
        languages=languages,
        audience=audience,
        area_code=area_code,
        organisation=organisation,
        last_verified=verified,
        emergency=emergency,
        note=note,
        published=published,
        position=int(position or 0),
    )


ANSWERS_SEARCH_KEY = "public_answers_search"


def public_answers(content: Any) -> None:
    """The public page's official answers (with search and the question form) and the
    measures in force. ``content`` was gathered with the answers search text."""
    st.header(_("Questions answered by the authorities"), divider="gray")
    st.text_input(_("Search the answers"), key=ANSWERS_SEARCH_KEY, max_chars=200)
    answers_section(content, on_useful=_mark_useful)
    st.subheader(_("Ask a question"))
    st.caption(
        _(
            "The coordination office passes questions to the competent authority and "
            "publishes the answers here. Your question is reviewed before anything appears."
        )
    )
    question_form(_ask_question)
    st.header(_("Measures in force"), divider="gray")
    measures_section(content)


def _ask_question(text: str, email: str) -> str | None:
    from answers.models import QuestionDraft
    from answers.service import ask_question
    from hub.db import session_scope
    from hub.errors import HubError
    from hub.ui import client_identifier, get_engine

    try:
        with session_scope(get_engine()) as session:
            ask_question(
                session=session,
                actor=None,
                draft=QuestionDraft(text=text, email=email),
                client=client_identifier(),
            )
    except HubError as err:
        return str(err)
    return None


def _mark_useful(question_id: int) -> None:
    from answers.service import mark_useful
    from hub.db import session_scope
    from hub.errors import HubError
    from hub.ui import clear_public_caches, client_identifier, flash, get_engine

    try:
        with session_scope(get_engine()) as session:
            mark_useful(session=session, question_id=question_id, client=client_identifier())
    except HubError as err:
        st.info(str(err))
        return
    clear_public_caches()
    flash(_("Thank you for telling us."))
    st.rerun()


# --- registry exchange: import with a report, export downloads ------------------------


def initiative_import(*, key: str, actor: Principal, organisation_id: int | None) -> None:
    """Upload CSV/XLSX in the exchange format; a report lists every bad row and field.
    All or nothing unless the user asks for the valid rows only."""
    from initiatives.exchange import import_initiatives, import_template

    with st.expander(_("Import from a spreadsheet (CSV or XLSX)"), icon=":material/upload:"):
        st.caption(
            _(
                "One row per initiative, in the exchange format. Only id and title are "
                "required. Download a template to start from."
            )
        )
        left, right = st.columns(2)
        for column, fmt in ((left, "csv"), (right, "xlsx")):
            template = import_template(fmt)
            column.download_button(
                _("Template ({format})").format(format=fmt.upper()),
                template.data,
                file_name=template.filename,
                mime=template.media_type,
                key=f"{key}_tpl_{fmt}",
            )
        upload = st.file_uploader(_("File"), type=["csv", "xlsx"], key=f"{key}_file")
        valid_only = st.checkbox(
            _("Import the valid rows only (skip rows with problems)"), key=f"{key}_valid_only"
        )
        submit = st.checkbox(_("Submit the imported initiatives for review"), key=f"{key}_submit")
        if upload is not None and st.button(_("Import"), type="primary", key=f"{key}_go"):
            try:
                with session_scope(get_engine()) as session, st.spinner(_("Checking every row…")):
                    report = import_initiatives(
                        session=session,
                        actor=actor,
                        data=upload.getvalue(),
                        filename=upload.name,
                        organisation_id=organisation_id,
                        valid_only=valid_only,
                        submit=submit,
                    )
            except HubError as err:
                st.error(str(err))
                return
            (st.success if report.written else st.error)(report.summary())
            for warning in report.warnings:
                st.warning(warning)
            if report.problems:
                st.dataframe(
                    pd.DataFrame(
                        [
                            {_("Row"): p.row, _("Column"): p.column, _("Problem"): p.message}
                            for p in report.problems
                        ]
                    ),
                    hide_index=True,
                    width="stretch",
                )
            if report.written:
                clear_public_caches()


def initiative_exports(*, key: str, actor: Principal, include_all: bool) -> None:
    """Download buttons for every exchange format (built when asked, not on every run)."""
    from initiatives.exchange import ExportFormat, export_initiatives

    labels = {
        ExportFormat.CSV: "CSV",
        ExportFormat.XLSX: "XLSX",
        ExportFormat.HXL: "HXL CSV",
        ExportFormat.IATI: "IATI XML",
    }
    columns = st.columns(len(labels) + 1)
    chosen = columns[0].selectbox(
        _("Export as"),
        list(labels),
        format_func=labels.__getitem__,
        key=f"{key}_format",
        label_visibility="collapsed",
    )
    if columns[1].button(_("Prepare export"), key=f"{key}_prepare", icon=":material/download:"):
        try:
            with session_scope(get_engine()) as session:
                st.session_state[f"{key}_file"] = export_initiatives(
                    session=session, actor=actor, format=chosen, include_all=include_all
                )
        except HubError as err:
            st.error(str(err))
    prepared = st.session_state.get(f"{key}_file")
    if prepared is not None:
        columns[2].download_button(
            _("Download {name} ({n} initiatives)").format(name=prepared.filename, n=prepared.count),
            prepared.data,
            file_name=prepared.filename,
            mime=prepared.media_type,
            key=f"{key}_download",
        )
