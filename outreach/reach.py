"""What staff see of the offline channels per area: the offers that reach people without
internet, by channel; the subscribers; what was asked by SMS. Numbers only: no address,
no message text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from hub.auth import Principal, require_staff
from hub.records import utcnow
from initiatives.models import Channel
from outreach.leaflets import OFFLINE_CHANNELS, gather_leaflet
from outreach.models import SmsCount, Subscription, SubscriptionState

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
