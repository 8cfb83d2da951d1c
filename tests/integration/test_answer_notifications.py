"""An asker who left an e-mail is told, through a real SMTP server on 127.0.0.1, when
the answer is published (also when their question was merged into an answered one);
then the address is forgotten."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from answers.models import QuestionContact
from hub.auth import Principal, Role
from tests.factories import make_principal
from tests.smtp_server import Inbox, free_port
from tests.unit.test_answers import answer_and_publish, ask


@pytest.fixture
def staff(session: Session) -> Principal:
    return make_principal(session, role=Role.STAFF)


def test_asker_is_told_once_and_the_address_is_forgotten(
    session: Session, staff: Principal, smtp_server: Inbox
) -> None:
    question = ask(session, "Can pharmacies deliver medicines at home?", email="Rui@Example.pt")
    silent = ask(session, "Are pharmacies open at night during the emergency?", client="b")
    assert smtp_server.messages == []  # nothing before publication
    answer_and_publish(session, staff, question, answer="Yes, many pharmacies deliver.")
    assert [m.rcpt_tos for m in smtp_server.messages] == [["rui@example.pt"]]
    assert "Yes, many pharmacies deliver." in smtp_server.messages[0].content.decode()
    contact = session.exec(
        select(QuestionContact).where(QuestionContact.question_id == question)
    ).one()
    assert contact.email == "" and contact.notified_at is not None
    answer_and_publish(session, staff, silent)  # no address left: no mail
    assert len(smtp_server.messages) == 1


def test_without_a_mail_server_the_address_waits(
    session: Session, staff: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HUB_SMTP_PORT", str(free_port()))  # nobody listens
    monkeypatch.setenv("HUB_SMTP_STARTTLS", "false")
    question = ask(session, "Is the SNS 24 line free of charge?", email="ana@example.pt")
    answer_and_publish(session, staff, question)
    contact = session.exec(select(QuestionContact)).one()
    assert contact.email == "ana@example.pt" and contact.notified_at is None
