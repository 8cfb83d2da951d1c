"""Feed sources, their fetch state, items: table models, form input, public shapes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from hub.clean import CleanInput
from hub.i18n import N_
from hub.records import UTCDateTime, Versioned, enum_type, utcnow

MIN_INTERVAL_MINUTES = 15
DEFAULT_INTERVAL_MINUTES = 30


class TrustTier(enum.StrEnum):
    """As ReliefWeb grades sources."""

    TRUSTED = "trusted"  # items publish at once
    ALLOWED = "allowed"  # items wait for staff review
    UNVERIFIED = "unverified"  # items are kept for staff, never published from the queue
    BLOCKED = "blocked"  # never fetched; its items are not shown


TRUST_TIER_LABELS = {
    TrustTier.TRUSTED: N_("Trusted: publish at once"),
    TrustTier.ALLOWED: N_("Allowed: staff review first"),
    TrustTier.UNVERIFIED: N_("Unverified: keep, do not publish"),
    TrustTier.BLOCKED: N_("Blocked: do not fetch or show"),
}


class ItemStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for review
    PUBLISHED = "published"
    HIDDEN = "hidden"  # staff hid it; can be published again
    REMOVED = "removed"  # tombstone: staff removed it and it never comes back


ITEM_STATUS_LABELS = {
    ItemStatus.PENDING: N_("Waiting for review"),
    ItemStatus.PUBLISHED: N_("Published"),
    ItemStatus.HIDDEN: N_("Hidden"),
    ItemStatus.REMOVED: N_("Removed"),
}


class Outcome(enum.StrEnum):
    """How the last poll of a source went."""

    NEVER = "never"
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    WARNING = "warning"  # items were read, with a problem worth knowing
    ERROR = "error"


OUTCOME_LABELS = {
    Outcome.NEVER: N_("Not polled yet"),
    Outcome.OK: N_("Working"),
    Outcome.NOT_MODIFIED: N_("Working (unchanged)"),
    Outcome.WARNING: N_("Working, with a problem"),
    Outcome.ERROR: N_("Failing"),
}


class FeedSourceBase(SQLModel):
    name: str = Field(max_length=200)
    publisher: str = Field(default="", max_length=200)
    url: str = Field(max_length=1000)
    language: str = Field(default="pt", max_length=8)
    topics: str = Field(default="", max_length=500)  # comma-separated topic keys
    trust: TrustTier = Field(default=TrustTier.ALLOWED, sa_type=enum_type(TrustTier))
    interval_minutes: int = DEFAULT_INTERVAL_MINUTES
    attribution: str = Field(default="", max_length=500)
    enabled: bool = True


class FeedSource(Versioned, FeedSourceBase, table=True):
    __tablename__ = "feed_source"
    __table_args__ = (Index("uq_feed_source_name_lower", text("lower(name)"), unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str = ""


class FeedState(SQLModel, table=True):
    """What the fetcher knows about a source; written by the system, never by people.

    Kept apart from FeedSource so a poll never bumps the version of the record staff
    edit. The lease columns keep two schedulers (two processes) off the same source.
    """

    __tablename__ = "feed_state"

    source_id: int = Field(foreign_key="feed_source.id", primary_key=True)
    etag: str = Field(default="", max_length=500)
    last_modified: str = Field(default="", max_length=100)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: Outcome = Field(default=Outcome.NEVER, sa_type=enum_type(Outcome))
    problem: str = Field(default="", max_length=40)  # a feeds.health code
    problem_detail: str = Field(default="", max_length=500)
    consecutive_failures: int = 0
    next_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    moved_to: str = Field(default="", max_length=1000)  # after a permanent redirect
    lease_owner: str = Field(default="", max_length=120)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FeedItem(Versioned, SQLModel, table=True):
    __tablename__ = "feed_item"
    __table_args__ = (UniqueConstraint("source_id", "key", name="uq_feed_item_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="feed_source.id", index=True)
    key: str = Field(max_length=64)  # sha256 of the identity (guid, link or content)
    guid: str = Field(default="", max_length=1000)  # raw, as the source sent it
    title: str = Field(default="", max_length=1000)
    link: str = Field(default="", max_length=2000)  # http(s) only, else empty
    summary_html: str = ""  # sanitized once on ingest
    author: str = Field(default="", max_length=300)
    image_url: str = Field(default="", max_length=2000)
    enclosures: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # as claimed
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    content_hash: str = Field(max_length=64)
    revisions: int = 0
    status: ItemStatus = Field(default=ItemStatus.PENDING, sa_type=enum_type(ItemStatus))
    pinned: bool = False
    topic: str = Field(default="", max_length=40)
    link_key: str = Field(default="", max_length=64, index=True)  # normalised link hash
    title_key: str = Field(default="", max_length=64, index=True)  # normalised title hash
    story_key: str = Field(default="", max_length=64, index=True)
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str = ""


class SourceDraft(CleanInput):
    """What the form, the CLI or an OPML import submits for a source."""

    name: str
    url: str
    publisher: str = ""
    language: str = "pt"
    topics: str = ""
    trust: TrustTier = TrustTier.ALLOWED
    interval_minutes: int = DEFAULT_INTERVAL_MINUTES
    attribution: str = ""
    enabled: bool = True


class SourceHealth(BaseModel):
    """One row of the staff feed-health table."""

    id: int
    name: str
    url: str
    trust: TrustTier
    enabled: bool
    version: int
    outcome: Outcome
    message: str  # the last problem as a sentence, or ""
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime | None
    items_last_24h: int
    consecutive_failures: int


class FetchSummary(BaseModel):
    """What one poll of one source did (printed by the CLI, shown after 'refresh now')."""

    source_id: int
    source_name: str
    outcome: Outcome
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    message: str = ""
    skipped: bool = False  # another scheduler held the lease


class ReviewItem(BaseModel):
    """An item as the staff review queue shows it."""

    id: int
    version: int
    source_name: str
    trust: TrustTier
    title: str
    link: str
    summary_html: str
    first_seen_at: datetime
    published_at: datetime | None
    status: ItemStatus
    pinned: bool
    topic: str


class StorySourcePublic(BaseModel):
    name: str
    attribution: str
    link: str


class StoryPublic(BaseModel):
    """One story as the public sees it: shown once, with every source that carried it."""

    title: str
    link: str
    summary_html: str
    topic: str  # a key from the topic rules ("health"); "" for none
    pinned: bool
    first_seen_at: datetime
    published_at: datetime | None
    sources: list[StorySourcePublic]
    topic_label: str = ""  # the topic's name in the reader's language, when read
