"""Questions from the public and the competent authority's answers.

Flow: anyone asks (rate-limited, plain text, personal data redacted from the public
wording) -> staff triage (merge into an existing question, set topic and authority,
edit the public wording) -> staff enter the authority's answer (every version kept)
-> publish. Published answers past their review date are flagged to staff.

Nothing reaches the public without a staff member publishing it; the public shape
(``AnswerPublic``) never carries the asker's e-mail or the question as typed.
"""

from __future__ import annotations

import logging
import re
import smtplib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from answers.checks import clean_email, clean_question_text, has_markup, redact
from answers.models import (
    TOPIC_LABELS,
    AnswerDraft,
    AnswerPublic,
    AnswerVersion,
    Question,
    QuestionContact,
    QuestionDraft,
    QuestionState,
    Topic,
)
from answers.ratelimit import (
    GLOBAL,
    USEFUL_PER_CLIENT,
    USEFUL_PER_QUESTION,
    Limit,
    client_key,
    forget_old_buckets,
    question_limits,
    take_all,
)
from answers.search import fold, search_ids
from hub import settings
from hub.audit import record_change, snapshot
from hub.auth import Principal, require_staff
from hub.clean import cleaned
from hub.errors import HubError, InvalidInput, NotFound
from hub.i18n import _
from hub.mail import mail_enabled, send_mail
from hub.records import check_version, save_record, stale_guard, utcnow
from hub.urls import safe_http_url
from partners import webhooks

log = logging.getLogger("hub.answers")

ANSWER_MAX = 10_000
# Words of four letters or more that say nothing about a question's subject (folded).
# fmt: off
FUNCTION_WORDS = frozenset(
    {
        "para", "como", "quando", "porque", "sobre", "posso", "pode", "podem", "onde", "qual",
        "quais", "esta", "este", "estou", "isso", "mais", "muito", "entre", "depois", "antes",
        "ainda", "tenho", "temos", "fazer", "devo", "with", "what", "when", "where", "which",
        "there", "their", "about", "have", "from", "that", "this", "will", "should", "could",
        "would", "does",
    }
)
# fmt: on
OPEN_STATES = (QuestionState.RECEIVED, QuestionState.TRIAGED)
USEFUL_OVERALL = Limit(capacity=200, per_hour=3000)


class RateLimited(HubError):
    """Too many attempts from one client (or from everyone at once); try again later."""


def review_days() -> int:
    return int(settings.get("HUB_ANSWER_REVIEW_DAYS"))


# --- the public ----------------------------------------------------------------------------


def ask_question(
    *,
    session: Session,
    actor: Principal | None,
    draft: QuestionDraft,
    client: str,
    now: float | None = None,
) -> int:
    """Receive a question from the public; returns its id (nothing is published).

    ``client`` identifies the asker's connection (address or session id); only its hash
    is stored. The rate limit is spent and committed before the content is checked, so
    a flood of refused questions is limited too.
    """
    per_client, overall = question_limits()
    key = client_key(client)
    allowed = take_all(
        session=session, buckets=[(f"ask:{key}", per_client), (f"ask:{GLOBAL}", overall)], now=now
    )
    forget_old_buckets(session=session, now=now)
    session.commit()
    if not allowed:
        raise RateLimited(
            _(
                "Many questions have arrived from here or from everyone in a short time. "
                "Please try again in an hour; for urgent help call the lines above."
            )
        )
    draft = cleaned(draft)
    text = clean_question_text(draft.text)
    email = clean_email(draft.email)
    question = Question(text=text, public_text=redact(text), updated_by="public")
    question.search_text = _search_text(question)
    session.add(question)
    session.flush()
    if email:
        session.add(QuestionContact(question_id=question.id or 0, email=email))
    record_change(
        session=session,
        actor=actor,
        action="ask",
        entity_type="question",
        entity_id=question.id,
        after=snapshot(question),
        summary="question from the public" + (" (with e-mail)" if email else ""),
    )
    session.commit()
    return question.id or 0


