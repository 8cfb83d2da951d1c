"""What staff see of the offline channels per area: the offers that reach people without
internet, by channel; the subscribers; what was asked by SMS; and for the outreach page
the subscribers per area, the last digest and the urgent notices sent. Numbers only: no
address, no message text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from geo.areas import area_names
from hub.audit import AuditEntry
from hub.auth import Principal, require_staff
from hub.records import utcnow
from initiatives.models import Channel
from outreach.leaflets import OFFLINE_CHANNELS, gather_leaflet
from outreach.models import (
    DigestSent,
    SmsCount,
    Subscription,
    SubscriptionChannel,
    SubscriptionState,
)

SMS_DAYS = 30


@dataclass(frozen=True)
class OfflineReach:
    area_code: str
    by_channel: dict[Channel, int]  # offers in force reaching the area, per offline channel
    offline_offers: int  # offers with at least one offline channel
    subscribers: int  # active subscriptions (e-mail and SMS)
    sms_by_keyword: dict[str, int]  # INFO / SEGUIR about this area, last SMS_DAYS days
    sms_all: dict[tuple[str, str], int]  # every (keyword, area), last SMS_DAYS days


def offline_reach(
    *, session: Session, actor: Principal | None, area_code: str, today: date | None = None
) -> OfflineReach:
    require_staff(actor)
    today = today or utcnow().date()
    leaflet = gather_leaflet(session=session, area_code=area_code, today=today)
    by_channel = dict.fromkeys(OFFLINE_CHANNELS, 0)
    for offer in leaflet.offers:
        for channel in offer.channels:
            if channel in by_channel:
                by_channel[channel] += 1
    subscribers = session.exec(
        select(func.count()).where(
            col(Subscription.area_code) == area_code,
            col(Subscription.state) == SubscriptionState.ACTIVE,
        )
    ).one()
    sms = sms_counts(session=session, actor=actor, since=today - timedelta(days=SMS_DAYS))
    return OfflineReach(
        area_code=area_code,
        by_channel=by_channel,
        offline_offers=sum(1 for o in leaflet.offers if not o.online_only),
        subscribers=int(subscribers),
        sms_by_keyword={k: n for (k, code), n in sms.items() if code == area_code},
        sms_all=sms,
    )


def sms_counts(
    *, session: Session, actor: Principal | None, since: date
) -> dict[tuple[str, str], int]:
    """Messages per (keyword, area code) since ``since`` ("" for no area)."""
    require_staff(actor)
    rows = session.exec(
        select(SmsCount.keyword, SmsCount.area_code, func.sum(SmsCount.count))
        .where(col(SmsCount.day) >= since)
        .group_by(col(SmsCount.keyword), col(SmsCount.area_code))
    ).all()
    return {(keyword, code): int(total or 0) for keyword, code, total in rows}


URGENT_LIMIT = 20


@dataclass(frozen=True)
class AreaSubscribers:
    area_code: str
    area_name: str
    email: int
    sms: int
    pending: int  # not confirmed yet (double opt-in)


@dataclass(frozen=True)
class UrgentSent:
    at: datetime
    by: str
    area_code: str
    title: str
    messages: int


@dataclass(frozen=True)
class OutreachOverview:
    subscribers: list[AreaSubscribers]  # areas with any subscription, most first
    last_digest: str | None  # "2026-12-02": the last daily digest enqueued
    last_digest_at: datetime | None
    last_digest_messages: int
    sms_by_keyword: dict[str, int]  # every area, last SMS_DAYS days
    urgent: list[UrgentSent]  # the last URGENT_LIMIT urgent notices, newest first


def outreach_overview(
    *, session: Session, actor: Principal | None, today: date | None = None
) -> OutreachOverview:
    """What the staff outreach page shows: counts only, never an address or a text."""
    require_staff(actor)
    today = today or utcnow().date()
    names = area_names(session=session)
    per_area: dict[str, dict[str, int]] = {}
    for code, channel, state, n in session.exec(
        select(
            Subscription.area_code, Subscription.channel, Subscription.state, func.count()
        ).group_by(col(Subscription.area_code), col(Subscription.channel), col(Subscription.state))
    ).all():
        row = per_area.setdefault(code, {"email": 0, "sms": 0, "pending": 0})
        if state is SubscriptionState.ACTIVE:
            row["sms" if channel is SubscriptionChannel.SMS else "email"] += int(n)
        else:
            row["pending"] += int(n)
    subscribers = sorted(
        (AreaSubscribers(code, names.get(code, code), **row) for code, row in per_area.items()),
        key=lambda a: (-(a.email + a.sms), a.area_name),
    )
    last = session.exec(
        select(DigestSent.digest, func.max(DigestSent.created_at), func.count())
        .where(col(DigestSent.digest).not_like("urgent:%"))
        .group_by(col(DigestSent.digest))
        .order_by(col(DigestSent.digest).desc())
        .limit(1)
    ).first()
    totals: dict[str, int] = {}
    since = today - timedelta(days=SMS_DAYS)
    for (keyword, _code), n in sms_counts(session=session, actor=actor, since=since).items():
        totals[keyword] = totals.get(keyword, 0) + n
    entries = session.exec(
        select(AuditEntry)
        .where(col(AuditEntry.action) == "send_urgent")
        .order_by(col(AuditEntry.at).desc())
        .limit(URGENT_LIMIT)
    ).all()
    urgent = [
        UrgentSent(
            at=e.at,
            by=e.actor_label,
            area_code=str((e.after or {}).get("area_code", "")),
            title=str((e.after or {}).get("title", "")),
            messages=int((e.after or {}).get("messages", 0)),
        )
        for e in entries
    ]
    return OutreachOverview(
        subscribers=subscribers,
        last_digest=last[0] if last else None,
        last_digest_at=last[1] if last else None,
        last_digest_messages=int(last[2]) if last else 0,
        sms_by_keyword=dict(sorted(totals.items())),
        urgent=urgent,
    )
