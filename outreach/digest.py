"""The daily digest of changes per subscription, and immediate mail for urgent items.

``run_digest`` runs on every scheduler tick and does nothing before HUB_DIGEST_HOUR,
Lisbon time. After it, it walks the active subscriptions not yet covered up to today's
digest time, in batches of ``BATCH`` by id (memory stays flat however many there are):
for each, what was published or changed for its area and topic since its last digest;
if anything, one outbox message, written with a ``DigestSent`` row in the same
transaction. That row's primary key (subscription, day) refuses a second one, so a
digest is enqueued at most once per address, whatever runs twice or in parallel; the
outbox sends it at least once. The changes of an area are read once per run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, or_, select, update

from answers.directory import list_public_measures
from geo.areas import area_hierarchy, area_names
from hub import outbox, settings
from hub.audit import record_change
from hub.auth import Principal, require_staff
from hub.errors import InvalidInput
from hub.i18n import _, get_language, set_language
from hub.records import utcnow
from initiatives.queries import RegistryFilter, list_public
from outreach.delivery import sms_enabled
from outreach.models import (
    DigestSent,
    Subscription,
    SubscriptionChannel,
    SubscriptionState,
    SubscriptionTopic,
)
from outreach.sms import MAX_SEGMENTS, segment_count
from outreach.subscriptions import EMAIL_KIND, SMS_KIND

LISBON = ZoneInfo("Europe/Lisbon")
BATCH = 1000
MAX_ITEMS = 30


@dataclass(frozen=True)
class Change:
    title: str
    detail: str
    url: str


def digest_time(now: datetime) -> datetime:
    """Today's digest moment (HUB_DIGEST_HOUR in Lisbon) as UTC."""
    hour = int(settings.get("HUB_DIGEST_HOUR"))
    if not 0 <= hour <= 23:
        raise InvalidInput(_("HUB_DIGEST_HOUR: use an hour from 0 to 23."), field="HUB_DIGEST_HOUR")
    local_day = now.astimezone(LISBON).date()
    return datetime.combine(local_day, time(hour), tzinfo=LISBON).astimezone(UTC)


class AreaChanges:
    """What changed per (area, topic) between two moments, read once per run."""

    def __init__(self, session: Session, until: datetime) -> None:
        self.session = session
        self.until = until
        self.parents = area_hierarchy(session=session)
        self.names = area_names(session=session)
        self.base = settings.public_base_url()
        self._offers: dict[tuple[str, datetime | None], list[Change]] = {}
        self._measures: dict[datetime | None, list[Change]] = {}

    def chain(self, code: str) -> list[str]:
        chain: list[str] = []
        current: str | None = code
        while current and current not in chain:
            chain.append(current)
            current = self.parents.get(current)
        return chain

    def offers(self, area_code: str, since: datetime | None) -> list[Change]:
        key = (area_code, since)
        if key not in self._offers:
            initiatives, _total = list_public(
                session=self.session,
                filters=RegistryFilter(
                    areas_any=self.chain(area_code), in_force_on=self.until.date()
                ),
                limit=MAX_ITEMS,
            )
            self._offers[key] = [
                Change(
                    title=i.title,
                    detail=i.organisation,
                    url=f"{self.base}initiatives/{quote(i.code, safe='')}",
                )
                for i in initiatives
                if (since is None or i.updated_at > since) and i.updated_at <= self.until
            ]
        return self._offers[key]

    def measures(self, since: datetime | None) -> list[Change]:
        if since not in self._measures:
            self._measures[since] = [
                Change(title=m.title, detail=m.summary[:140], url=f"{self.base}measures/{m.id}")
                for m in list_public_measures(
                    session=self.session, on=self.until.date(), limit=MAX_ITEMS
                )
                if (since is None or m.updated_at > since) and m.updated_at <= self.until
            ]
        return self._measures[since]

    def for_subscription(self, subscription: Subscription) -> list[Change]:
        since = subscription.covered_until
        changes: list[Change] = []
        if subscription.topic in {SubscriptionTopic.ALL, SubscriptionTopic.OFFERS}:
            changes += self.offers(subscription.area_code, since)
        if subscription.topic in {SubscriptionTopic.ALL, SubscriptionTopic.MEASURES}:
            changes += self.measures(since)
        return changes[:MAX_ITEMS]


def _in_language(language: str, build: Callable[[], dict[str, str]]) -> dict[str, str]:
    previous = get_language()
    set_language(language)
    try:
        return build()
    finally:
        set_language(previous)


def email_payload(subscription: Subscription, area: str, changes: list[Change]) -> dict[str, str]:
    def build() -> dict[str, str]:
        lines = [
            _("What changed for {area} since the last message:").format(area=area),
            "",
        ]
        for change in changes:
            lines += [f"* {change.title}"]
            lines += [f"  {change.detail}"] if change.detail else []
            lines += [f"  {change.url}", ""]
        return {
            "subject": _("Updates for {area}: {n}").format(area=area, n=len(changes)),
            "body": "\n".join(lines),
            "unsubscribe_text": _("To stop these messages, open:"),
        }

    return _in_language(subscription.language, build)


def sms_payload(subscription: Subscription, area: str, changes: list[Change]) -> dict[str, str]:
    def build() -> dict[str, str]:
        header = _("News for {area}:").format(area=area)
        footer = _("INFO {area} for more. STOP to stop.").format(area=area)
        text = header
        for change in changes:  # whole titles only, the footer always fits
            if segment_count(f"{text}\n{change.title}\n{footer}") > MAX_SEGMENTS:
                break
            text = f"{text}\n{change.title}"
        return {"text": f"{text}\n{footer}"}

    return _in_language(subscription.language, build)


