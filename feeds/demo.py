"""Offline demo: the demo source list (real official URLs, which simply fail when
there is no internet) and a few illustrative sample feeds under data/demo/feeds/,
ingested through the same parse-and-store path as fetched feeds (not the fetcher)."""

from __future__ import annotations

import json

from sqlmodel import Session, func, select

from feeds.models import FeedSource, FeedState, SourceDraft
from feeds.parse import parse_feed
from feeds.store import ingest_entries
from feeds.topics import load_topics
from hub.audit import record_change, snapshot
from hub.records import utcnow
from hub.settings import PROJECT_ROOT

DEMO_DIR = PROJECT_ROOT / "data" / "demo"
DEMO_SOURCES = DEMO_DIR / "feed_sources.json"
DEMO_FEEDS = DEMO_DIR / "feeds"


def load_demo_feeds(*, session: Session) -> int:
    """Add the demo sources not yet present and ingest their sample feeds; returns
    how many records (sources and items) were added. Idempotent. Commits."""
    added = 0
    topics = load_topics()
    for row in json.loads(DEMO_SOURCES.read_text(encoding="utf-8")):
        sample = row.pop("sample", None)
        draft = SourceDraft(**row)
        source = session.exec(
            select(FeedSource).where(func.lower(FeedSource.name) == draft.name.lower())
        ).first()
        if source is None:
            source = FeedSource(**draft.model_dump(), updated_by="demo loader")
            session.add(source)
            session.flush()
            assert source.id is not None
            session.add(FeedState(source_id=source.id))
            record_change(
                session=session,
                actor=None,
                action="create",
                entity_type="feed_source",
                entity_id=source.id,
                after=snapshot(source),
                summary="demo data",
            )
            added += 1
        if sample:
            parsed = parse_feed((DEMO_FEEDS / sample).read_bytes(), url=source.url)
            counts = ingest_entries(
                session=session, source=source, entries=parsed.entries, topics=topics, now=utcnow()
            )
            added += counts.new
    session.commit()
    return added
