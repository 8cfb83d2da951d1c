"""Polling sources: lease, fetch, parse, store, record health. The database is the
job queue (as in Miniflux): a source is due when its ``next_poll_at`` has passed.

Safe to run from several processes at once: each source is leased with one atomic
UPDATE before it is fetched, and the result is written only while the lease is
still ours. Fetches run concurrently (bounded overall and per host), each under a
hard deadline; a large refresh parses in two worker processes; every database write
goes through one thread, in batches (see ``_DatabaseLane``).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing import get_context
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from feeds import health
from feeds.fetch import FetchPolicy, FetchResult, fetch_feed, make_client
from feeds.models import FeedSource, FeedState, FetchSummary, Outcome, TrustTier
from feeds.parse import TOO_SLOW, ParsedFeed, parse_feed
from feeds.store import entry_topic_text, ingest_entries
from feeds.topics import classify, load_topics
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


def take_leases(*, session: Session, source_ids: list[int], owner: str, seconds: float) -> set[int]:
    """Lease every source in ``source_ids`` that no other live scheduler holds, with one
    UPDATE; returns the ids now leased by ``owner``. The caller commits."""
    if not source_ids:
        return set()
    now = utcnow()
    session.connection().execute(
        update(FeedState)
        .where(col(FeedState.source_id).in_(source_ids))
        .where(
            or_(
                col(FeedState.lease_until).is_(None),
                col(FeedState.lease_until) < now,
                col(FeedState.lease_owner) == owner,
            )
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
    )
    return set(
        session.exec(
            select(FeedState.source_id)
            .where(col(FeedState.source_id).in_(source_ids))
            .where(FeedState.lease_owner == owner)
        ).all()
    )


def acquire_lease(*, engine: Engine, source_id: int, owner: str, seconds: float) -> bool:
    """Take the source for ``seconds`` unless another live scheduler holds it."""
    with session_scope(engine) as session:
        leased = take_leases(session=session, source_ids=[source_id], owner=owner, seconds=seconds)
        session.commit()
        return source_id in leased


def release_lease(*, engine: Engine, source_id: int, owner: str) -> None:
    with session_scope(engine) as session:
        _release(session, source_id, owner)
        session.commit()


def _release(session: Session, source_id: int, owner: str) -> None:
    session.connection().execute(
        update(FeedState)
        .where(col(FeedState.source_id) == source_id)
        .where(col(FeedState.lease_owner) == owner)
        .values(lease_owner="", lease_until=None)
    )


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
    parsed = parse_result(result)
    with session_scope(engine) as session:
        summary = apply_result(session=session, job=job, result=result, parsed=parsed, owner=owner)
        session.commit()
        return summary


def parse_result(result: FetchResult) -> ParsedFeed | None:
    """The parsed document of a successful fetch, its entries' topics worked out, else
    None. Module level so a process pool can run it: the keyword rules then run in
    the parsing processes too, off the process that writes to the database."""
    if result.status != "ok":
        return None
    parsed = parse_feed(result.body, url=result.url, content_type=result.content_type)
    topics = load_topics()
    for entry in parsed.entries:
        entry.keyword_topic = classify(entry_topic_text(entry), topics=topics)
    return parsed


def apply_result(
    *, session: Session, job: Job, result: FetchResult, parsed: ParsedFeed | None, owner: str
) -> FetchSummary:
    """Store one fetch's items and the source's health in ``session`` (the caller
    commits), only while the lease is still ours."""
    now = utcnow()
    source = session.get(FeedSource, job.source_id)
    state = session.get(FeedState, job.source_id)
    if source is None or state is None or state.lease_owner != owner:
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
    summary.outcome = state.outcome
    summary.message = health.describe(problem, detail)
    return summary


@dataclass
class _LeaseRequest:
    job: Job
    done: asyncio.Future[bool]


@dataclass
class _ResultToStore:
    job: Job
    result: FetchResult
    parsed: ParsedFeed | None
    done: asyncio.Future[FetchSummary]


class _DatabaseLane:
    """Every database write of a refresh goes through one thread, a batch at a time.

    Leases and results arrive from many concurrent fetches; whatever has queued up
    while the previous batch was written goes into the next transaction, so under
    load a refresh costs a few dozen commits instead of two per source, and writers
    never queue on SQLite's lock (its busy handler sleeps). Under light load a batch
    is one item, as before.
    """

    def __init__(self, engine: Engine, *, owner: str, lease_seconds: float) -> None:
        self.engine, self.owner, self.lease_seconds = engine, owner, lease_seconds
        self.queue: asyncio.Queue[_LeaseRequest | _ResultToStore | None] = asyncio.Queue()
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feeds-db")

    async def lease(self, job: Job) -> bool:
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self.queue.put(_LeaseRequest(job, done))
        return await done

    async def store(self, job: Job, result: FetchResult, parsed: ParsedFeed | None) -> FetchSummary:
        done: asyncio.Future[FetchSummary] = asyncio.get_running_loop().create_future()
        await self.queue.put(_ResultToStore(job, result, parsed, done))
        return await done

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                batch = [await self.queue.get()]
                while not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                work = [item for item in batch if item is not None]
                if work:
                    # The caller's context (the language of health messages) goes
                    # along, as asyncio.to_thread would carry it.
                    context = contextvars.copy_context()
                    try:
                        await loop.run_in_executor(self.thread, context.run, self._write, work)
                    except Exception as err:  # never leave a fetch waiting forever
                        log.exception("the feed database lane failed")
                        for item in work:
                            _set_exception(item.done, err)
                if None in batch:
                    return
        finally:
            self.thread.shutdown(wait=False)

    def _write(self, batch: list[_LeaseRequest | _ResultToStore]) -> None:
        try:
            outcomes = self._write_together(batch)
        except Exception:
            log.exception("writing a batch of %d feed results failed; one by one", len(batch))
            outcomes = [self._write_alone(item) for item in batch]
        for item, outcome in zip(batch, outcomes, strict=True):
            future = item.done
            if isinstance(outcome, BaseException):
                future.get_loop().call_soon_threadsafe(_set_exception, future, outcome)
            else:
                future.get_loop().call_soon_threadsafe(_set_result, future, outcome)

    def _write_together(self, batch: list[_LeaseRequest | _ResultToStore]) -> list[object]:
        with session_scope(self.engine) as session:
            outcomes = self._apply(session, batch)
            session.commit()
        return outcomes

    def _write_alone(self, item: _LeaseRequest | _ResultToStore) -> object:
        try:
            return self._write_together([item])[0]
        except Exception as err:
            log.exception("storing %s failed", item.job.url)
            if isinstance(item, _ResultToStore):
                try:
                    release_lease(
                        engine=self.engine, source_id=item.job.source_id, owner=self.owner
                    )
                except Exception:
                    log.exception("releasing the lease of %s failed", item.job.url)
            return err

    def _apply(self, session: Session, batch: list[_LeaseRequest | _ResultToStore]) -> list[object]:
        wanted = [item.job.source_id for item in batch if isinstance(item, _LeaseRequest)]
        leased = take_leases(
            session=session, source_ids=wanted, owner=self.owner, seconds=self.lease_seconds
        )
        # Load the batch's sources and states in two queries; apply_result's
        # session.get then finds them in the identity map (which holds objects only
        # weakly: ``loaded`` keeps them alive until the batch is written).
        stored = [item.job.source_id for item in batch if isinstance(item, _ResultToStore)]
        loaded: list[object] = []
        if stored:
            loaded += session.exec(select(FeedSource).where(col(FeedSource.id).in_(stored))).all()
            loaded += session.exec(
                select(FeedState).where(col(FeedState.source_id).in_(stored))
            ).all()
        outcomes: list[object] = []
        for item in batch:
            if isinstance(item, _LeaseRequest):
                outcomes.append(item.job.source_id in leased)
            else:
                outcomes.append(
                    apply_result(
                        session=session,
                        job=item.job,
                        result=item.result,
                        parsed=item.parsed,
                        owner=self.owner,
                    )
                )
        return outcomes


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


# Below this many sources a refresh parses in a thread: starting worker processes
# costs more than it saves.
PARSE_PROCESSES_FROM = 24
PARSE_PROCESSES = 2


class _Parser:
    """Parses fetched documents: in two worker processes (feedparser is pure Python:
    threads would share one core) once a refresh of at least PARSE_PROCESSES_FROM
    sources brings its first document to parse (an all-304 refresh starts none); in
    a thread otherwise. "spawn": the app process has threads, which fork does not
    copy safely."""

    def __init__(self, jobs: int, *, deadline: float) -> None:
        self.use_processes = jobs >= PARSE_PROCESSES_FROM and (os.cpu_count() or 1) > 1
        self.pool: ProcessPoolExecutor | None = None
        self.slots = asyncio.Semaphore(PARSE_PROCESSES if self.use_processes else 1)
        self.deadline = deadline

    async def parse(self, result: FetchResult) -> ParsedFeed | None:
        if result.status != "ok":
            return None
        async with self.slots:
            try:
                # The job's hard deadline covers reading the document too; a parse
                # left behind finishes in the background and is ignored.
                async with asyncio.timeout(self.deadline):
                    return await self._parse(result)
            except TimeoutError:
                return ParsedFeed(problem=TOO_SLOW, detail=str(int(self.deadline)))

    async def _parse(self, result: FetchResult) -> ParsedFeed | None:
        if not self.use_processes:
            return await asyncio.to_thread(parse_result, result)
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                max_workers=PARSE_PROCESSES, mp_context=get_context("spawn")
            )
        return await asyncio.get_running_loop().run_in_executor(self.pool, parse_result, result)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


async def _poll_all(
    engine: Engine, jobs: list[Job], *, policy: FetchPolicy, progress: Progress | None
) -> list[FetchSummary]:
    concurrency = int(settings.get("HUB_FETCH_CONCURRENCY"))
    overall = asyncio.Semaphore(concurrency)
    # Fetched but not yet stored: bounds the bodies held in memory when parsing is
    # slower than fetching.
    in_flight = asyncio.Semaphore(concurrency * 2)
    per_host_limit = int(settings.get("HUB_FETCH_PER_HOST"))
    hosts: dict[str, asyncio.Semaphore] = {}
    lane = _DatabaseLane(
        engine,
        owner=lease_owner(),
        lease_seconds=policy.deadline + LEASE_MARGIN.total_seconds(),
    )
    parser = _Parser(len(jobs), deadline=policy.deadline)
    summaries: list[FetchSummary] = []

    async def poll(client: httpx.AsyncClient, job: Job) -> FetchSummary:
        host = (urlsplit(job.url).hostname or "").lower()
        host_slot = hosts.setdefault(host, asyncio.Semaphore(per_host_limit))
        async with in_flight:
            async with host_slot, overall:
                if not await lane.lease(job):
                    return FetchSummary(
                        source_id=job.source_id,
                        source_name=job.name,
                        outcome=Outcome.NEVER,
                        skipped=True,
                        message="",
                    )
                try:
                    result = await fetch_feed(
                        client,
                        job.url,
                        policy=policy,
                        etag=job.etag,
                        last_modified=job.last_modified,
                    )
                except Exception as err:  # never let one feed stop the others
                    log.exception("fetching %s failed", job.url)
                    result = FetchResult(
                        url=job.url,
                        status="error",
                        problem=health.UNEXPECTED,
                        detail=repr(err)[:200],
                    )
            try:
                parsed = await parser.parse(result)
            except Exception as err:  # a parser crash is that feed's problem only
                log.exception("parsing %s failed", job.url)
                result = FetchResult(
                    url=job.url, status="error", problem=health.UNEXPECTED, detail=repr(err)[:200]
                )
                parsed = None
            try:
                return await lane.store(job, result, parsed)
            except Exception as err:  # logged by the lane, which released the lease
                return FetchSummary(
                    source_id=job.source_id,
                    source_name=job.name,
                    outcome=Outcome.ERROR,
                    message=health.describe(health.UNEXPECTED, repr(err)[:200]),
                )

    writer = asyncio.ensure_future(lane.run())
    try:
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
    finally:
        await lane.queue.put(None)
        await writer
        parser.close()
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
