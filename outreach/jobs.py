"""Scheduled work of the offline channels (listed by ``wiring.scheduler_jobs``).

Each job takes the engine, never raises (a failed run is logged and retried on the next
tick) and is safe to run in several processes at once: the digest claims one row per
subscription and day, the outbox leases each message, the clean-up only deletes.
"""

from __future__ import annotations

import logging
import os
import socket

from sqlalchemy.engine import Engine

from hub.db import session_scope
from hub.scheduler import ScheduledJob, tick_seconds
from outreach.delivery import deliver_due
from outreach.digest import run_digest
from outreach.subscriptions import forget_old

LOG = logging.getLogger(__name__)
OWNER = f"outreach@{socket.gethostname()}:{os.getpid()}"


def digest_and_send(engine: Engine) -> None:
    """Enqueue the day's digest once it is due, then send what is due in the outbox."""
    try:
        with session_scope(engine) as session:
            run_digest(session=session)
        with session_scope(engine) as session:
            deliver_due(session=session, owner=OWNER)
    except Exception:  # a scheduler job never raises: logged, tried again next tick
        LOG.exception("outreach digest or delivery failed; retried on the next tick")


def clean_up(engine: Engine) -> None:
    """Unconfirmed subscriptions after 7 days, dormant after a year, SMS state after a day."""
    try:
        with session_scope(engine) as session:
            forget_old(session=session)
    except Exception:
        LOG.exception("outreach clean-up failed; retried on the next run")


def outreach_jobs() -> list[ScheduledJob]:
    return [
        ScheduledJob(
            id="outreach-digest", function=digest_and_send, every=tick_seconds(), first_run_in=30
        ),
        ScheduledJob(id="outreach-clean-up", function=clean_up, every=3600, first_run_in=120),
    ]