def claim_digests(*, session: Session, subscription_ids: list[int], digest: str) -> set[int]:
    """Insert a (subscription, digest) row for each id unless it exists, in one
    statement; the ids this call inserted (a second run, or a parallel one, gets none).
    RETURNING, not rowcount: psycopg reports no row count for ON CONFLICT DO NOTHING."""
    if not subscription_ids:
        return set()
    insert = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )(DigestSent)
    created = utcnow()
    rows = [
        {"subscription_id": i, "digest": digest, "created_at": created} for i in subscription_ids
    ]
    claimed = session.execute(
        insert.values(rows).on_conflict_do_nothing().returning(col(DigestSent.subscription_id))
    ).all()
    return {row[0] for row in claimed}


class Payloads:
    """One message text per (area, topic, language, channel, since): the subscribers of
    one area get the same digest, built once per run."""

    def __init__(self, changes: AreaChanges) -> None:
        self.changes = changes
        self._built: dict[tuple[object, ...], dict[str, str]] = {}

    def of(self, subscription: Subscription, found: list[Change]) -> tuple[str, dict[str, str]]:
        area = self.changes.names.get(subscription.area_code, subscription.area_code)
        key = (
            subscription.area_code,
            subscription.topic,
            subscription.language,
            subscription.channel,
            subscription.covered_until,
            tuple(found),
        )
        if key not in self._built:
            self._built[key] = (
                email_payload(subscription, area, found)
                if subscription.channel is SubscriptionChannel.EMAIL
                else sms_payload(subscription, area, found)
            )
        kind = EMAIL_KIND if subscription.channel is SubscriptionChannel.EMAIL else SMS_KIND
        return kind, self._built[key]


def enqueue_messages(
    *,
    session: Session,
    subscriptions: list[tuple[Subscription, list[Change]]],
    digest: str,
    payloads: Payloads,
) -> list[Subscription]:
    """One message per subscription with changes, at most once per ``digest``: the
    claim rows (one statement) and the outbox messages are added to the caller's
    transaction. The subscriptions a message was enqueued for."""
    wanted = [
        (s, found)
        for s, found in subscriptions
        if found and (s.channel is SubscriptionChannel.EMAIL or sms_enabled())
    ]
    claimed = claim_digests(
        session=session, subscription_ids=[s.id or 0 for s, _f in wanted], digest=digest
    )
    enqueued = []
    for subscription, found in wanted:
        if subscription.id not in claimed:
            continue
        kind, payload = payloads.of(subscription, found)
        outbox.enqueue(
            session=session,
            kind=kind,
            key=f"{digest}:{subscription.id}",
            payload={"subscription_id": subscription.id, **payload},
        )
        enqueued.append(subscription)
    return enqueued


def run_digest(*, session: Session, now: datetime | None = None) -> int:
    """The digest of the day if it is due; how many messages were enqueued."""
    now = now or utcnow()
    due = digest_time(now)
    if now < due:
        return 0
    day = due.astimezone(LISBON).date().isoformat()
    changes = AreaChanges(session, due)
    payloads = Payloads(changes)
    enqueued = 0
    last_id = 0
    while True:
        batch = session.exec(
            select(Subscription)
            .where(
                col(Subscription.state) == SubscriptionState.ACTIVE,
                col(Subscription.id) > last_id,
                or_(
                    col(Subscription.covered_until).is_(None),
                    col(Subscription.covered_until) < due,
                ),
            )
            .order_by(col(Subscription.id))
            .limit(BATCH)
        ).all()
        if not batch:
            break
        found = [(subscription, changes.for_subscription(subscription)) for subscription in batch]
        for subscription in enqueue_messages(
            session=session, subscriptions=found, digest=day, payloads=payloads
        ):
            subscription.last_activity_at = now
            enqueued += 1
        ids = [s.id for s in batch]
        last_id = max(i or 0 for i in ids)
        session.execute(
            update(Subscription)
            .where(col(Subscription.id).in_(ids))
            .values(covered_until=due)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        session.expunge_all()  # memory stays flat over any number of batches
    return enqueued


def send_urgent(
    *,
    session: Session,
    actor: Principal | None,
    area_code: str,
    title: str,
    url: str,
    key: str,
) -> int:
    """An item staff mark urgent: one message now to every subscriber of the area (and
    of the district containing it), at most once per ``key``; commits."""
    actor = require_staff(actor)
    parents = area_hierarchy(session=session)
    if area_code not in parents:
        raise InvalidInput(
            _("Area: choose a district or a municipality from the list."), field="area"
        )
    codes = [area_code] + [p for p in [parents.get(area_code)] if p]
    change = Change(title=title, detail="", url=url)
    subscribers = session.exec(
        select(Subscription).where(
            col(Subscription.state) == SubscriptionState.ACTIVE,
            col(Subscription.area_code).in_(codes),
        )
    ).all()
    sent = len(
        enqueue_messages(
            session=session,
            subscriptions=[(s, [change]) for s in subscribers],
            digest=f"urgent:{key}"[:40],
            payloads=Payloads(AreaChanges(session, utcnow())),
        )
    )
    record_change(  # who sent what to how many; never an address
        session=session,
        actor=actor,
        action="send_urgent",
        entity_type="outreach_urgent",
        entity_id=key[:40],
        after={"area_code": area_code, "title": title, "url": url, "messages": sent},
    )
    session.commit()
    return sent


def digest_day(now: datetime) -> date:
    return digest_time(now).astimezone(LISBON).date()


def first_digest_after(now: datetime) -> datetime:
    due = digest_time(now)
    return due if now < due else digest_time(now + timedelta(days=1))
