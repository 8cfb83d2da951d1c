"""Subscriptions to the changes of an area: e-mail with double opt-in, SMS by keyword.

E-mail: ``subscribe_email`` stores a pending subscription and enqueues the confirmation
mail (outbox, same transaction); the link in it is signed and valid 7 days
(``confirm``). Every later mail carries a signed one-click unsubscribe link
(``unsubscribe``; RFC 8058 headers in outreach.delivery). SMS: ``SEGUIR <concelho>``
is the consent and the subscription starts at once; ``PARAR`` ends every SMS
subscription of that number.

Addresses live only in ``outreach_subscription``: no public shape, export or audit
entry carries them (the audit log is append-only, and an address must be deletable:
subscriptions record what happened to them in counts, not in the log). Unconfirmed
subscriptions are deleted after 7 days and dormant ones after a year (``forget_old``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from answers.ratelimit import Limit, client_key, take_all
from answers.service import RateLimited
from geo.models import Area, AreaLevel
from hub import outbox, settings
from hub.errors import InvalidInput, NotFound
from hub.i18n import _, get_language, set_language
from hub.records import utcnow
from outreach.models import (
    SmsConversation,
    Subscription,
    SubscriptionChannel,
    SubscriptionState,
    SubscriptionTopic,
)
from outreach.signing import keyed_hash, sign, verify

CONFIRM_DAYS = 7
DORMANT_DAYS = 365
UNSUBSCRIBE_DAYS = 800  # an unsubscribe link in an old mail keeps working
CONVERSATION_HOURS = 24
EMAIL_KIND = "outreach.email"
SMS_KIND = "outreach.sms"
PER_CLIENT = Limit(capacity=5, per_hour=10)
PER_ADDRESS = Limit(capacity=2, per_hour=2)  # two confirmation mails, then one an hour
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def address_hash(channel: SubscriptionChannel, address: str) -> str:
    return keyed_hash(f"subscription-{channel.value}", address)


def clean_email(raw: str) -> str:
    value = raw.strip()
    local, _at, domain = value.rpartition("@")
    value = f"{local}@{domain.lower()}" if local else value
    if len(value) > 254 or not _EMAIL.match(value):
        raise InvalidInput(_("E-mail: enter an address like name@example.pt."), field="email")
    return value


def subscribable_area(*, session: Session, area_code: str) -> Area:
    area = session.get(Area, area_code.strip())
    if area is None or area.level is AreaLevel.COUNTRY:
        raise InvalidInput(
            _("Area: choose a district or a municipality from the list."), field="area"
        )
    return area


def public_link(path: str, **params: str) -> str:
    return f"{settings.public_base_url()}{path}?{urlencode(params)}"


def confirm_link(subscription: Subscription) -> str:
    token = sign("confirm", str(subscription.id), valid_seconds=CONFIRM_DAYS * 86400)
    return public_link(
        "subscriptions/confirm", id=str(subscription.id), token=token, lang=subscription.language
    )


def unsubscribe_link(subscription: Subscription) -> str:
    token = sign("unsubscribe", str(subscription.id), valid_seconds=UNSUBSCRIBE_DAYS * 86400)
    return public_link(
        "subscriptions/unsubscribe",
        id=str(subscription.id),
        token=token,
        lang=subscription.language,
    )


def _in_language(language: str, build: object) -> str:
    previous = get_language()
    set_language(language)
    try:
        return str(build() if callable(build) else build)
    finally:
        set_language(previous)


def subscribe_email(
    *,
    session: Session,
    email: str,
    area_code: str,
    topic: SubscriptionTopic = SubscriptionTopic.ALL,
    language: str = "pt",
    client: str = "",
) -> None:
    """Ask for a subscription; the confirmation mail goes out through the outbox.
    ``client`` (hub.clients.rate_limit_identifier) is rate-limited, and so is the
    address: the form cannot be used to flood someone's inbox.

    Whatever the address's state, the caller tells the person to check their inbox, so
    the form never reveals who is subscribed. An active subscription gets no mail.
    """
    address = clean_email(email)
    area = subscribable_area(session=session, area_code=area_code)
    digest = address_hash(SubscriptionChannel.EMAIL, address)
    allowed = take_all(
        session=session,
        buckets=[
            (client_key(f"subscribe|{client}"), PER_CLIENT),
            (client_key(f"subscribe-address|{digest}"), PER_ADDRESS),
        ],
    )
    session.commit()
    if not allowed:
        raise RateLimited(_("Too many subscriptions from here just now. Try again in an hour."))
    existing = session.exec(
        select(Subscription).where(
            col(Subscription.channel) == SubscriptionChannel.EMAIL,
            col(Subscription.address_hash) == digest,
            col(Subscription.area_code) == area.code,
            col(Subscription.topic) == topic,
        )
    ).first()
    if existing is not None and existing.state is SubscriptionState.ACTIVE:
        return
    subscription = existing or Subscription(
        channel=SubscriptionChannel.EMAIL,
        address=address,
        address_hash=digest,
        area_code=area.code,
        topic=topic,
        language=language if language in {"pt", "en"} else "pt",
    )
    subscription.created_at = utcnow()
    session.add(subscription)
    session.flush()
    link = confirm_link(subscription)
    subject = _in_language(
        subscription.language,
        lambda: _("Confirm your updates for {area}").format(area=area.name),
    )
    body = _in_language(
        subscription.language,
        lambda: _(
            "You asked for updates about {area}.\n\nTo confirm, open this link within 7 "
            "days:\n{link}\n\nIf you did not ask, ignore this message: nothing will be sent."
        ).format(area=area.name, link=link),
    )
    outbox.enqueue(
        session=session,
        kind=EMAIL_KIND,
        key=f"confirm:{subscription.id}:{int(subscription.created_at.timestamp())}",
        payload={"subscription_id": subscription.id, "subject": subject, "body": body},
    )
    session.commit()


def _signed(session: Session, purpose: str, subscription_id: int, token: str) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None or not verify(purpose, str(subscription_id), token):
        raise NotFound(
            _("This link is not valid or has expired. Subscribe again from the public page.")
        )
    return subscription


def confirm(*, session: Session, subscription_id: int, token: str) -> Subscription:
    """The link of the confirmation mail: the subscription becomes active."""
    subscription = _signed(session, "confirm", subscription_id, token)
    if subscription.state is not SubscriptionState.ACTIVE:
        now = utcnow()
        subscription.state = SubscriptionState.ACTIVE
        subscription.confirmed_at = now
        subscription.covered_until = now
        subscription.last_activity_at = now
        session.add(subscription)
        session.commit()
    return subscription


def unsubscribe(*, session: Session, subscription_id: int, token: str) -> bool:
    """One-click unsubscribe (RFC 8058): the subscription and its address are deleted.
    True if it existed; a second click is not an error (the link may be clicked by a
    mail scanner first)."""
    if not verify("unsubscribe", str(subscription_id), token):
        raise NotFound(_("This link is not valid. Use the link of the most recent message."))
    result = session.execute(
        delete(Subscription)
        .where(col(Subscription.id) == subscription_id)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0))


def follow_sms(*, session: Session, phone: str, area_code: str, language: str) -> Subscription:
    """SEGUIR <concelho>: the message itself is the consent; active at once."""
    digest = address_hash(SubscriptionChannel.SMS, phone)
    existing = session.exec(
        select(Subscription).where(
            col(Subscription.channel) == SubscriptionChannel.SMS,
            col(Subscription.address_hash) == digest,
            col(Subscription.area_code) == area_code,
        )
    ).first()
    now = utcnow()
    subscription = existing or Subscription(
        channel=SubscriptionChannel.SMS,
        address=phone,
        address_hash=digest,
        area_code=area_code,
        language=language,
        covered_until=now,
    )
    subscription.state = SubscriptionState.ACTIVE
    subscription.confirmed_at = subscription.confirmed_at or now
    subscription.last_activity_at = now
    session.add(subscription)
    session.flush()
    return subscription


def stop_sms(*, session: Session, phone: str) -> int:
    """PARAR: every SMS subscription of this number is deleted; how many there were."""
    result = session.execute(
        delete(Subscription)
        .where(
            col(Subscription.channel) == SubscriptionChannel.SMS,
            col(Subscription.address_hash) == address_hash(SubscriptionChannel.SMS, phone),
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def forget_old(*, session: Session, now: datetime | None = None) -> dict[str, int]:
    """Delete unconfirmed subscriptions after 7 days, dormant ones after a year and SMS
    conversations after a day; commits. The counts deleted, by kind."""
    now = now or utcnow()
    removed = {}
    for name, statement in (
        (
            "unconfirmed",
            delete(Subscription).where(
                col(Subscription.state) == SubscriptionState.PENDING,
                col(Subscription.created_at) < now - timedelta(days=CONFIRM_DAYS),
            ),
        ),
        (
            "dormant",
            delete(Subscription).where(
                col(Subscription.last_activity_at) < now - timedelta(days=DORMANT_DAYS)
            ),
        ),
        (
            "conversations",
            delete(SmsConversation).where(
                col(SmsConversation.updated_at) < now - timedelta(hours=CONVERSATION_HOURS)
            ),
        ),
    ):
        result = session.execute(statement.execution_options(synchronize_session=False))
        removed[name] = int(getattr(result, "rowcount", 0) or 0)
    session.commit()
    return removed


def subscriber_counts(*, session: Session) -> dict[str, int]:
    """Active subscriptions per area code (what staff see: numbers, never addresses)."""
    rows = session.exec(
        select(Subscription.area_code, func.count())
        .where(col(Subscription.state) == SubscriptionState.ACTIVE)
        .group_by(col(Subscription.area_code))
    ).all()
    return {code: int(count) for code, count in rows}
