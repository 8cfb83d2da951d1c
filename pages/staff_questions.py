"""Staff: questions from the public. Triage, merge, answer for the competent authority,
publish, and re-review answers past their review date."""

import pandas as pd
import streamlit as st

from answers.models import QUESTION_STATE_LABELS, Question, QuestionState
from answers.service import (
    answer_history,
    get_question,
    mark_reviewed,
    merge_question,
    publish_question,
    published_questions,
    reject_question,
    review_days,
    review_overdue,
    save_answer,
    similar_questions,
    triage_queue,
    unpublish_question,
)
from hub.auth import STAFF_ROLES
from hub.db import session_scope
from hub.i18n import _
from ui.answers import QuestionAction, answer_fields
from ui.feeds import when
from ui.forms import md, save_and_rerun, shown_version
from ui.guards import require_role
from ui.session import get_engine

principal = require_role(*STAFF_ROLES)

PICK_KEY = "questions_pick"
MERGE_KEY = "questions_merge_into"
FORM_KEY = "questions_answer"

st.title(_("Questions from the public"))
engine = get_engine()
with session_scope(engine) as session:
    queue = triage_queue(session=session, actor=principal)
    overdue = review_overdue(session=session, actor=principal)
    published = published_questions(session=session, actor=principal)

left, middle, right = st.columns(3)
left.metric(_("Waiting for an answer"), len(queue))
middle.metric(_("Published"), len(published))
right.metric(_("Past their review date"), len(overdue))
if overdue:
    st.warning(
        _(
            "Not reviewed for {days} days: check these answers with their authority, then "
            "mark them reviewed (or correct them)."
        ).format(days=review_days()),
        icon=":material/update:",
    )


def table(questions: list[Question]) -> None:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    _("Id"): q.id,
                    _("State"): _(QUESTION_STATE_LABELS[q.state]),
                    _("Times asked"): q.ask_count,
                    _("Question"): q.public_text,
                    _("Authority"): q.authority,
                    _("Last reviewed"): when(q.reviewed_at),
                }
                for q in questions
            ]
        ),
        hide_index=True,
        width="stretch",
    )


if overdue:
    table(overdue)
choices = {q.id: q for q in [*overdue, *queue, *published] if q.id is not None}
if not choices:
    st.success(_("No questions yet."), icon=":material/task_alt:")
    st.stop()
st.subheader(_("Waiting for an answer, most asked first"))
table(queue)

picked = st.selectbox(
    _("Question to work on"),
    list(choices),
    key=PICK_KEY,
    format_func=lambda i: (
        f"{i} · {_(QUESTION_STATE_LABELS[choices[i].state])} · {choices[i].public_text[:90]}"
    ),
)
with session_scope(engine) as session:
    question = get_question(session=session, actor=principal, question_id=picked)
    similar = similar_questions(session=session, actor=principal, question_id=picked)
    history = answer_history(session=session, actor=principal, question_id=picked)
form_key = f"{FORM_KEY}_{picked}"
version = shown_version(form_key, question.version)
is_published = question.state is QuestionState.PUBLISHED

st.subheader(_("As asked"))
st.text(question.text)
st.caption(
    _("Asked {when}; asked {n} times; personal data is removed from the public wording.").format(
        when=when(question.asked_at), n=question.ask_count
    )
)


def merge_into(into_id: int) -> None:
    save_and_rerun(
        _("Merged: its askers now count for question {id}.").format(id=into_id),
        form_key,
        lambda s: merge_question(
            session=s,
            actor=principal,
            question_id=picked,
            into_id=into_id,
            expected_version=version,
        ),
    )


def act(label: str, action: QuestionAction) -> None:
    save_and_rerun(
        _("Done: {action}.").format(action=label),
        form_key,
        lambda s: action(session=s, actor=principal, question_id=picked, expected_version=version),
    )


if not is_published:
    st.subheader(_("Merge into an existing question"))
    if not similar:
        st.caption(_("No similar question found."))
    for other in similar:
        text, button = st.columns([5, 1])
        text.markdown(
            f"**{other.id}** · {_(QUESTION_STATE_LABELS[other.state])} · {md(other.public_text)}"
        )
        assert other.id is not None, "stored questions have ids"
        if button.button(_("Merge"), key=f"merge_{picked}_{other.id}"):
            merge_into(other.id)
    others = [i for i in choices if i != picked]
    into = st.selectbox(
        _("Or merge into question"), others, index=None, placeholder=_("Choose a question"),
        format_func=lambda i: f"{i} · {choices[i].public_text[:90]}", key=MERGE_KEY,
    )  # fmt: skip
    if into and st.button(_("Merge into the chosen question"), key=f"merge_pick_{picked}"):
        merge_into(into)

st.subheader(_("Answer of the competent authority"))
if question.answer_updated_at:
    st.caption(_("updated on {when}").format(when=when(question.answer_updated_at)))
with st.form(form_key):
    draft = answer_fields(question, key=form_key)
    saved = st.form_submit_button(_("Save"), type="primary")
if saved:
    message = _("Saved; the change is live.") if is_published else _("Saved.")
    save_and_rerun(
        message,
        form_key,
        lambda s: save_answer(
            session=s, actor=principal, question_id=picked, draft=draft, expected_version=version
        ),
    )

actions: dict[str, tuple[str, QuestionAction]] = (
    {"mark_reviewed": (_("Mark reviewed"), mark_reviewed),
     "unpublish_question": (_("Unpublish"), unpublish_question)} if is_published
    else {"publish_question": (_("Publish"), publish_question),
          "reject_question": (_("Reject as spam"), reject_question)}
)  # fmt: skip
for column, (name, (label, action)) in zip(st.columns(len(actions)), actions.items(), strict=True):
    if column.button(label, key=f"{form_key}_{name}"):
        act(label, action)

if history:
    with st.expander(_("Answer versions ({n})").format(n=len(history))):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        _("Version"): v.number,
                        _("Written"): when(v.written_at),
                        _("By"): v.written_by,
                        _("Authority"): v.authority,
                        _("Answer"): v.answer_text,
                    }
                    for v in history
                ]
            ),
            hide_index=True,
            width="stretch",
        )
