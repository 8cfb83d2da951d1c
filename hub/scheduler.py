"""The scheduler: APScheduler, in exactly one place per process, for any list of jobs.

``asgi_app.py`` starts it in the Streamlit server's lifespan (once per process, never
from a page script, which Streamlit reruns) when HUB_RUN_SCHEDULER is on;
``python -m hub worker`` runs it as a process of its own. The packages declare their
jobs; ``wiring.scheduler_jobs`` lists them. Every job runs with ``max_instances=1``
and ``coalesce=True`` so a slow run is never doubled up, and a missed run is dropped
once it is a tick late. A job function takes the engine, never raises (a run that
fails is logged and retried next time) and is idempotent: several schedulers (several
processes) may run the same job, so each job keeps its own leases or checks (the
feeds lease each source; the reminders write at most one per confirmation period).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from hub import settings


@dataclass(frozen=True)
class ScheduledJob:
    """A job to run every ``every`` seconds, the first time ``first_run_in`` seconds
    after the scheduler starts. ``function`` takes the engine; module level, as
    APScheduler asks."""

    id: str
    function: Callable[[Engine], object]
    every: float
    first_run_in: float


def tick_seconds() -> int:
    """How often the scheduler looks for due work (HUB_SCHEDULER_TICK_SECONDS)."""
    return int(settings.get("HUB_SCHEDULER_TICK_SECONDS"))


def build_scheduler(engine: Engine, jobs: Iterable[ScheduledJob]) -> BackgroundScheduler:
    """A stopped scheduler with ``jobs``; the caller starts and shuts it down."""
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": tick_seconds()},
    )
    now = datetime.now(UTC)
    for job in jobs:
        scheduler.add_job(
            job.function,
            "interval",
            seconds=job.every,
            id=job.id,
            args=[engine],
            next_run_time=now + timedelta(seconds=job.first_run_in),
            replace_existing=True,
        )
    return scheduler


def scheduler_enabled() -> bool:
    return bool(settings.get("HUB_RUN_SCHEDULER"))


def run_worker(
    engine: Engine, jobs: Iterable[ScheduledJob], *, stop: threading.Event | None = None
) -> None:
    """Run the scheduler in this process until SIGINT or SIGTERM (or ``stop``)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_args: stop.set())
    scheduler = build_scheduler(engine, jobs)
    scheduler.start()
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
