"""Feed sources and items: what staff do, and what the public reads.

Staff register, edit, enable and import sources, refresh them, and review items
from "allowed" sources (publish, hide, remove for good, pin, change topic). Every
write is audited in the same transaction. The public read (``list_public_stories``)
returns ``StoryPublic`` only: the same story from several sources once, with all
its sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from feeds import health
from feeds.models import (
    MIN_INTERVAL_MINUTES,
    FeedItem,
    FeedSource,
    FeedState,
    FetchSummary,
    ItemStatus,
    ReviewItem,
    SourceDraft,
    SourceHealth,
    StoryPublic,
    StorySourcePublic,
    TrustTier,
)
from feeds.opml import read_opml, write_opml
from feeds.topics import topic_keys, topic_label
from feeds.worker import Progress, poll_sources
from hub.audit import record_change, snapshot
from hub.auth import Principal, require_staff
from hub.clean import cleaned
from hub.errors import InvalidInput, NotFound
from hub.i18n import _
from hub.records import check_version, save_record, utcnow
from hub.urls import safe_http_url

MAX_INTERVAL_MINUTES = 24 * 60

# --- sources ------------------------------------------------------------------------


def clean_feed_url(raw: str) -> str:
    value = raw.strip()
    url = safe_http_url(value, assume_https=False) if value else None
    if url is None:
        raise InvalidInput(
            _(
                "Feed URL: enter the full address of the feed, starting with https:// "
                "(for example https://www.dgs.pt/rss.xml)."
            ),
            field="url",
        )
    return url


def validate_source(draft: SourceDraft) -> SourceDraft:
    draft = cleaned(draft)
    name = " ".join(draft.name.split())
    if not name:
        raise InvalidInput(_("Name: the source needs a name."), field="name")
    if len(name) > 200:
        raise InvalidInput(_("Name: use at most 200 characters."), field="name")
    if not MIN_INTERVAL_MINUTES <= draft.interval_minutes <= MAX_INTERVAL_MINUTES:
        raise InvalidInput(
            _("Poll interval: choose between {low} and {high} minutes.").format(
                low=MIN_INTERVAL_MINUTES, high=MAX_INTERVAL_MINUTES
            ),
            field="interval_minutes",
        )
    language = draft.language.strip().lower()
    if not language or len(language) > 8 or not language.replace("-", "").isalpha():
        raise InvalidInput(_("Language: use a code such as pt or en."), field="language")
    known = set(topic_keys())
    topics = [t.strip() for t in draft.topics.split(",") if t.strip()]
    unknown = [t for t in topics if t not in known]
    if unknown:
        raise InvalidInput(
            _("Topics: unknown topic {topic}; use one of {known}.").format(
                topic=unknown[0], known=", ".join(sorted(known))
            ),
            field="topics",
        )
    if len(draft.attribution.strip()) > 500:
        raise InvalidInput(_("Attribution: use at most 500 characters."), field="attribution")
    if len(draft.publisher.strip()) > 200:
        raise InvalidInput(_("Publisher: use at most 200 characters."), field="publisher")
    return draft.model_copy(
        update={
            "name": name,
            "url": clean_feed_url(draft.url),
            "publisher": draft.publisher.strip(),
            "language": language,
            "topics": ",".join(topics),
            "attribution": draft.attribution.strip(),
        }
    )


def _name_taken(session: Session, name: str, *, except_id: int | None = None) -> bool:
    query = select(FeedSource.id).where(func.lower(FeedSource.name) == name.lower())
    if except_id is not None:
        query = query.where(FeedSource.id != except_id)
    return session.exec(query).first() is not None


def _duplicate(name: str) -> InvalidInput:
    return InvalidInput(
        _("Name: a source called '{name}' already exists.").format(name=name), field="name"
    )


def _add_source(session: Session, actor: Principal | None, draft: SourceDraft) -> FeedSource:
    source = FeedSource(**draft.model_dump(), updated_by=actor.label if actor else "system")
    session.add(source)
    session.flush()
    assert source.id is not None
    session.add(FeedState(source_id=source.id))
    record_change(
        session=session,
        actor=actor,
        action="create",
        entity_type="feed_source",
        entity_id=source.id,
        after=snapshot(source),
    )
    return source


def create_source(*, session: Session, actor: Principal | None, draft: SourceDraft) -> FeedSource:
    require_staff(actor)
    draft = validate_source(draft)
    if _name_taken(session, draft.name):
        raise _duplicate(draft.name)
    try:
        source = _add_source(session, actor, draft)
    except IntegrityError:
        session.rollback()
        raise _duplicate(draft.name) from None
    session.commit()
    return source


def update_source(
    *,
    session: Session,
    actor: Principal | None,
    source_id: int,
    draft: SourceDraft,
    expected_version: int,
) -> FeedSource:
    require_staff(actor)
    assert actor is not None
    source = get_source(session=session, source_id=source_id)
    check_version(source, expected_version)
    draft = validate_source(draft)
    if _name_taken(session, draft.name, except_id=source_id):
        raise _duplicate(draft.name)
    before = snapshot(source)
    url_changed = draft.url != source.url
    for name, value in draft.model_dump().items():
        setattr(source, name, value)
    if url_changed:
        # A new address: forget the old validators and poll it at the next tick.
        state = session.get(FeedState, source_id)
        if state is not None:
            state.etag = state.last_modified = state.moved_to = ""
            state.next_poll_at = None
    return save_record(
        session=session,
        actor=actor,
        record=source,
        action="update",
        entity_type="feed_source",
        before=before,
    )


def set_source_enabled(
    *,
    session: Session,
    actor: Principal | None,
    source_id: int,
    enabled: bool,
    expected_version: int,
) -> FeedSource:
    require_staff(actor)
    assert actor is not None
    source = get_source(session=session, source_id=source_id)
    check_version(source, expected_version)
    before = snapshot(source)
    source.enabled = enabled
    return save_record(
        session=session,
        actor=actor,
        record=source,
        action="enable" if enabled else "disable",
        entity_type="feed_source",
        before=before,
    )


def get_source(*, session: Session, source_id: int) -> FeedSource:
    source = session.get(FeedSource, source_id, populate_existing=True)
    if source is None:
        raise NotFound(_("That feed source does not exist."))
    return source


def find_source(*, session: Session, name: str) -> FeedSource:
    source = session.exec(
        select(FeedSource).where(func.lower(FeedSource.name) == name.strip().lower())
    ).first()
    if source is None:
        raise NotFound(
            _("No feed source is called '{name}'. See `python -m hub sources list`.").format(
                name=name
            )
        )
    return source


def list_sources(*, session: Session) -> list[FeedSource]:
    return list(session.exec(select(FeedSource).order_by(func.lower(FeedSource.name))).all())


def source_health(*, session: Session, actor: Principal | None) -> list[SourceHealth]:
    """The health table: one row per source, problems as sentences."""
    require_staff(actor)
    since = utcnow() - timedelta(hours=24)
    recent: dict[int, int] = {
        int(source_id): int(count)
        for source_id, count in session.exec(
            select(col(FeedItem.source_id), func.count())
            .where(col(FeedItem.first_seen_at) >= since)
            .group_by(col(FeedItem.source_id))
        ).all()
    }
    rows = session.exec(
        select(FeedSource, FeedState)
        .join(FeedState, col(FeedState.source_id) == col(FeedSource.id))
        .order_by(func.lower(FeedSource.name))
    ).all()
    return [
        SourceHealth(
            id=int(source.id or 0),
            name=source.name,
            url=source.url,
            trust=source.trust,
            enabled=source.enabled,
            version=source.version,
            outcome=state.outcome,
            message=health.describe(state.problem, state.problem_detail)
            + (
                " " + _("The feed moved permanently to {url}.").format(url=state.moved_to)
                if state.moved_to
                else ""
            ),
            last_attempt_at=state.last_attempt_at,
            last_success_at=state.last_success_at,
            next_poll_at=state.next_poll_at,
            items_last_24h=recent.get(int(source.id or 0), 0),
            consecutive_failures=state.consecutive_failures,
        )
        for source, state in rows
    ]


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already there (same name or URL)
    refused: list[str] = field(default_factory=list)  # "name: why"


def import_opml(
    *, session: Session, actor: Principal | None, data: bytes, default_trust: TrustTier
) -> ImportReport:
    """Add every outline not yet registered (by name or URL); one transaction."""
    require_staff(actor)
    report = ImportReport()
    names = {s.name.lower() for s in list_sources(session=session)}
    urls = {s.url for s in list_sources(session=session)}
    for outline in read_opml(data, default_trust=default_trust):
        try:
            draft = validate_source(outline.draft)
        except InvalidInput as err:
            report.refused.append(f"{outline.line}: {err}")
            continue
        if draft.name.lower() in names or draft.url in urls:
            report.skipped.append(draft.name)
            continue
        _add_source(session, actor, draft)
        names.add(draft.name.lower())
        urls.add(draft.url)
        report.added.append(draft.name)
    session.commit()
    return report


def export_opml(*, session: Session, actor: Principal | None) -> bytes:
    require_staff(actor)
    return write_opml(list_sources(session=session), title="Hub feed sources")


def refresh_now(
    *,
    engine: Engine,
    actor: Principal | None,
    source_ids: Iterable[int] | None = None,
    progress: Progress | None = None,
) -> list[FetchSummary]:
    """Poll sources at once (all enabled ones when ``source_ids`` is None), whether
    due or not. A source another scheduler is polling right now is skipped."""
    require_staff(actor)
    return poll_sources(engine=engine, source_ids=source_ids, due_only=False, progress=progress)


# --- review ---------------------------------------------------------------------------


def list_items(
    *,
    session: Session,
    actor: Principal | None,
    statuses: Iterable[ItemStatus] = (ItemStatus.PENDING,),
    trust: Iterable[TrustTier] | None = None,
    limit: int = 50,
) -> list[ReviewItem]:
    """Items for the review queue: pinned first, then newest first-seen first."""
    require_staff(actor)
    query = (
        select(FeedItem, FeedSource)
        .join(FeedSource, col(FeedSource.id) == col(FeedItem.source_id))
        .where(col(FeedItem.status).in_(list(statuses)))
        .order_by(col(FeedItem.pinned).desc(), col(FeedItem.first_seen_at).desc(), col(FeedItem.id))
        .limit(limit)
    )
    if trust is not None:
        query = query.where(col(FeedSource.trust).in_(list(trust)))
    return [
        ReviewItem(
            id=int(item.id or 0),
            version=item.version,
            source_name=source.name,
            trust=source.trust,
            title=item.title,
            link=item.link,
            summary_html=item.summary_html,
            first_seen_at=item.first_seen_at,
            published_at=item.published_at,
            status=item.status,
            pinned=item.pinned,
            topic=item.topic,
        )
        for item, source in session.exec(query).all()
    ]


def count_pending(*, session: Session) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(FeedItem).where(FeedItem.status == ItemStatus.PENDING)
        ).one()
    )


def _change_item(
    session: Session,
    actor: Principal | None,
    item_id: int,
    expected_version: int,
    action: str,
    **changes: object,
) -> FeedItem:
    require_staff(actor)
    assert actor is not None
    item = session.get(FeedItem, item_id, populate_existing=True)
    if item is None:
        raise NotFound(_("That feed item does not exist."))
    check_version(item, expected_version)
    if item.status is ItemStatus.REMOVED:
        raise InvalidInput(_("This item was removed for good; it cannot be changed."))
    before = snapshot(item)
    for name, value in changes.items():
        setattr(item, name, value)
    return save_record(
        session=session,
        actor=actor,
        record=item,
        action=action,
        entity_type="feed_item",
        before={k: before[k] for k in changes},
        summary=item.title[:200],
        snapshot_of=lambda saved: {k: snapshot(saved)[k] for k in changes},
    )


def publish_item(
    *, session: Session, actor: Principal | None, item_id: int, expected_version: int
) -> FeedItem:
    return _change_item(
        session, actor, item_id, expected_version, "publish", status=ItemStatus.PUBLISHED
    )


def hide_item(
    *, session: Session, actor: Principal | None, item_id: int, expected_version: int
) -> FeedItem:
    return _change_item(
        session, actor, item_id, expected_version, "hide", status=ItemStatus.HIDDEN, pinned=False
    )


def remove_item(
    *, session: Session, actor: Principal | None, item_id: int, expected_version: int
) -> FeedItem:
    """Remove for good: the row stays as a tombstone so the item never comes back."""
    return _change_item(
        session, actor, item_id, expected_version, "remove", status=ItemStatus.REMOVED, pinned=False
    )


def pin_item(
    *,
    session: Session,
    actor: Principal | None,
    item_id: int,
    pinned: bool,
    expected_version: int,
) -> FeedItem:
    return _change_item(
        session, actor, item_id, expected_version, "pin" if pinned else "unpin", pinned=pinned
    )


def set_item_topic(
    *,
    session: Session,
    actor: Principal | None,
    item_id: int,
    topic: str,
    expected_version: int,
) -> FeedItem:
    if topic and topic not in set(topic_keys()):
        raise InvalidInput(_("Topic: choose one of the configured topics."), field="topic")
    return _change_item(session, actor, item_id, expected_version, "set_topic", topic=topic)


# --- public -------------------------------------------------------------------------


def list_public_stories(*, session: Session, limit: int = 50) -> list[StoryPublic]:
    """Published items from enabled, non-blocked sources grouped per story: pinned
    first, then newest first by when the hub first saw them (never by claimed date)."""
    rows = session.exec(
        select(FeedItem, FeedSource)
        .join(FeedSource, col(FeedSource.id) == col(FeedItem.source_id))
        .where(FeedItem.status == ItemStatus.PUBLISHED)
        .where(col(FeedSource.enabled).is_(True))
        .where(FeedSource.trust != TrustTier.BLOCKED)
        .order_by(col(FeedItem.first_seen_at).desc(), col(FeedItem.id).desc())
        .limit(limit * 4)
    ).all()
    stories: dict[str, StoryPublic] = {}
    for item, source in rows:
        story = stories.get(item.story_key)
        carried = StorySourcePublic(
            name=source.name, attribution=source.attribution, link=item.link
        )
        if story is None:
            stories[item.story_key] = StoryPublic(
                title=item.title,
                link=item.link,
                summary_html=item.summary_html,
                topic=item.topic,
                pinned=item.pinned,
                first_seen_at=item.first_seen_at,
                published_at=item.published_at,
                sources=[carried],
            )
            continue
        if all(s.name != source.name for s in story.sources):
            story.sources.append(carried)
        story.pinned = story.pinned or item.pinned
        if item.first_seen_at < story.first_seen_at:
            # The story is told as its first report told it, and is as old as that.
            story.first_seen_at = item.first_seen_at
            story.title, story.link = item.title, item.link
            story.summary_html, story.published_at = item.summary_html, item.published_at
            story.topic = item.topic
    ordered = sorted(stories.values(), key=lambda s: (not s.pinned, -s.first_seen_at.timestamp()))
    for story in ordered[:limit]:
        story.topic_label = topic_label(story.topic) if story.topic else ""
    return ordered[:limit]
