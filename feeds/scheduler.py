"""The feed job: every tick, poll the sources that are due.

``hub.scheduler`` runs it (``wiring.scheduler_jobs`` lists it). Each fetch has its own
hard deadline; the lease on each source keeps two schedulers (two processes) from
polling the same source at once.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from feeds.worker import poll_sources
from hub.scheduler import ScheduledJob, tick_seconds

log = logging.getLogger(__name__)

JOB_ID = "poll_due_sources"


def poll_due_sources(engine: Engine) -> int:
    """The scheduled job (module level, as APScheduler asks): poll what is due."""
    try:
        summaries = poll_sources(engine=engine, due_only=True)
    except Exception:  # a tick must never kill the scheduler
        log.exception("polling due feed sources failed")
        return 0
    if summaries:
        log.info("polled %d feed sources", len(summaries))
    return len(summaries)


def feed_job(*, first_run_in: float = 5.0) -> ScheduledJob:
    """Poll due sources every scheduler tick (HUB_SCHEDULER_TICK_SECONDS)."""
    return ScheduledJob(
        id=JOB_ID, function=poll_due_sources, every=tick_seconds(), first_run_in=first_run_in
    )
