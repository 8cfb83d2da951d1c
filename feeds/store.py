"""Storing parsed entries: dedupe, revisions in place, tombstones, stories, topics.

A revised item from a source whose items need review goes back to the review queue.

One ingest is a handful of statements whatever the number of entries: one read of
the keys already stored, one of candidate stories, one bulk insert, one bulk update.
The caller commits (together with the source's state), so a poll lands whole or not
at all; the unique (source_id, key) constraint makes a repeated poll harmless.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import bindparam, case, insert, or_, update
from sqlmodel import Session, col, select

from feeds.models import FeedItem, FeedSource, ItemStatus, TrustTier
from feeds.parse import ParsedEntry
from feeds.topics import TopicRules, classify
from hub.audit import record_change
from hub.text import fold

SYSTEM_LABEL = "system"
STORY_WINDOW = timedelta(days=14)
_CHUNK = 400  # keys per IN (...) list, under every database's parameter limit
_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|mc_|ref$|ref_src$)")
_NON_WORD = re.compile(r"[^\w]+")


@dataclass
class IngestCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored: int = 0  # tombstoned by staff


def link_key(link: str) -> str:
    """The same article whatever the scheme, www., tracking parameters or trailing /."""
    if not link:
        return ""
    parts = urlsplit(link)
    host = (parts.hostname or "").lower().removeprefix("www.")
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query) if not _TRACKING.match(k.lower()))
    )
    normal = f"{host}{parts.path.rstrip('/')}" + (f"?{query}" if query else "")
    return hashlib.sha256(normal.encode()).hexdigest()


def title_key(title: str) -> str:
    """Near-identical titles (case, accents, punctuation aside) share a key; short
    titles ("Update", "Comunicado") are too common to mean the same story."""
    words = _NON_WORD.sub(" ", fold(title)).split()
    if len(words) < 4:
        return ""
    return hashlib.sha256(" ".join(words).encode()).hexdigest()


def entry_topic_text(entry: ParsedEntry) -> str:
    """What the keyword rules read: the title and the body."""
    return f"{entry.title} {entry.summary_html}"


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _initial_status(trust: TrustTier) -> ItemStatus:
    return ItemStatus.PUBLISHED if trust is TrustTier.TRUSTED else ItemStatus.PENDING


def _find_stories(
    session: Session, source_id: int, links: list[str], titles: list[str], since: datetime
) -> tuple[dict[str, str], dict[str, str]]:
    by_link: dict[str, str] = {}
    by_title: dict[str, str] = {}
    wanted = [("l", v) for v in links if v] + [("t", v) for v in titles if v]
    for start in range(0, len(wanted), _CHUNK):
        part = wanted[start : start + _CHUNK]
        link_values = [v for kind, v in part if kind == "l"]
        title_values = [v for kind, v in part if kind == "t"]
        rows = session.exec(
            select(FeedItem.link_key, FeedItem.title_key, FeedItem.story_key)
            .where(FeedItem.source_id != source_id)
            .where(col(FeedItem.first_seen_at) >= since)
            .where(
                or_(
                    col(FeedItem.link_key).in_(link_values),
                    col(FeedItem.title_key).in_(title_values),
                )
            )
        ).all()
        for link, title, story in rows:
            if link:
                by_link.setdefault(link, story)
            if title:
                by_title.setdefault(title, story)
    return by_link, by_title


def ingest_entries(
    *,
    session: Session,
    source: FeedSource,
    entries: list[ParsedEntry],
    topics: TopicRules,
    now: datetime,
) -> IngestCounts:
    """Insert new entries, revise changed ones in place, never revive tombstones."""
    assert source.id is not None
    counts = IngestCounts()
    if not entries:
        return counts
    keys = list(dict.fromkeys(e.key for e in entries))
    stored: dict[str, tuple[int, str, ItemStatus]] = {}
    for part in _chunks(keys):
        for item_id, key, content_hash, status in session.exec(
            select(FeedItem.id, FeedItem.key, FeedItem.content_hash, FeedItem.status)
            .where(FeedItem.source_id == source.id)
            .where(col(FeedItem.key).in_(part))
        ).all():
            stored[key] = (int(item_id or 0), content_hash, ItemStatus(status))

    fresh: dict[str, ParsedEntry] = {}
    changed: list[tuple[int, ParsedEntry]] = []
    for entry in entries:
        if entry.key in fresh:
            continue
        known = stored.get(entry.key)
        if known is None:
            fresh[entry.key] = entry
        elif known[2] is ItemStatus.REMOVED:
            counts.ignored += 1
        elif known[1] != entry.content_hash:
            changed.append((known[0], entry))
        else:
            counts.unchanged += 1

    fallback_topic = next((t.strip() for t in source.topics.split(",") if t.strip()), "")
    if fresh:
        link_keys = {k: link_key(e.link) for k, e in fresh.items()}
        title_keys = {k: title_key(e.title) for k, e in fresh.items()}
        by_link, by_title = _find_stories(
            session,
            source.id,
            sorted(set(link_keys.values()) - {""}),
            sorted(set(title_keys.values()) - {""}),
            now - STORY_WINDOW,
        )
        status = _initial_status(source.trust)
        rows: list[dict[str, Any]] = []
        for key, entry in fresh.items():
            lk, tk = link_keys[key], title_keys[key]
            story = by_link.get(lk) or by_title.get(tk) or key
            rows.append(
                {
                    **_content(entry, now),
                    "source_id": source.id,
                    "key": key,
                    "guid": entry.guid,
                    "first_seen_at": now,
                    "revisions": 0,
                    "status": status,
                    "pinned": False,
                    "topic": (
                        classify(entry_topic_text(entry), topics=topics)
                        if entry.keyword_topic is None
                        else entry.keyword_topic
                    )
                    or fallback_topic,
                    "link_key": lk,
                    "title_key": tk,
                    "story_key": story,
                    "version": 1,
                }
            )
        # Core insert: the ORM's bulk path costs more than the database work here.
        session.connection().execute(insert(FeedItem.__table__), rows)  # type: ignore[attr-defined]
        counts.new = len(rows)

    if changed:
        table = FeedItem.__table__  # type: ignore[attr-defined]
        review_again: dict[str, Any] = {}
        if source.trust is not TrustTier.TRUSTED:
            # Staff approved the words they read, not the revision: a published item
            # from a source that needs review waits for review again (hidden and
            # pending items keep their status).
            review_again["status"] = case(
                (table.c.status == ItemStatus.PUBLISHED.value, ItemStatus.PENDING.value),
                else_=table.c.status,
            )
        statement = (
            update(table)
            .where(table.c.id == bindparam("item_id"))
            .values(
                revisions=table.c.revisions + 1,
                version=table.c.version + 1,
                **review_again,
                **{name: bindparam(f"new_{name}") for name in _CONTENT_FIELDS},
            )
        )
        session.connection().execute(
            statement,
            [
                {"item_id": item_id, **{f"new_{k}": v for k, v in _content(entry, now).items()}}
                for item_id, entry in changed
            ],
        )
        counts.updated = len(changed)

    if counts.new or counts.updated:
        record_change(
            session=session,
            actor=None,
            action="ingest",
            entity_type="feed_source",
            entity_id=source.id,
            after={"new": counts.new, "updated": counts.updated},
            summary=f"{counts.new} new, {counts.updated} revised items from {source.name}",
        )
    return counts


_CONTENT_FIELDS = (
    "title",
    "link",
    "summary_html",
    "author",
    "image_url",
    "enclosures",
    "published_at",
    "content_hash",
    "updated_at",
    "updated_by",
)


def _content(entry: ParsedEntry, now: datetime) -> dict[str, Any]:
    published = entry.published_at
    if published is not None and published > now:
        published = now  # a date in the future would pin the item to the top
    return {
        "title": entry.title,
        "link": entry.link,
        "summary_html": entry.summary_html,
        "author": entry.author,
        "image_url": entry.image_url,
        "enclosures": entry.enclosures,
        "published_at": published,
        "content_hash": entry.content_hash,
        "updated_at": now,
        "updated_by": SYSTEM_LABEL,
    }
