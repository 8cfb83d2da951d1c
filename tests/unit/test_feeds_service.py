"""Feed sources, ingest and review on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from feeds.models import (
    FeedItem,
    FeedSource,
    FeedState,
    ItemStatus,
    SourceDraft,
    TrustTier,
)
from feeds.parse import parse_feed
from feeds.service import (
    create_source,
    export_opml,
    hide_item,
    import_opml,
    list_items,
    list_public_stories,
    pin_item,
    publish_item,
    remove_item,
    set_item_topic,
    set_source_enabled,
    source_health,
    update_source,
)
from feeds.store import ingest_entries
from feeds.topics import load_topics
from hub.audit import AuditEntry
from hub.auth import Role
from hub.errors import InvalidInput, PermissionDenied, StaleRecord
from hub.records import utcnow
from tests.factories import make_principal

URL = "https://www.dgs.pt/feed.xml"


def draft(**overrides: object) -> SourceDraft:
    values: dict[str, object] = {"name": "DGS", "url": URL, "trust": TrustTier.TRUSTED}
    values.update(overrides)
    return SourceDraft(**values)  # type: ignore[arg-type]


def rss(items: str) -> bytes:
    return f'<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def ingest(session: Session, source: FeedSource, body: bytes, *, at: object = None) -> object:
    counts = ingest_entries(
        session=session,
        source=source,
        entries=parse_feed(body, url=source.url).entries,
        topics=load_topics(),
        now=at or utcnow(),  # type: ignore[arg-type]
    )
    session.commit()
    return counts


def items(session: Session, source: FeedSource) -> list[FeedItem]:
    session.expire_all()
    return list(session.exec(select(FeedItem).where(FeedItem.source_id == source.id)).all())


# --- sources --------------------------------------------------------------------


def test_staff_register_source_audited_with_state(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    source = create_source(session=session, actor=staff, draft=draft(topics="health"))
    assert session.get(FeedState, source.id) is not None
    entry = session.exec(select(AuditEntry).where(AuditEntry.entity_type == "feed_source")).one()
    assert entry.action == "create" and entry.actor_label == staff.label


def test_partners_may_not_manage_sources_or_items(session: Session) -> None:
    partner = make_principal(session, role=Role.PARTNER)
    with pytest.raises(PermissionDenied):
        create_source(session=session, actor=partner, draft=draft())
    with pytest.raises(PermissionDenied):
        list_items(session=session, actor=partner)
    with pytest.raises(PermissionDenied):
        source_health(session=session, actor=None)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": ""}, "url"),
        ({"interval_minutes": 5}, "interval_minutes"),
        ({"name": "  "}, "name"),
        ({"topics": "nonsense"}, "topics"),
        ({"language": "p t!"}, "language"),
    ],
)
def test_source_validation_names_the_field(
    session: Session, overrides: dict[str, object], field: str
) -> None:
    staff = make_principal(session, role=Role.STAFF)
    with pytest.raises(InvalidInput) as caught:
        create_source(session=session, actor=staff, draft=draft(**overrides))
    assert caught.value.field == field


def test_names_unique_and_stale_edits_refused(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    source = create_source(session=session, actor=staff, draft=draft())
    with pytest.raises(InvalidInput):
        create_source(session=session, actor=staff, draft=draft(name="dgs", url=URL + "?2"))
    update_source(
        session=session,
        actor=staff,
        source_id=source.id or 0,
        draft=draft(interval_minutes=60),
        expected_version=1,
    )
    with pytest.raises(StaleRecord):
        set_source_enabled(
            session=session,
            actor=staff,
            source_id=source.id or 0,
            enabled=False,
            expected_version=1,
        )


def test_opml_round_trip(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    create_source(session=session, actor=staff, draft=draft(attribution="Fonte: DGS"))
    create_source(
        session=session,
        actor=staff,
        draft=draft(name="Governo", url="https://www.portugal.gov.pt/rss", trust=TrustTier.ALLOWED),
    )
    exported = export_opml(session=session, actor=staff)
    session.exec(select(FeedSource)).all()
    report = import_opml(
        session=session, actor=staff, data=exported, default_trust=TrustTier.ALLOWED
    )
    assert sorted(report.skipped) == ["DGS", "Governo"] and report.added == []
    fresh_data = exported.replace(b"DGS", b"DGS 2").replace(b"feed.xml", b"other.xml")
    report = import_opml(
        session=session, actor=staff, data=fresh_data, default_trust=TrustTier.BLOCKED
    )
    assert report.added == ["DGS 2"]
    added = session.exec(select(FeedSource).where(FeedSource.name == "DGS 2")).one()
    assert added.trust is TrustTier.TRUSTED and added.attribution == "Fonte: DGS 2"


def test_opml_with_entities_is_refused(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>'
    with pytest.raises(InvalidInput):
        import_opml(session=session, actor=staff, data=bomb, default_trust=TrustTier.ALLOWED)


# --- ingest -------------------------------------------------------------------------


def test_revision_updates_in_place_and_tombstone_never_returns(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    source = create_source(session=session, actor=staff, draft=draft())
    ingest(
        session,
        source,
        rss(
            "<item><title>First title</title><guid>1</guid></item>"
            "<item><title>Other</title><guid>2</guid></item>"
        ),
    )
    ingest(
        session,
        source,
        rss(
            "<item><title>Revised title</title><guid>1</guid></item>"
            "<item><title>Other</title><guid>2</guid></item>"
        ),
    )
    stored = {i.guid: i for i in items(session, source)}
    assert len(stored) == 2
    assert stored["1"].title == "Revised title" and stored["1"].revisions == 1
    assert stored["1"].version == 2
    remove_item(session=session, actor=staff, item_id=stored["2"].id or 0, expected_version=1)
    counts = ingest(session, source, rss("<item><title>Other, edited</title><guid>2</guid></item>"))
    assert counts.ignored == 1  # type: ignore[attr-defined]
    again = {i.guid: i for i in items(session, source)}
    assert again["2"].status is ItemStatus.REMOVED and again["2"].title == "Other"


def test_trust_tier_decides_publication(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    allowed = create_source(session=session, actor=staff, draft=draft(trust=TrustTier.ALLOWED))
    ingest(session, allowed, rss("<item><title>Wait for review</title><guid>1</guid></item>"))
    [item] = items(session, allowed)
    assert item.status is ItemStatus.PENDING
    assert list_public_stories(session=session) == []
    queue = list_items(session=session, actor=staff, trust=[TrustTier.ALLOWED])
    assert [q.title for q in queue] == ["Wait for review"]
    publish_item(session=session, actor=staff, item_id=item.id or 0, expected_version=1)
    assert [s.title for s in list_public_stories(session=session)] == ["Wait for review"]


def test_revised_item_from_reviewed_source_waits_for_review_again(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    allowed = create_source(session=session, actor=staff, draft=draft(trust=TrustTier.ALLOWED))
    ingest(
        session,
        allowed,
        rss(
            "<item><title>Centro de vacinação aberto</title><guid>1</guid></item>"
            "<item><title>Outra</title><guid>2</guid></item>"
        ),
    )
    first, second = sorted(items(session, allowed), key=lambda i: i.guid)
    publish_item(session=session, actor=staff, item_id=first.id or 0, expected_version=1)
    hide_item(session=session, actor=staff, item_id=second.id or 0, expected_version=1)
    ingest(
        session,
        allowed,
        rss(
            "<item><title>Centro de vacinação fechado</title><guid>1</guid></item>"
            "<item><title>Outra, revista</title><guid>2</guid></item>"
        ),
    )
    revised = {i.guid: i for i in items(session, allowed)}
    assert revised["1"].status is ItemStatus.PENDING and revised["1"].revisions == 1
    assert revised["2"].status is ItemStatus.HIDDEN
    assert list_public_stories(session=session) == []
    # A trusted source's revision stays published.
    trusted = create_source(session=session, actor=staff, draft=draft(name="Gov", url=URL + "?2"))
    ingest(session, trusted, rss("<item><title>Aviso</title><guid>9</guid></item>"))
    ingest(session, trusted, rss("<item><title>Aviso corrigido</title><guid>9</guid></item>"))
    [kept] = items(session, trusted)
    assert kept.status is ItemStatus.PUBLISHED and kept.title == "Aviso corrigido"


def test_review_actions_are_audited_and_versioned(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    source = create_source(session=session, actor=staff, draft=draft())
    ingest(session, source, rss("<item><title>Escolas reabrem amanhã</title><guid>1</guid></item>"))
    [item] = items(session, source)
    assert item.topic == "education"  # keyword rule, Portuguese
    pin_item(session=session, actor=staff, item_id=item.id or 0, pinned=True, expected_version=1)
    set_item_topic(
        session=session, actor=staff, item_id=item.id or 0, topic="health", expected_version=2
    )
    with pytest.raises(StaleRecord):
        hide_item(session=session, actor=staff, item_id=item.id or 0, expected_version=1)
    with pytest.raises(InvalidInput):
        set_item_topic(
            session=session, actor=staff, item_id=item.id or 0, topic="x", expected_version=3
        )
    hide_item(session=session, actor=staff, item_id=item.id or 0, expected_version=3)
    actions = session.exec(
        select(AuditEntry.action).where(AuditEntry.entity_type == "feed_item")
    ).all()
    assert sorted(actions) == ["hide", "pin", "set_topic"]
    assert list_public_stories(session=session) == []


def test_same_story_from_two_sources_shown_once_with_both(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    dgs = create_source(session=session, actor=staff, draft=draft(attribution="Fonte: DGS"))
    gov = create_source(
        session=session,
        actor=staff,
        draft=draft(name="Governo", url="https://www.portugal.gov.pt/rss"),
    )
    blocked = create_source(
        session=session,
        actor=staff,
        draft=draft(name="Blocked", url="https://blocked.example.pt/rss", trust=TrustTier.BLOCKED),
    )
    start = utcnow() - timedelta(hours=2)
    ingest(
        session,
        dgs,
        rss(
            "<item><title>Estado de emergência: novas regras de circulação</title><guid>d1</guid>"
            "<link>https://www.portugal.gov.pt/n/1?utm_source=rss</link></item>"
            "<item><title>Linha SNS 24 reforçada hoje mesmo</title><guid>d2</guid></item>"
        ),
        at=start,
    )
    ingest(
        session,
        gov,
        rss(
            "<item><title>ESTADO DE EMERGÊNCIA — novas regras de circulação!</title>"
            "<guid>g1</guid></item>"
            "<item><title>Apoio às empresas prolongado até junho</title><guid>g2</guid>"
            "<link>http://portugal.gov.pt/n/1/</link></item>"
        ),
        at=start + timedelta(hours=1),
    )
    ingest(
        session, blocked, rss("<item><title>Never shown at all here</title><guid>b</guid></item>")
    )
    stories = list_public_stories(session=session)
    titles = [s.title for s in stories]
    assert "Never shown at all here" not in titles
    emergency = next(s for s in stories if s.title.startswith("Estado"))
    assert sorted(x.name for x in emergency.sources) == ["DGS", "Governo"]
    assert emergency.first_seen_at == start
    assert (emergency.topic, emergency.topic_label) == ("measures", "Measures in force")
    assert len(stories) == 2  # same link (tracking/www/slash aside) and same title grouped
    assert stories[0].first_seen_at >= stories[1].first_seen_at
    assert set(stories[0].model_dump()) == {
        "title",
        "link",
        "summary_html",
        "topic",
        "pinned",
        "first_seen_at",
        "published_at",
        "sources",
        "topic_label",
    }


def test_future_dates_clamped_and_sorting_by_first_seen(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    source = create_source(session=session, actor=staff, draft=draft())
    now = utcnow()
    ingest(
        session,
        source,
        rss(
            "<item><title>Claims 2099 for itself</title><guid>f</guid>"
            "<pubDate>Thu, 01 Jan 2099 00:00:00 GMT</pubDate></item>"
        ),
        at=now - timedelta(hours=1),
    )
    ingest(
        session,
        source,
        rss("<item><title>Seen later, no date</title><guid>n</guid></item>"),
        at=now,
    )
    stories = list_public_stories(session=session)
    assert [s.title for s in stories] == ["Seen later, no date", "Claims 2099 for itself"]
    assert stories[1].published_at is not None and stories[1].published_at <= now


def test_health_counts_items_of_the_last_day(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    source = create_source(session=session, actor=staff, draft=draft())
    ingest(
        session,
        source,
        rss("<item><title>Old one</title><guid>o</guid></item>"),
        at=utcnow() - timedelta(days=2),
    )
    ingest(session, source, rss("<item><title>New one</title><guid>n</guid></item>"))
    [row] = source_health(session=session, actor=staff)
    assert row.items_last_24h == 1 and row.message == "" and row.consecutive_failures == 0
