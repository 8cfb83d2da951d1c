"""Ingest speed: our parse + sanitize + dedupe + store, vs feedparser's default parse
(with its own sanitizer and URL resolution) on the same feeds. Prints medians.

Two figures for ours: in one process (``parse_feed`` then ``ingest_entries``), and as
a refresh runs it: two parsing processes (keyword topics included) feeding the one
process that writes to the database (the pool is started before timing, as it is
amortised over a refresh of hundreds of feeds).

    .venv/bin/python -m benchmarks.feeds_ingest
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import feedparser
from sqlmodel import Session

from benchmarks._feeds_common import alerts_feed
from feeds.fetch import FetchResult
from feeds.models import FeedSource, FeedState, TrustTier
from feeds.parse import parse_feed
from feeds.store import ingest_entries
from feeds.topics import load_topics
from feeds.worker import PARSE_PROCESSES, parse_result
from hub.db import make_engine, migrate
from hub.records import utcnow

FEEDS = 20
ITEMS = 50
ROUNDS = 5
URL = "https://example.gov.pt/feed.xml"


def feedparser_default(bodies: list[bytes]) -> float:
    start = time.perf_counter()
    for body in bodies:
        feedparser.parse(
            io.BytesIO(body),
            response_headers={"content-location": URL, "content-type": "application/rss+xml"},
        )
    return time.perf_counter() - start


def _sources(session: Session, count: int) -> list[FeedSource]:
    sources = []
    for n in range(count):
        source = FeedSource(name=f"Feed {n}", url=URL, trust=TrustTier.TRUSTED)
        session.add(source)
        session.flush()
        session.add(FeedState(source_id=source.id or 0))
        sources.append(source)
    session.commit()
    return sources


def ours(
    bodies: list[bytes], folder: Path, round_number: int, pool: ProcessPoolExecutor | None = None
) -> float:
    engine = make_engine(f"sqlite:///{folder / f'bench{round_number}.db'}")
    migrate(engine)
    topics = load_topics()
    with Session(engine) as session:
        sources = _sources(session, len(bodies))
        start = time.perf_counter()
        if pool is None:
            parsed_feeds = (
                parse_feed(body, url=URL, content_type="application/rss+xml") for body in bodies
            )
        else:
            fetched = [
                FetchResult(url=URL, status="ok", body=body, content_type="application/rss+xml")
                for body in bodies
            ]
            parsed_feeds = pool.map(parse_result, fetched)  # type: ignore[assignment]
        for source, parsed in zip(sources, parsed_feeds, strict=True):
            assert parsed is not None
            ingest_entries(
                session=session, source=source, entries=parsed.entries, topics=topics, now=utcnow()
            )
            session.commit()  # one transaction per feed, as the worker does
        elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def main() -> None:
    bodies = [alerts_feed(n, ITEMS) for n in range(FEEDS)]
    entries = FEEDS * ITEMS
    size = sum(len(b) for b in bodies) / FEEDS / 1024
    with tempfile.TemporaryDirectory() as tmp:
        ours_rates = [entries / ours(bodies, Path(tmp), r) for r in range(ROUNDS)]
        with ProcessPoolExecutor(PARSE_PROCESSES, mp_context=get_context("spawn")) as pool:
            list(pool.map(parse_result, [FetchResult(url=URL, status="ok")] * PARSE_PROCESSES))
            pooled_rates = [
                entries / ours(bodies, Path(tmp), ROUNDS + r, pool) for r in range(ROUNDS)
            ]
    fp_rates = [entries / feedparser_default(bodies) for _ in range(ROUNDS)]
    ours_median = statistics.median(ours_rates)
    pooled_median = statistics.median(pooled_rates)
    fp_median = statistics.median(fp_rates)
    print(f"{FEEDS} feeds x {ITEMS} items ({size:.0f} KB per feed), {ROUNDS} rounds, medians:")
    print(
        f"  ours, one process (parse + nh3 sanitize + topics + dedupe + store in SQLite): "
        f"{ours_median:,.0f} entries/s"
    )
    print(
        f"  ours as a refresh runs it ({PARSE_PROCESSES} parsing processes + the writer): "
        f"{pooled_median:,.0f} entries/s"
    )
    print(
        f"  feedparser default parse (its sanitizer + URL resolution): {fp_median:,.0f} entries/s"
    )
    print(
        f"  ratio, one process: {ours_median / fp_median:.2f}x; "
        f"as a refresh runs it: {pooled_median / fp_median:.2f}x"
    )


if __name__ == "__main__":
    main()
