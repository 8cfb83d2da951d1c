"""Illustrative demo questions, answers, measures and contacts (data/demo/answers.json),
loaded through the same services as the forms so the demo exercises every check."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from answers.directory import create_contact, create_measure
from answers.models import (
    AnswerDraft,
    Contact,
    ContactDraft,
    MeasureDraft,
    Question,
    QuestionDraft,
    Topic,
)
from answers.service import ask_question, get_question, publish_question, save_answer
from hub.auth import SYSTEM_EMAIL, Principal, Role
from hub.records import utcnow
from hub.settings import PROJECT_ROOT

DEMO_FILE = PROJECT_ROOT / "data" / "demo" / "answers.json"


def _loader() -> Principal:
    return Principal(
        account_id=0,
        email=SYSTEM_EMAIL,
        display_name="demo loader",
        role=Role.STAFF,
        organisation_id=None,
        signed_in_at=utcnow(),
    )


def _question(session: Session, actor: Principal, row: dict[str, Any], n: int) -> None:
    question_id = ask_question(
        session=session,
        actor=None,
        draft=QuestionDraft(text=row["text"]),
        client=f"demo-loader-{n}",
    )
    if not row.get("answer"):
        return  # left in the triage queue for the demo
    question = get_question(session=session, actor=actor, question_id=question_id)
    question = save_answer(
        session=session,
        actor=actor,
        question_id=question_id,
        expected_version=question.version,
        draft=AnswerDraft(
            public_text=question.public_text,
            topic=Topic(row["topic"]),
            authority=row["authority"],
            answer_text=row["answer"],
            answered_by=row.get("answered_by", ""),
            source_url=row.get("source_url", ""),
        ),
    )
    publish_question(
        session=session, actor=actor, question_id=question_id, expected_version=question.version
    )
    # How often people asked it (as if the others had been merged in): most asked first.
    session.execute(
        update(Question)
        .where(col(Question.id) == question_id)
        .values(ask_count=int(row.get("asks", 1)))
    )
    session.commit()


def load_demo_answers(*, session: Session) -> int:
    """Add the demo records to a hub that has none of them; returns how many."""
    have = session.exec(select(func.count()).select_from(Question)).one()
    have += session.exec(select(func.count()).select_from(Contact)).one()
    if have:
        return 0
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    actor = _loader()
    for n, row in enumerate(data["questions"]):
        _question(session, actor, row, n)
    for row in data["measures"]:
        create_measure(
            session=session,
            actor=actor,
            draft=MeasureDraft(
                **{k: v for k, v in row.items() if k != "in_force_from"},
                in_force_from=date.fromisoformat(row["in_force_from"]),
                published=True,
            ),
        )
    for row in data["contacts"]:
        create_contact(
            session=session,
            actor=actor,
            draft=ContactDraft(**row, last_verified=date(2020, 4, 1), published=True),
        )
    return len(data["questions"]) + len(data["measures"]) + len(data["contacts"])
