"""Freshness reminders: in the app always, by e-mail through a real SMTP server on
127.0.0.1 when configured; at most one per initiative per confirmation period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from geo.areas import load_reference_areas
from hub.auth import Role
from hub.records import utcnow
from initiatives.freshness import REMINDER_JOB_ID, remind_partners, send_freshness_reminders
from initiatives.models import Initiative, Notification, ReviewState, Status
from initiatives.service import approve, create_initiative
from tests.factories import initiative_draft, make_account, make_organisation, make_principal
from tests.smtp_server import Inbox, free_port
from wiring import build_scheduler


def stale_published(session: Session, **overrides: Any) -> Initiative:
    load_reference_areas(session=session)
    organisation = make_organisation(session)
    make_account(session, role=Role.PARTNER, organisation=organisation, email="owner@example.pt")
    staff = make_principal(session, role=Role.STAFF)
    created = create_initiative(
        session=session,
        actor=staff,
        submit=True,
        draft=initiative_draft(organisation, status=Status.ACTIVE, planned_end=None, **overrides),
    )
    published = approve(
        session=session,
        actor=staff,
        initiative_id=created.id or 0,
        expected_version=created.version,
    )
    published.last_confirmed_at = utcnow() - timedelta(days=45)
    session.add(published)
    session.commit()
    return published


def test_reminder_in_the_app_and_by_mail_once_per_period(
    session: Session, smtp_server: Inbox
) -> None:
    initiative = stale_published(session)
    first = send_freshness_reminders(session=session)
    assert (first.reminded, first.emailed, first.mail_errors) == (1, 1, 0)
    note = session.exec(select(Notification).where(Notification.kind == "reminder")).one()
    assert note.initiative_id == initiative.id
    assert len(smtp_server.messages) == 1
    envelope = smtp_server.messages[0]
    assert envelope.rcpt_tos == ["owner@example.pt"]
    assert initiative.code in envelope.content.decode()

    again = send_freshness_reminders(session=session)
    assert again.reminded == 0 and len(smtp_server.messages) == 1


def test_without_smtp_reminders_stay_in_the_app(session: Session) -> None:
    stale_published(session)
    run = send_freshness_reminders(session=session)
    assert (run.reminded, run.emailed) == (1, 0)


def test_unreachable_mail_server_does_not_lose_the_reminder(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HUB_SMTP_PORT", str(free_port()))  # nobody listens there
    monkeypatch.setenv("HUB_SMTP_STARTTLS", "false")
    stale_published(session)
    run = send_freshness_reminders(session=session)
    assert (run.reminded, run.emailed, run.mail_errors) == (1, 0, 1)
    assert len(session.exec(select(Notification).where(Notification.kind == "reminder")).all()) == 1


def test_current_and_unpublished_initiatives_are_left_alone(session: Session) -> None:
    load_reference_areas(session=session)
    organisation = make_organisation(session)
    staff = make_principal(session, role=Role.STAFF)
    draft = create_initiative(session=session, actor=staff, draft=initiative_draft(organisation))
    draft.last_confirmed_at = utcnow() - timedelta(days=90)
    session.add(draft)
    session.commit()
    assert draft.review_state is ReviewState.DRAFT
    assert send_freshness_reminders(session=session).reminded == 0


def test_the_scheduler_runs_the_reminders_daily(engine: Any, session: Session) -> None:
    scheduler = build_scheduler(engine)
    job = scheduler.get_job(REMINDER_JOB_ID)
    assert job is not None and job.trigger.interval == timedelta(hours=24)
    stale_published(session)
    assert remind_partners(engine) == 1
    assert remind_partners(engine) == 0  # idempotent within the confirmation period
