"""Official answers (issue 8): ask -> triage -> merge -> answer -> publish, review dates,
rate limits, hostile input and full-text search, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, update
from sqlmodel import Session, col, select

from answers.models import (
    AnswerDraft,
    Question,
    QuestionContact,
    QuestionDraft,
    QuestionState,
    RateBucket,
    Topic,
)
from answers.ratelimit import Limit, take
from answers.service import (
    RateLimited,
    answer_history,
    ask_question,
    get_question,
    list_public_answers,
    mark_reviewed,
    mark_useful,
    merge_question,
    publish_question,
    reject_question,
    review_overdue,
    save_answer,
    similar_questions,
    triage_queue,
)
from hub.audit import AuditEntry
from hub.auth import Principal, Role
from hub.db import make_engine
from hub.errors import InvalidInput, NotFound, PermissionDenied, StaleRecord
from hub.records import utcnow
from tests.factories import make_principal

T0 = 1_800_000_000.0  # a fixed clock for the token buckets


def ask(session: Session, text: str, *, client: str = "client-a", email: str = "", **kw) -> int:
    return ask_question(
        session=session,
        actor=None,
        draft=QuestionDraft(text=text, email=email),
        client=client,
        now=kw.get("now", T0),
    )


def answer_and_publish(
    session: Session, staff: Principal, question_id: int, answer: str = "Yes: wear a mask."
) -> Question:
    question = get_question(session=session, actor=staff, question_id=question_id)
    question = save_answer(
        session=session,
        actor=staff,
        question_id=question_id,
        expected_version=question.version,
        draft=AnswerDraft(
            public_text=question.public_text,
            topic=Topic.HEALTH,
            authority="DGS",
            answer_text=answer,
            answered_by="Direção de Serviços de Prevenção",
            source_url="https://www.dgs.pt/norma-007",
        ),
    )
    return publish_question(
        session=session, actor=staff, question_id=question_id, expected_version=question.version
    )


@pytest.fixture
def staff(session: Session) -> Principal:
    return make_principal(session, role=Role.STAFF)


def test_ask_triage_merge_answer_publish(session: Session, staff: Principal) -> None:
    first = ask(
        session,
        "Must I wear a mask on public transport? Write to ana@example.pt or 912 345 678.",
        email="Ana@Example.pt",
        client="one",
    )
    second = ask(session, "Do I need a mask on the bus and the metro?", client="two")
    assert [q.id for q in triage_queue(session=session, actor=staff)] == [first, second]

    # Nothing is public before staff publish it.
    assert list_public_answers(session=session) == []

    suggestions = similar_questions(session=session, actor=staff, question_id=second)
    assert [q.id for q in suggestions] == [first]
    merged = merge_question(
        session=session,
        actor=staff,
        question_id=second,
        into_id=first,
        expected_version=get_question(session=session, actor=staff, question_id=second).version,
    )
    assert merged.state is QuestionState.MERGED and merged.merged_into_id == first

    published = answer_and_publish(session, staff, first)
    assert published.state is QuestionState.PUBLISHED
    assert published.reviewed_at is not None and published.ask_count == 2

    [public] = list_public_answers(session=session)
    assert public.authority == "DGS" and public.ask_count == 2
    assert public.source_url == "https://www.dgs.pt/norma-007"
    assert public.updated_at is None
    dumped = public.model_dump_json()
    assert "ana@example.pt" not in dumped.lower() and "912 345 678" not in dumped
    assert "[e-mail removed]" in public.question and "[number removed]" in public.question
    # The e-mail is kept apart, for the notification only.
    contact = session.exec(select(QuestionContact)).one()
    assert contact.email == "ana@example.pt" and contact.question_id == first
    actions = set(
        session.exec(select(AuditEntry.action).where(AuditEntry.entity_type == "question"))
    )
    assert {"ask", "merge", "answer", "publish"} <= actions


def test_changed_answer_keeps_versions_and_shows_updated_on(
    session: Session, staff: Principal
) -> None:
    question_id = ask(session, "Can pharmacies deliver medicines at home?")
    published = answer_and_publish(session, staff, question_id, "Yes, in most towns.")
    shown_version = published.version
    save_answer(
        session=session,
        actor=staff,
        question_id=question_id,
        expected_version=published.version,
        draft=AnswerDraft(
            public_text=published.public_text,
            topic=Topic.HEALTH,
            authority="INFARMED",
            answer_text="Yes, everywhere, since 2 April.",
        ),
    )
    history = answer_history(session=session, actor=staff, question_id=question_id)
    assert [v.number for v in history] == [1, 2]
    assert history[0].answer_text == "Yes, in most towns."
    [public] = list_public_answers(session=session)
    assert public.answer == "Yes, everywhere, since 2 April." and public.updated_at is not None
    # A stale form is refused, nothing overwritten.
    with pytest.raises(StaleRecord):
        save_answer(
            session=session,
            actor=staff,
            question_id=question_id,
            expected_version=shown_version,
            draft=AnswerDraft(public_text="Something else entirely?", answer_text="No"),
        )


def test_publishing_needs_every_part_and_staff(session: Session, staff: Principal) -> None:
    question_id = ask(session, "When do schools reopen after Easter?")
    question = get_question(session=session, actor=staff, question_id=question_id)
    with pytest.raises(InvalidInput, match="Topic, Authority, Answer"):
        publish_question(session=session, actor=staff, question_id=question_id, expected_version=1)
    partner = make_principal(session, role=Role.PARTNER)
    for actor in (None, partner):
        with pytest.raises(PermissionDenied):
            triage_queue(session=session, actor=actor)
        with pytest.raises(PermissionDenied):
            publish_question(
                session=session,
                actor=actor,
                question_id=question_id,
                expected_version=question.version,
            )
    rejected = reject_question(
        session=session, actor=staff, question_id=question_id, expected_version=question.version
    )
    assert rejected.state is QuestionState.REJECTED
    assert triage_queue(session=session, actor=staff) == []


def test_answers_past_their_review_date_are_flagged(
    session: Session, staff: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_ANSWER_REVIEW_DAYS", "30")
    question_id = ask(session, "Is the SNS 24 line free of charge?")
    published = answer_and_publish(session, staff, question_id)
    assert review_overdue(session=session, actor=staff) == []
    later = utcnow() + timedelta(days=31)
    assert [q.id for q in review_overdue(session=session, actor=staff, at=later)] == [question_id]
    session.execute(
        update(Question)
        .where(col(Question.id) == question_id)
        .values(reviewed_at=utcnow() - timedelta(days=40))
    )
    session.commit()
    assert [q.id for q in review_overdue(session=session, actor=staff)] == [question_id]
    mark_reviewed(
        session=session,
        actor=staff,
        question_id=question_id,
        expected_version=get_question(
            session=session, actor=staff, question_id=question_id
        ).version,
    )
    assert review_overdue(session=session, actor=staff) == []
    assert published.id == question_id


def test_token_bucket_is_deterministic(session: Session) -> None:
    limit = Limit(capacity=3, per_hour=6)  # one token every 10 minutes
    assert [take(session=session, key="k", limit=limit, now=T0) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    assert take(session=session, key="k", limit=limit, now=T0 + 599) is False
    assert take(session=session, key="k", limit=limit, now=T0 + 600) is True
    assert take(session=session, key="k", limit=limit, now=T0 + 601) is False
    assert take(session=session, key="other", limit=limit, now=T0) is True  # buckets are per key
    assert (
        take(session=session, key="k", limit=limit, now=T0 + 10 * 3600) is True
    )  # refills to capacity only
    assert [take(session=session, key="k", limit=limit, now=T0 + 10 * 3600) for _ in range(3)] == [
        True,
        True,
        False,
    ]
    session.commit()


def test_question_form_is_rate_limited_per_client_and_overall(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_QUESTIONS_PER_HOUR", "6")  # burst 3, then one per 10 minutes
    monkeypatch.setenv("HUB_QUESTIONS_GLOBAL_PER_HOUR", "30")  # burst 5, one per 2 minutes
    for n in range(3):
        ask(session, f"Question number {n} from the same place?", client="flood")
    with pytest.raises(RateLimited):
        ask(session, "One question too many from here?", client="flood")
    later = T0 + 600
    ask(session, "A question ten minutes later?", client="flood", now=later)
    for place in ("calm", "b", "c", "d"):
        ask(session, f"A question from place {place}?", client=place, now=later)
    with pytest.raises(RateLimited):  # the global cap holds a flood spread over places
        ask(session, "A question from yet another place?", client="e", now=later)
    with pytest.raises(RateLimited):  # a clock running backwards refills nothing
        ask(session, "A question from the past?", client="f", now=T0)
    assert session.exec(select(func.count()).select_from(Question)).one() == 8
    # Only hashes of the client identifiers are stored.
    keys = " ".join(session.exec(select(RateBucket.key)).all())
    assert "flood" not in keys and "calm" not in keys


def test_refused_questions_still_spend_the_limit(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_QUESTIONS_PER_HOUR", "3")
    for _ in range(3):
        with pytest.raises(InvalidInput):
            ask(session, "<script>alert(1)</script>", client="probe")
    with pytest.raises(RateLimited):
        ask(session, "Now a proper question, please?", client="probe")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<script>alert(1)</script> is this safe?", "without HTML"),
        ("Is <b>this</b> allowed in a question?", "without HTML"),
        ("&lt;script&gt;alert(1)&lt;/script&gt; encoded", "without HTML"),
        ("<img src=x onerror=alert(1)> question", "without HTML"),
        ("See http://a.ru http://b.ru http://c.ru for cheap masks", "at most 2 links"),
        ("www.a.xyz www.b.xyz www.c.xyz www.d.xyz masks", "at most 2 links"),
        ("x" * 1001, "at most 1000"),
        ("y" * 100_000, "at most 1000"),
        ("short?", "at least 10"),
        ("   \x00\x00   ", "at least 10"),
    ],
)
def test_hostile_questions_are_refused_with_a_reason(
    session: Session, text: str, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason):
        ask(session, text, client=f"c-{hash(text)}")
    assert session.exec(select(func.count()).select_from(Question)).one() == 0


def test_bad_email_refused_and_small_math_allowed(session: Session) -> None:
    with pytest.raises(InvalidInput, match="E-mail"):
        ask(session, "When is the next update of the rules?", email="not an address")
    question_id = ask(session, "Is 2 < 3 people allowed at a table <3 ?", client="math")
    assert question_id


def test_useful_count_is_rate_limited(session: Session, staff: Principal) -> None:
    question_id = ask(session, "Where do I get a test for free?")
    with pytest.raises(NotFound):
        mark_useful(session=session, question_id=question_id, client="reader", now=T0)
    answer_and_publish(session, staff, question_id)
    mark_useful(session=session, question_id=question_id, client="reader", now=T0 + 1)
    with pytest.raises(RateLimited):
        mark_useful(session=session, question_id=question_id, client="reader", now=T0 + 2)
    mark_useful(session=session, question_id=question_id, client="other", now=T0 + 3)
    mark_useful(session=session, question_id=question_id, client="reader", now=T0 + 90_000)
    [public] = list_public_answers(session=session)
    assert public.useful_count == 3


def test_full_text_search_folds_accents_and_ignores_operators(
    session: Session, staff: Principal
) -> None:
    health = ask(session, "Onde posso fazer o teste à COVID-19 na Saúde pública?")
    answer_and_publish(session, staff, health, "Nos centros de saúde e farmácias aderentes.")
    other = ask(session, "Can I travel to Madeira by plane this month?")
    answer_and_publish(session, staff, other, "Only with a negative test result.")
    ask(session, "Unpublished question about saude stays hidden")

    def found(text: str) -> list[str]:
        return [a.question for a in list_public_answers(session=session, text=text)]

    assert len(found("saude")) == 1 and "Saúde" in found("saude")[0]
    assert len(found("SAÚDE farmácias")) == 1
    assert len(found("farm")) == 1  # prefix
    assert found("madeira") == ["Can I travel to Madeira by plane this month?"]
    assert found("hidden") == []
    for hostile in ('"', "OR", "NEAR(a b)", "*", "a:* & !b", "'; DROP TABLE question; --"):
        found(hostile)  # never an error
    assert session.exec(select(func.count()).select_from(Question)).one() == 3


def test_a_merge_racing_an_edit_is_told_to_reload_and_moves_nothing(
    database_url: str, session: Session, staff: Principal
) -> None:
    """Issue 13.10 for merges: the counter and contact updates flush the question before
    its guarded save, so a colleague's edit saved just before it gave a raw
    StaleDataError; now the merge is refused with "reload" and the target keeps its count."""
    target = ask(session, "Must I wear a mask on public transport?", client="one")
    duplicate = ask(session, "Do I need a mask on the bus?", client="two", email="rui@example.pt")
    editor = make_principal(session, role=Role.STAFF, display_name="Maria Staff")
    shown = get_question(session=session, actor=staff, question_id=duplicate)
    other_engine = make_engine(database_url)

    def edit_elsewhere(*_args: object) -> None:
        with Session(other_engine) as other:
            save_answer(
                session=other,
                actor=editor,
                question_id=duplicate,
                expected_version=shown.version,
                draft=AnswerDraft(public_text="Do I need a mask on buses?", topic=Topic.HEALTH),
            )

    event.listen(session, "before_flush", edit_elsewhere, once=True)
    try:
        with pytest.raises(StaleRecord, match=r"Maria Staff.*reload"):
            merge_question(
                session=session,
                actor=staff,
                question_id=duplicate,
                into_id=target,
                expected_version=shown.version,
            )
    finally:
        other_engine.dispose()
    session.expire_all()
    kept = get_question(session=session, actor=staff, question_id=duplicate)
    assert kept.state is QuestionState.TRIAGED and kept.public_text == "Do I need a mask on buses?"
    assert get_question(session=session, actor=staff, question_id=target).ask_count == 1
    contacts = session.exec(select(QuestionContact.question_id)).all()
    assert list(contacts) == [duplicate]


def test_merge_suggestions_share_a_word_that_carries_meaning(
    session: Session, staff: Principal
) -> None:
    pharmacy = ask(session, "Posso ir à farmácia de carro?", client="one")
    unrelated = ask(session, "Como é que vou para o trabalho de comboio?", client="two")
    same = ask(session, "A farmácia está aberta ao domingo?", client="three")
    suggestions = similar_questions(session=session, actor=staff, question_id=pharmacy)
    assert [q.id for q in suggestions] == [same], unrelated  # "de" alone is not enough
