"""Ingest speed: our parse + sanitize + dedupe + store, vs feedparser's default parse
(with its own sanitizer and URL resolution) on the same feeds. Prints medians.

    .venv/bin/python benchmarks/feeds_ingest.py
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import feedparser
from sqlmodel import Session

from benchmarks._feeds_common import alerts_feed
from feeds.models import FeedSource, FeedState, TrustTier
from feeds.parse import parse_feed
from feeds.store import ingest_entries
from feeds.topics import load_topics
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


def ours(bodies: list[bytes], folder: Path, round_number: int) -> float:
    engine = make_engine(f"sqlite:///{folder / f'bench{round_number}.db'}")
    migrate(engine)
    topics = load_topics()
    with Session(engine) as session:
        sources = []
        for n in range(len(bodies)):
            source = FeedSource(name=f"Feed {n}", url=URL, trust=TrustTier.TRUSTED)
            session.add(source)
            session.flush()
            session.add(FeedState(source_id=source.id or 0))
            sources.append(source)
        session.commit()
        start = time.perf_counter()
        for source, body in zip(sources, bodies, strict=True):
            parsed = parse_feed(body, url=URL, content_type="application/rss+xml")
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
    fp_rates = [entries / feedparser_default(bodies) for _ in range(ROUNDS)]
    ours_median = statistics.median(ours_rates)
    fp_median = statistics.median(fp_rates)
    print(f"{FEEDS} feeds x {ITEMS} items ({size:.0f} KB per feed), {ROUNDS} rounds, medians:")
    print(f"  ours (parse + nh3 sanitize + dedupe + store in SQLite): {ours_median:,.0f} entries/s")
    print(
        f"  feedparser default parse (its sanitizer + URL resolution): {fp_median:,.0f} entries/s"
    )
    print(f"  ratio: {ours_median / fp_median:.2f}x")


if __name__ == "__main__":
    main()
