"""Official answers, measures in force and contacts (issue 8): the public sections and
question form, and the staff forms for answers, measures and contacts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import pandas as pd
import streamlit as st
from sqlmodel import Session

from answers.models import (
    KNOWN_AUTHORITIES,
    TOPIC_LABELS,
    AnswerDraft,
    ContactDraft,
    ContactPublic,
    MeasureDraft,
    Question,
    QuestionDraft,
    Topic,
)
from answers.service import ask_question, mark_useful
from hub.auth import Principal
from hub.db import session_scope
from hub.errors import HubError
from hub.i18n import _, get_language, ngettext
from portal.content import PortalContent
from portal.render import item_href, when
from ui.forms import md
from ui.session import apply_language, clear_public_caches, client_identifier, flash, get_engine


class QuestionAction(Protocol):
    """A staff step on one question (publish, reject, mark reviewed, unpublish)."""

    def __call__(
        self, *, session: Session, actor: Principal | None, question_id: int, expected_version: int
    ) -> Question: ...


QUESTION_TEXT_KEY = "public_question_text"
QUESTION_EMAIL_KEY = "public_question_email"
QUESTION_RESULT_KEY = "public_question_result"


def contacts_directory(contacts: list[ContactPublic]) -> None:
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
        st.caption(_("Open data: [CSV](/contacts.csv) · [JSON](/contacts.json)"))


def answers_section(content: PortalContent, *, on_useful: Callable[[int], None]) -> None:
    """Questions answered by the competent authority, by topic, most asked first."""

    if not content.answers_by_topic and content.answers_exist:
        st.info(_("No answer matches your search. Try other words, or call the lines above."))
    elif not content.answers_by_topic:
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
                facts.append(
                    ngettext("asked {n} time", "asked {n} times", answer.ask_count).format(
                        n=answer.ask_count
                    )
                )
                facts.append(f"[{_('Its own page')}]({page_of('answers', answer.id)})")
                st.caption(" · ".join(facts))
                if st.button(
                    _("Was this useful? Yes ({n})").format(n=answer.useful_count),
                    key=f"useful_{answer.id}",
                    icon=":material/thumb_up:",
                ):
                    on_useful(answer.id)


def page_of(kind: str, key: object) -> str:
    """The address of an item's page on the public site (at the root, issue 14), in the
    page's language."""
    return item_href(kind, key, root="/", static=False, language=get_language())


def measures_section(content: PortalContent) -> None:

    if not content.measures_by_area:
        st.info(_("No measures published yet."))
    for area, measures in content.measures_by_area:
        st.subheader(md(area))
        for measure in measures:
            with st.container(border=True):
                st.markdown(f"**[{md(measure.title)}]({page_of('measures', measure.id)})**")
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
                        + "; ".join(
                            f"[{md(i.title)}]({page_of('initiatives', i.code)})"
                            for i in measure.initiatives
                        )
                    )


def question_form(submit: Callable[[str, str], str | None]) -> None:
    """The public question form. ``submit(text, email)`` returns an error message or
    None; on success the fields are emptied (in the callback, before the rerun)."""

    def on_submit() -> None:

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


def answer_fields(question: Question, *, key: str) -> AnswerDraft:
    """Staff: triage and answer one question (inside an ``st.form``)."""

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


def measure_fields(draft: MeasureDraft, *, key: str) -> MeasureDraft:
    """Staff: one measure's fields (inside an ``st.form``)."""

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


def contact_fields(draft: ContactDraft, *, key: str) -> ContactDraft:
    """Staff: one contact's fields (inside an ``st.form``)."""

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


def public_answers(content: PortalContent) -> None:
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

    try:
        with session_scope(get_engine()) as session:
            mark_useful(session=session, question_id=question_id, client=client_identifier())
    except HubError as err:
        st.info(str(err))
        return
    clear_public_caches()
    flash(_("Thank you for telling us."))
    st.rerun()
