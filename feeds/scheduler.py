"""The feed scheduler: APScheduler, in exactly one place per process.

``asgi_app.py`` starts it in the Streamlit server's lifespan (once per process,
never from a page script, which Streamlit reruns) when HUB_RUN_SCHEDULER is on;
``python -m hub worker`` runs it as a process of its own. One job looks for due
sources every tick: ``max_instances=1`` and ``coalesce=True`` so a slow tick is never
doubled up; each fetch has its own hard deadline; the lease on each source keeps two
schedulers (two processes) from polling the same source at once.

It also runs the registry's daily freshness reminders (initiatives.freshness), which
are idempotent: an initiative gets at most one reminder per confirmation period.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from feeds.worker import poll_sources
from hub import settings

log = logging.getLogger(__name__)

JOB_ID = "poll_due_sources"
REMINDER_JOB_ID = "remind_partners"


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


def remind_partners(engine: Engine) -> int:
    """The daily job: remind partners of initiatives that ended or went unconfirmed."""
    from hub.db import session_scope
    from initiatives.freshness import send_freshness_reminders

    try:
        with session_scope(engine) as session:
            run = send_freshness_reminders(session=session)
    except Exception:  # a failed run is retried tomorrow; never kill the scheduler
        log.exception("freshness reminders failed")
        return 0
    log.info("freshness reminders: %d written, %d e-mailed", run.reminded, run.emailed)
    return run.reminded


def build_scheduler(engine: Engine, *, first_run_in: float = 5.0) -> BackgroundScheduler:
    tick = int(settings.get("HUB_SCHEDULER_TICK_SECONDS"))
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": tick},
    )
    scheduler.add_job(
        poll_due_sources,
        "interval",
        seconds=tick,
        id=JOB_ID,
        args=[engine],
        next_run_time=datetime.now(UTC) + timedelta(seconds=first_run_in),
        replace_existing=True,
    )
    scheduler.add_job(
        remind_partners,
        "interval",
        hours=24,
        id=REMINDER_JOB_ID,
        args=[engine],
        next_run_time=datetime.now(UTC) + timedelta(minutes=10),
        replace_existing=True,
    )
    return scheduler


def scheduler_enabled() -> bool:
    return bool(settings.get("HUB_RUN_SCHEDULER"))


def run_worker(engine: Engine, *, stop: threading.Event | None = None) -> None:
    """Run the scheduler in this process until SIGINT or SIGTERM (or ``stop``)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_args: stop.set())
    scheduler = build_scheduler(engine, first_run_in=0.5)
    scheduler.start()
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
