"""Keeping the registry current: remind partners of initiatives that ended or that they
have not confirmed for HUB_CONFIRM_AFTER_DAYS days.

Run by the scheduler once a day (idempotent: an initiative gets at most one reminder per
confirmation period), and by ``python -m hub remind``. Reminders always land in the
partner's notification list in the app; with HUB_SMTP_HOST set they are also e-mailed
to the organisation's active partner accounts.
"""

from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, exists, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from hub import settings
from hub.audit import record_change
from hub.auth import Role
from hub.db import session_scope
from hub.i18n import _
from hub.mail import mail_enabled, send_mail
from hub.records import utcnow
from hub.scheduler import ScheduledJob
from initiatives.models import Initiative, Notification, ReviewState, Status
from partners.models import Account

log = logging.getLogger(__name__)
REMINDER = "reminder"


@dataclass(frozen=True)
class ReminderRun:
    reminded: int
    emailed: int
    mail_errors: int


def send_freshness_reminders(*, session: Session, today: date | None = None) -> ReminderRun:
    now = utcnow()
    today = today or now.date()
    days = int(settings.get("HUB_CONFIRM_AFTER_DAYS"))
    cutoff = now - timedelta(days=days)
    recently_reminded = exists().where(
        col(Notification.initiative_id) == Initiative.id,
        col(Notification.kind) == REMINDER,
        col(Notification.created_at) >= cutoff,
    )
    live = col(Initiative.status).in_([Status.PLANNED, Status.ACTIVE])
    stale = or_(
        and_(col(Initiative.planned_end).is_not(None), col(Initiative.planned_end) < today),
        or_(
            col(Initiative.last_confirmed_at).is_(None), col(Initiative.last_confirmed_at) < cutoff
        ),
    )
    due = session.exec(
        select(Initiative).where(
            col(Initiative.review_state) == ReviewState.PUBLISHED, live, stale, ~recently_reminded
        )
    ).all()
    by_organisation: dict[int, list[Initiative]] = defaultdict(list)
    for initiative in due:
        ended = initiative.planned_end is not None and initiative.planned_end < today
        message = (
            _(
                "'{title}' passed its planned end date ({end}). Is it finished? Report its final "
                "status and people reached, or update the dates."
            )
            if ended
            else _(
                "Please confirm '{title}' is still current, or update it: it was last confirmed "
                "more than {days} days ago."
            )
        ).format(title=initiative.title, end=initiative.planned_end, days=days)
        session.add(
            Notification(
                organisation_id=initiative.lead_organisation_id,
                initiative_id=initiative.id,
                kind=REMINDER,
                message=message,
            )
        )
        by_organisation[initiative.lead_organisation_id].append(initiative)
    if due:
        record_change(
            session=session,
            actor=None,
            action="remind",
            entity_type="initiative",
            summary=f"{len(due)} freshness reminders",
        )
    session.commit()
    emailed = errors = 0
    if mail_enabled():
        for organisation_id, initiatives in by_organisation.items():
            recipients = list(
                session.exec(
                    select(Account.email).where(
                        Account.organisation_id == organisation_id,
                        col(Account.active).is_(True),
                        Account.role == Role.PARTNER,
                    )
                ).all()
            )
            if not recipients:
                continue
            body = "\n\n".join(f"- {i.code} · {i.title}" for i in initiatives)
            try:
                send_mail(
                    to=recipients,
                    subject=_("Please confirm or update your initiatives"),
                    body=_("These initiatives need your attention in the hub:") + "\n\n" + body,
                )
                emailed += 1
            except (OSError, smtplib.SMTPException) as err:
                errors += 1
                log.warning("reminder e-mail to organisation %s failed: %s", organisation_id, err)
    return ReminderRun(reminded=len(due), emailed=emailed, mail_errors=errors)


# --- the daily job (hub.scheduler runs it; wiring.scheduler_jobs lists it) ------------

REMINDER_JOB_ID = "remind_partners"


def remind_partners(engine: Engine) -> int:
    """The daily job: remind partners of initiatives that ended or went unconfirmed."""
    try:
        with session_scope(engine) as session:
            run = send_freshness_reminders(session=session)
    except Exception:  # a failed run is retried tomorrow; never kill the scheduler
        log.exception("freshness reminders failed")
        return 0
    log.info("freshness reminders: %d written, %d e-mailed", run.reminded, run.emailed)
    return run.reminded


def reminder_job() -> ScheduledJob:
    """Once a day, the first run ten minutes after the scheduler starts."""
    return ScheduledJob(
        id=REMINDER_JOB_ID, function=remind_partners, every=24 * 3600, first_run_in=600
    )
