"""Polling sources: lease, fetch, parse, store, record health. The database is the
job queue (as in Miniflux): a source is due when its ``next_poll_at`` has passed.

Safe to run from several processes at once: each source is leased with one atomic
UPDATE before it is fetched, and the result is written only while the lease is
still ours. Fetches run concurrently (bounded overall and per host), each under a
hard deadline; parsing and storing run in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from feeds import health
from feeds.fetch import FetchPolicy, FetchResult, fetch_feed, make_client
from feeds.models import FeedSource, FeedState, FetchSummary, Outcome, TrustTier
from feeds.parse import ParsedFeed, parse_feed
from feeds.store import ingest_entries
from feeds.topics import load_topics
from hub import settings
from hub.audit import record_change
from hub.db import session_scope
from hub.records import utcnow

log = logging.getLogger(__name__)

LEASE_MARGIN = timedelta(seconds=120)  # parse and store after the fetch deadline
Progress = Callable[[int, int, FetchSummary], None]

_OWNER = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_owner() -> str:
    """Who holds a lease: this process (host, pid and a random tag)."""
    return _OWNER


@dataclass
class Job:
    source_id: int
    name: str
    url: str
    etag: str
    last_modified: str


def due_sources(
    *, session: Session, now: datetime, source_ids: Iterable[int] | None = None, due_only: bool
) -> list[Job]:
    query = (
        select(FeedSource, FeedState)
        .join(FeedState, col(FeedState.source_id) == col(FeedSource.id))
        .where(col(FeedSource.enabled).is_(True))
        .where(FeedSource.trust != TrustTier.BLOCKED)
        .order_by(col(FeedState.next_poll_at).asc().nulls_first(), col(FeedSource.id))
    )
    if source_ids is not None:
        query = query.where(col(FeedSource.id).in_(list(source_ids)))
    if due_only:
        query = query.where(
            or_(col(FeedState.next_poll_at).is_(None), col(FeedState.next_poll_at) <= now)
        )
    return [
        Job(
            source_id=int(source.id or 0),
            name=source.name,
            url=source.url,
            etag=state.etag,
            last_modified=state.last_modified,
        )
        for source, state in session.exec(query).all()
    ]


def acquire_lease(*, engine: Engine, source_id: int, owner: str, seconds: float) -> bool:
    """Take the source for ``seconds`` unless another live scheduler holds it."""
    now = utcnow()
    with session_scope(engine) as session:
        result = session.connection().execute(
            update(FeedState)
            .where(col(FeedState.source_id) == source_id)
            .where(
                or_(
                    col(FeedState.lease_until).is_(None),
                    col(FeedState.lease_until) < now,
                    col(FeedState.lease_owner) == owner,
                )
            )
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
        )
        session.commit()
        return bool(getattr(result, "rowcount", 0) == 1)


def release_lease(*, engine: Engine, source_id: int, owner: str) -> None:
    with session_scope(engine) as session:
        session.connection().execute(
            update(FeedState)
            .where(col(FeedState.source_id) == source_id)
            .where(col(FeedState.lease_owner) == owner)
            .values(lease_owner="", lease_until=None)
        )
        session.commit()


def backoff(
    *, interval_minutes: int, failures: int, retry_after: float | None, cap_hours: int
) -> timedelta:
    """Doubling wait per consecutive failure, capped, never below Retry-After."""
    cap = timedelta(hours=cap_hours)
    wait = timedelta(minutes=interval_minutes) * (2 ** max(0, min(failures - 1, 16)))
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return min(wait, cap)


def record_result(
    *,
    engine: Engine,
    job: Job,
    result: FetchResult,
    owner: str,
) -> FetchSummary:
    """Parse and store what a fetch brought, update health; one transaction, only if
    the lease is still ours (else another scheduler owns the source now)."""
    now = utcnow()
    parsed: ParsedFeed | None = None
    if result.status == "ok":
        parsed = parse_feed(result.body, url=result.url, content_type=result.content_type)
    with session_scope(engine) as session:
        source = session.get(FeedSource, job.source_id)
        state = session.get(FeedState, job.source_id)
        if source is None or state is None or state.lease_owner != owner:
            session.rollback()
            return FetchSummary(
                source_id=job.source_id, source_name=job.name, outcome=Outcome.NEVER, skipped=True
            )
        summary = FetchSummary(source_id=job.source_id, source_name=source.name, outcome=Outcome.OK)
        problem, detail = result.problem, result.detail
        if parsed is not None:
            if parsed.entries and source.trust is not TrustTier.BLOCKED:
                counts = ingest_entries(
                    session=session,
                    source=source,
                    entries=parsed.entries,
                    topics=load_topics(),
                    now=now,
                )
                summary.new, summary.updated = counts.new, counts.updated
                summary.unchanged = counts.unchanged + counts.ignored
            problem, detail = parsed.problem, parsed.detail
        failed = result.status == "error" or (parsed is not None and parsed.failed)
        was_failing = state.consecutive_failures > 0
        state.last_attempt_at = now
        state.problem, state.problem_detail = problem, detail[:500]
        state.lease_owner, state.lease_until = "", None
        if result.moved_to:
            state.moved_to = result.moved_to[:1000]
        if failed:
            state.outcome = Outcome.ERROR
            state.consecutive_failures += 1
            state.next_poll_at = now + backoff(
                interval_minutes=source.interval_minutes,
                failures=state.consecutive_failures,
                retry_after=result.retry_after,
                cap_hours=int(settings.get("HUB_FEED_BACKOFF_MAX_HOURS")),
            )
        else:
            state.outcome = (
                Outcome.NOT_MODIFIED
                if result.status == "not_modified"
                else (Outcome.WARNING if problem else Outcome.OK)
            )
            state.consecutive_failures = 0
            state.last_success_at = now
            state.next_poll_at = now + timedelta(minutes=source.interval_minutes)
            if result.status == "ok":
                state.etag, state.last_modified = result.etag, result.last_modified
        if failed and not was_failing:
            record_change(
                session=session,
                actor=None,
                action="feed_failing",
                entity_type="feed_source",
                entity_id=source.id,
                after={"problem": problem, "detail": detail[:200]},
                summary=f"{source.name}: {problem} {detail[:100]}".strip(),
            )
        elif was_failing and not failed:
            record_change(
                session=session,
                actor=None,
                action="feed_recovered",
                entity_type="feed_source",
                entity_id=source.id,
                summary=f"{source.name}: polling works again",
            )
        session.commit()
        summary.outcome = state.outcome
        summary.message = health.describe(problem, detail)
        return summary


async def _poll_all(
    engine: Engine, jobs: list[Job], *, policy: FetchPolicy, progress: Progress | None
) -> list[FetchSummary]:
    overall = asyncio.Semaphore(int(settings.get("HUB_FETCH_CONCURRENCY")))
    per_host_limit = int(settings.get("HUB_FETCH_PER_HOST"))
    hosts: dict[str, asyncio.Semaphore] = {}
    # Parsing and storing are CPU and database work: a few threads, not one per feed.
    storing = asyncio.Semaphore(2)
    owner = lease_owner()
    lease_seconds = policy.deadline + LEASE_MARGIN.total_seconds()
    summaries: list[FetchSummary] = []

    async def poll(client: httpx.AsyncClient, job: Job) -> FetchSummary:
        host = (urlsplit(job.url).hostname or "").lower()
        host_slot = hosts.setdefault(host, asyncio.Semaphore(per_host_limit))
        async with host_slot, overall:
            leased = await asyncio.to_thread(
                acquire_lease,
                engine=engine,
                source_id=job.source_id,
                owner=owner,
                seconds=lease_seconds,
            )
            if not leased:
                return FetchSummary(
                    source_id=job.source_id,
                    source_name=job.name,
                    outcome=Outcome.NEVER,
                    skipped=True,
                    message="",
                )
            try:
                result = await fetch_feed(
                    client, job.url, policy=policy, etag=job.etag, last_modified=job.last_modified
                )
            except Exception as err:  # never let one feed stop the others
                log.exception("fetching %s failed", job.url)
                result = FetchResult(
                    url=job.url, status="error", problem=health.UNEXPECTED, detail=repr(err)[:200]
                )
        try:
            async with storing:
                return await asyncio.to_thread(
                    record_result, engine=engine, job=job, result=result, owner=owner
                )
        except Exception:
            log.exception("storing %s failed", job.url)
            await asyncio.to_thread(
                release_lease, engine=engine, source_id=job.source_id, owner=owner
            )
            raise

    async with make_client(policy) as client:
        tasks = [asyncio.ensure_future(poll(client, job)) for job in jobs]
        for done in asyncio.as_completed(tasks):
            try:
                summary = await done
            except Exception as err:
                summary = FetchSummary(
                    source_id=0,
                    source_name="?",
                    outcome=Outcome.ERROR,
                    message=health.describe(health.UNEXPECTED, repr(err)[:200]),
                )
            summaries.append(summary)
            if progress is not None:
                progress(len(summaries), len(jobs), summary)
    return summaries


def poll_sources(
    *,
    engine: Engine,
    source_ids: Iterable[int] | None = None,
    due_only: bool = True,
    progress: Progress | None = None,
    policy: FetchPolicy | None = None,
) -> list[FetchSummary]:
    """Poll sources (the due ones, or exactly ``source_ids``) and return a summary per
    source, in the order they finished. Runs its own event loop: call it from a
    thread that has none (the scheduler's, the CLI's, a page script's)."""
    with session_scope(engine) as session:
        jobs = due_sources(session=session, now=utcnow(), source_ids=source_ids, due_only=due_only)
    if not jobs:
        return []
    return asyncio.run(
        _poll_all(engine, jobs, policy=policy or FetchPolicy.from_settings(), progress=progress)
    )