def mark_useful(
    *, session: Session, question_id: int, client: str, now: float | None = None
) -> None:
    """Count one "this was useful"; once a day per client and answer, 30 an hour."""
    state = session.exec(select(Question.state).where(Question.id == question_id)).first()
    if state is not QuestionState.PUBLISHED:
        raise NotFound(_("That answer is not published."))
    key = client_key(client)
    allowed = take_all(
        session=session,
        buckets=[
            (f"useful:{key}:{question_id}", USEFUL_PER_QUESTION),
            (f"useful:{key}", USEFUL_PER_CLIENT),
            (f"useful:{GLOBAL}", USEFUL_OVERALL),
        ],
        now=now,
    )
    session.commit()
    if not allowed:
        raise RateLimited(_("Thank you: your answer was already counted."))
    result = session.execute(
        update(Question)
        .where(col(Question.id) == question_id, col(Question.state) == QuestionState.PUBLISHED)
        .values(useful_count=col(Question.useful_count) + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        session.rollback()
        raise NotFound(_("That answer is not published."))
    record_change(
        session=session,
        actor=None,
        action="useful",
        entity_type="question",
        entity_id=question_id,
        summary="marked useful by the public",
    )
    session.commit()


def list_public_answers(
    *, session: Session, text: str = "", topic: Topic | None = None, limit: int = 200
) -> list[AnswerPublic]:
    """Published answers, most asked first; ``text`` searches them (full-text)."""
    query = select(Question).where(col(Question.state) == QuestionState.PUBLISHED)
    if text.strip():
        ids = search_ids(
            session=session,
            table="question",
            query=text,
            where="t.state = 'published'",
            limit=limit,
            order="t.ask_count DESC, t.id DESC",
            stemmed=True,
        )
        if not ids:
            return []
        query = query.where(col(Question.id).in_(ids))
    if topic is not None:
        query = query.where(col(Question.topic) == topic)
    rows = session.exec(
        query.order_by(col(Question.ask_count).desc(), col(Question.id).desc()).limit(limit)
    ).all()
    return [public_answer(q) for q in rows]


def public_answer(question: Question) -> AnswerPublic:
    return AnswerPublic(
        id=question.id or 0,
        question=redact(question.public_text),
        answer=question.answer_text,
        topic=question.topic or Topic.OTHER,
        authority=question.authority,
        answered_by=question.answered_by,
        source_url=safe_http_url(question.source_url, assume_https=False) or "",
        published_at=question.published_at or question.created_at,
        updated_at=question.answer_updated_at,
        reviewed_at=question.reviewed_at,
        ask_count=question.ask_count,
        useful_count=question.useful_count,
        version=question.answer_version,
    )


# --- staff -------------------------------------------------------------------------------


def get_question(*, session: Session, actor: Principal | None, question_id: int) -> Question:
    require_staff(actor)
    question = session.get(Question, question_id, populate_existing=True)
    if question is None:
        raise NotFound(_("That question does not exist."))
    return question


def triage_queue(*, session: Session, actor: Principal | None) -> list[Question]:
    """Questions not yet published, most asked first, then oldest first."""
    require_staff(actor)
    return list(
        session.exec(
            select(Question)
            .where(col(Question.state).in_(OPEN_STATES))
            .order_by(col(Question.ask_count).desc(), col(Question.asked_at))
        ).all()
    )


def published_questions(*, session: Session, actor: Principal | None) -> list[Question]:
    require_staff(actor)
    return list(
        session.exec(
            select(Question)
            .where(col(Question.state) == QuestionState.PUBLISHED)
            .order_by(col(Question.ask_count).desc(), col(Question.id).desc())
        ).all()
    )


def review_overdue(
    *, session: Session, actor: Principal | None, at: datetime | None = None
) -> list[Question]:
    """Published answers not reviewed for HUB_ANSWER_REVIEW_DAYS: a stale official
    answer is worse than none."""
    require_staff(actor)
    cutoff = (at or utcnow()) - timedelta(days=review_days())
    return list(
        session.exec(
            select(Question)
            .where(
                col(Question.state) == QuestionState.PUBLISHED,
                (col(Question.reviewed_at) < cutoff) | col(Question.reviewed_at).is_(None),
            )
            .order_by(col(Question.reviewed_at))
        ).all()
    )


def similar_questions(
    *, session: Session, actor: Principal | None, question_id: int, limit: int = 5
) -> list[Question]:
    """Candidates to merge into: questions sharing the most words (database full-text
    ranking), published or open, never the question itself."""
    question = get_question(session=session, actor=actor, question_id=question_id)
    ids = search_ids(
        session=session,
        table="question",
        query=question.public_text,
        where="t.state NOT IN ('merged', 'rejected')",
        limit=limit,
        any_word=True,
        exclude_id=question_id,
    )
    if not ids:
        return []
    found = {q.id: q for q in session.exec(select(Question).where(col(Question.id).in_(ids)))}
    # Any shared word ranks a question, "de" and "para" too: a suggestion must share a
    # word that carries meaning (issue 15: unrelated merge suggestions).
    words = _content_words(question.public_text)
    return [found[i] for i in ids if i in found and words & _content_words(found[i].public_text)]


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", fold(text)) if len(w) >= 4 and w not in FUNCTION_WORDS}


def answer_history(
    *, session: Session, actor: Principal | None, question_id: int
) -> list[AnswerVersion]:
    require_staff(actor)
    return list(
        session.exec(
            select(AnswerVersion)
            .where(AnswerVersion.question_id == question_id)
            .order_by(col(AnswerVersion.number))
        ).all()
    )


def _search_text(question: Question) -> str:
    topic = _(TOPIC_LABELS[question.topic]) if question.topic else ""
    return fold(question.public_text, question.answer_text, question.authority, topic)


def _save(
    session: Session,
    actor: Principal,
    question: Question,
    action: str,
    before: dict[str, Any] | None,
    summary: str = "",
) -> Question:
    question.search_text = _search_text(question)
    return save_record(
        session=session,
        actor=actor,
        record=question,
        action=action,
        entity_type="question",
        before=before,
        summary=summary,
    )


def _editable(session: Session, actor: Principal | None, question_id: int, version: int) -> Any:
    actor = require_staff(actor)
    question = get_question(session=session, actor=actor, question_id=question_id)
    check_version(question, version)
    if question.state in (QuestionState.MERGED, QuestionState.REJECTED):
        raise InvalidInput(_("This question was merged or rejected; it can no longer change."))
    return actor, question


def _plain_answer(raw: str) -> str:
    text = "\n".join(line.rstrip() for line in raw.replace("\x00", "").strip().splitlines())
    if len(text) > ANSWER_MAX:
        raise InvalidInput(
            _("Answer: use at most {n} characters.").format(n=ANSWER_MAX), field="answer_text"
        )
    if has_markup(text):
        raise InvalidInput(
            _("Answer: write plain text, without HTML tags or scripts."), field="answer_text"
        )
    return text


def save_answer(
    *,
    session: Session,
    actor: Principal | None,
    question_id: int,
    draft: AnswerDraft,
    expected_version: int,
) -> Question:
    """Triage and answer: public wording, topic, authority, the answer and its source.

    A changed answer is kept as a new version; on a published question it goes live at
    once (staff are the review) and the public sees "updated on"."""
    actor, question = _editable(session, actor, question_id, expected_version)
    draft = cleaned(draft)
    try:
        public_text = redact(clean_question_text(draft.public_text))
    except InvalidInput as err:
        raise InvalidInput(
            str(err).replace(_("Question:"), _("Public wording:")), field="public_text"
        ) from None
    authority = " ".join(draft.authority.split())
    if len(authority) > 120:
        raise InvalidInput(_("Authority: use at most 120 characters."), field="authority")
    answered_by = " ".join(draft.answered_by.split())
    if len(answered_by) > 200:
        raise InvalidInput(_("Answered by: use at most 200 characters."), field="answered_by")
    source_url = ""
    if draft.source_url.strip():
        source_url = safe_http_url(draft.source_url) or ""
        if not source_url:
            raise InvalidInput(
                _("Source document: enter an address starting with https://."),
                field="source_url",
            )
    answer_text = _plain_answer(draft.answer_text)
    if question.state is QuestionState.PUBLISHED and not (answer_text and authority):
        raise InvalidInput(
            _("A published question needs an answer and its authority; unpublish it first."),
            field="answer_text",
        )
    before = snapshot(question)
    now = utcnow()
    changed = (answer_text, authority, answered_by, source_url) != (
        question.answer_text,
        question.authority,
        question.answered_by,
        question.source_url,
    )
    question.public_text = public_text
    question.topic = draft.topic
    question.authority = authority
    question.answered_by = answered_by
    question.source_url = source_url
    question.answer_text = answer_text
    if question.state is QuestionState.RECEIVED:
        question.state = QuestionState.TRIAGED
    if changed and answer_text:
        question.answer_version += 1
        question.answered_at = question.answered_at or now
        session.add(
            AnswerVersion(
                question_id=question.id or 0,
                number=question.answer_version,
                answer_text=answer_text,
                authority=authority,
                answered_by=answered_by,
                source_url=source_url,
                written_by=actor.label,
                written_at=now,
            )
        )
        if question.state is QuestionState.PUBLISHED:
            question.answer_updated_at = now
            question.reviewed_at = now
    return _save(session, actor, question, "answer" if changed else "triage", before)


def publish_question(
    *, session: Session, actor: Principal | None, question_id: int, expected_version: int
) -> Question:
    actor, question = _editable(session, actor, question_id, expected_version)
    missing = [
        label
        for label, value in (
            (_("Public wording"), question.public_text),
            (_("Topic"), question.topic),
            (_("Authority"), question.authority),
            (_("Answer"), question.answer_text),
        )
        if not value
    ]
    if missing:
        raise InvalidInput(
            _("Before publishing, fill in: {fields}.").format(fields=", ".join(missing))
        )
    if question.state is QuestionState.PUBLISHED:
        return question
    before = snapshot(question)
    now = utcnow()
    question.state = QuestionState.PUBLISHED
    question.published_at = now
    question.reviewed_at = now
    webhooks.emit(  # in the publishing transaction (issue 17)
        session=session,
        event_type="answer.published",
        organisation_ids=[],
        data={"id": question.id, "question": question.public_text, "authority": question.authority},
    )
    saved = _save(session, actor, question, "publish", before)
    notify_askers(session=session, question=saved)
    return saved


def mark_reviewed(
    *, session: Session, actor: Principal | None, question_id: int, expected_version: int
) -> Question:
    """The answer was checked with the authority and still holds."""
    actor, question = _editable(session, actor, question_id, expected_version)
    before = snapshot(question)
    question.reviewed_at = utcnow()
    return _save(session, actor, question, "review", before)


def unpublish_question(
    *, session: Session, actor: Principal | None, question_id: int, expected_version: int
) -> Question:
    actor, question = _editable(session, actor, question_id, expected_version)
    before = snapshot(question)
    question.state = QuestionState.TRIAGED
    return _save(session, actor, question, "unpublish", before)


def reject_question(
    *, session: Session, actor: Principal | None, question_id: int, expected_version: int
) -> Question:
    """Spam, abuse or not a question: never shown, kept for the record."""
    actor, question = _editable(session, actor, question_id, expected_version)
    if question.state is QuestionState.PUBLISHED:
        raise InvalidInput(_("Unpublish the question before rejecting it."))
    before = snapshot(question)
    question.state = QuestionState.REJECTED
    return _save(session, actor, question, "reject", before)


def merge_question(
    *,
    session: Session,
    actor: Principal | None,
    question_id: int,
    into_id: int,
    expected_version: int,
) -> Question:
    """Fold a question into an existing one: its askers count for the other (most asked
    first) and anyone who left an e-mail is told when the other is answered."""
    actor, question = _editable(session, actor, question_id, expected_version)
    if into_id == question_id:
        raise InvalidInput(_("Merge into: choose another question."), field="into_id")
    if question.state is QuestionState.PUBLISHED:
        raise InvalidInput(_("Unpublish the question before merging it into another."))
    target = get_question(session=session, actor=actor, question_id=into_id)
    if target.state in (QuestionState.MERGED, QuestionState.REJECTED):
        raise InvalidInput(
            _("Merge into: that question was itself merged or rejected; choose another."),
            field="into_id",
        )
    before = snapshot(question)
    question.state = QuestionState.MERGED
    question.merged_into_id = into_id
    # Counters and links move with SQL updates: no version bump on the target, so a
    # colleague editing its answer is not interrupted by a merge. The updates flush the
    # question first, so a lost race surfaces here: the guard covers them.
    with stale_guard(session=session, record=question):
        session.execute(
            update(Question)
            .where(col(Question.id) == into_id)
            .values(ask_count=col(Question.ask_count) + question.ask_count, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Question)
            .where(col(Question.merged_into_id) == question_id)
            .values(merged_into_id=into_id)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(QuestionContact)
            .where(col(QuestionContact.question_id) == question_id)
            .values(question_id=into_id)
            .execution_options(synchronize_session=False)
        )
    merged = _save(
        session, actor, question, "merge", before, summary=f"merged into question {into_id}"
    )
    if target.state is QuestionState.PUBLISHED:
        notify_askers(session=session, question=target)
    return merged


def notify_askers(*, session: Session, question: Question) -> int:
    """E-mail askers who left an address that their question is answered, then forget
    the address. Without a mail server (or on failure) the address waits for the next
    publication; nothing fails for the staff member who published."""
    if question.state is not QuestionState.PUBLISHED or not mail_enabled():
        return 0
    contacts = session.exec(
        select(QuestionContact).where(
            QuestionContact.question_id == question.id,
            col(QuestionContact.notified_at).is_(None),
        )
    ).all()
    sent = 0
    for contact in contacts:
        try:
            send_mail(
                to=[contact.email],
                subject=_("Your question was answered"),
                body=_("The answer to your question is on the public information page:")
                + f"\n\n{question.public_text}\n\n{question.answer_text}\n",
            )
        except (OSError, smtplib.SMTPException) as err:
            log.warning("answer notification not sent: %s", err)
            continue
        contact.notified_at = utcnow()
        contact.email = ""
        sent += 1
    session.commit()
    return sent


def question_counts(*, session: Session, actor: Principal | None) -> dict[str, int]:
    require_staff(actor)
    rows = session.exec(select(Question.state, func.count()).group_by(Question.state)).all()
    return {str(state): int(count) for state, count in rows}
