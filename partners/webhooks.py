"""Webhook subscriptions, events and the delivery log (issue 17).

A partner's user (for their organisation) or staff (for every organisation) subscribe a
URL to event types. ``emit`` is called by the package whose change is the event, in that
change's transaction: it writes one outbox message per matching subscription
(``hub.outbox``), so the event is sent if and only if the change is committed, and each
subscription is retried on its own. ``partners.webhook_sender`` signs and sends them.

Who receives what: a partner's subscription gets the events of its own organisation
(an initiative it leads, an overlap it is part of) and the public events (a measure or
an answer published); a staff subscription gets every event.

Secrets follow Standard Webhooks (``whsec_`` and base64 bytes). Rotating keeps the old
secret for ``ROTATION_OVERLAP``, during which deliveries carry both signatures.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, Session, SQLModel, col, select

from hub import outbox, settings
from hub.audit import record_change, snapshot
from hub.auth import Principal
from hub.errors import InvalidInput, NotFound, PermissionDenied
from hub.i18n import _
from hub.records import UTCDateTime, utcnow
from hub.urls import safe_http_url

OUTBOX_KIND = "webhook"
EVENT_TYPES = (
    "initiative.submitted",
    "initiative.published",
    "initiative.changes_requested",
    "initiative.rejected",
    "overlap.flagged",
    "measure.published",
    "answer.published",
)
PUBLIC_EVENTS = frozenset({"measure.published", "answer.published"})
ROTATION_OVERLAP = timedelta(hours=24)
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
MAX_SUBSCRIPTIONS = 20  # per organisation (staff: per account)


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    # None: a staff subscription, which receives every organisation's events.
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)  # who set it up
    url: str = Field(max_length=500)
    events: list[str] = Field(sa_column=Column(JSON, nullable=False))
    secret: str = Field(max_length=80)  # needed to sign: stored, never shown again
    previous_secret: str = Field(default="", max_length=80)
    previous_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    active: bool = True
    disabled_reason: str = Field(default="", sa_type=Text)
    consecutive_failures: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One attempt to deliver one event to one subscription."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_log", "subscription_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscription.id")
    message_id: int | None = None  # the outbox message
    event_id: str = Field(max_length=80, index=True)  # the webhook-id header
    event_type: str = Field(max_length=40)
    attempt: int = 1
    outcome: str = Field(max_length=20)  # delivered, failed, gone, blocked
    response_code: int | None = None
    error: str = Field(default="", sa_type=Text)
    duration_ms: int = 0
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _audit_view(subscription: WebhookSubscription) -> dict[str, Any]:
    hidden = {"secret", "previous_secret"}
    return {k: v for k, v in snapshot(subscription).items() if k not in hidden}


def check_webhook_url(raw: str) -> str:
    """An http(s) URL that is not an address inside our network (the sender checks
    again after DNS, on every delivery: ``feeds.fetch.GuardedBackend``)."""
    url = safe_http_url(raw, assume_https=False)
    if url is None or len(url) > 500:
        raise InvalidInput(
            _("URL: give a full http:// or https:// address of your receiver."), field="url"
        )
    host = (urlsplit(url).hostname or "").lower()
    allowed = set(settings.get("HUB_FETCH_ALLOW_HOSTS"))
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    blocked = host == "localhost" or (
        literal is not None
        and (not literal.is_global or literal.is_multicast or literal.is_reserved)
    )
    if blocked and host not in allowed:
        raise InvalidInput(
            _("URL: the hub does not send to private or local addresses."), field="url"
        )
    return url


def _check_events(events: list[str]) -> list[str]:
    chosen = sorted(set(events))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if not chosen or unknown:
        raise InvalidInput(
            _("Events: choose among {known}.").format(known=", ".join(EVENT_TYPES)),
            field="events",
        )
    return chosen


def _may_manage(actor: Principal | None, subscription: WebhookSubscription) -> Principal:
    if actor is None:
        raise PermissionDenied(_("Please sign in first."))
    if actor.is_staff:
        return actor
    if (
        subscription.organisation_id is None
        or subscription.organisation_id != actor.organisation_id
    ):
        raise NotFound(_("That webhook subscription does not exist."))
    return actor


def subscribe(
    *, session: Session, actor: Principal | None, url: str, events: list[str]
) -> tuple[WebhookSubscription, str]:
    """A new subscription for the actor's organisation (staff: for the office). Returns
    it with its signing secret, shown once."""
    if actor is None:
        raise PermissionDenied(_("Please sign in first."))
    organisation_id = None if actor.is_staff else actor.organisation_id
    if not actor.is_staff and organisation_id is None:
        raise PermissionDenied(_("Only partner organisations and staff may subscribe."))
    query = select(WebhookSubscription.id)
    query = (
        query.where(WebhookSubscription.organisation_id == organisation_id)
        if organisation_id is not None
        else query.where(WebhookSubscription.account_id == actor.account_id)
    )
    if len(session.exec(query).all()) >= MAX_SUBSCRIPTIONS:
        raise InvalidInput(
            _("At most {n} subscriptions: remove one first.").format(n=MAX_SUBSCRIPTIONS),
            field="url",
        )
    subscription = WebhookSubscription(
        organisation_id=organisation_id,
        account_id=actor.account_id,
        url=check_webhook_url(url),
        events=_check_events(events),
        secret=new_secret(),
    )
    session.add(subscription)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        action="create",
        entity_type="webhook_subscription",
        entity_id=subscription.id,
        after=_audit_view(subscription),
    )
    session.commit()
    return subscription, subscription.secret


def subscriptions_for(*, session: Session, actor: Principal | None) -> list[WebhookSubscription]:
    if actor is None:
        return []
    query = select(WebhookSubscription)
    if not actor.is_staff:
        query = query.where(WebhookSubscription.organisation_id == actor.organisation_id)
    else:
        query = query.where(col(WebhookSubscription.organisation_id).is_(None))
    return list(session.exec(query.order_by(col(WebhookSubscription.id))).all())


def get_subscription(
    *, session: Session, actor: Principal | None, subscription_id: int
) -> WebhookSubscription:
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound(_("That webhook subscription does not exist."))
    _may_manage(actor, subscription)
    return subscription


def _save(
    session: Session,
    actor: Principal,
    subscription: WebhookSubscription,
    action: str,
    before: dict[str, Any],
) -> WebhookSubscription:
    subscription.updated_at = utcnow()
    session.add(subscription)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        action=action,
        entity_type="webhook_subscription",
        entity_id=subscription.id,
        before=before,
        after=_audit_view(subscription),
    )
    session.commit()
    return subscription


def set_active(
    *, session: Session, actor: Principal | None, subscription_id: int, active: bool
) -> WebhookSubscription:
    """Pause, or resume (which clears the failure count), a subscription."""
    subscription = get_subscription(session=session, actor=actor, subscription_id=subscription_id)
    actor = _may_manage(actor, subscription)
    before = _audit_view(subscription)
    subscription.active = active
    if active:
        subscription.consecutive_failures = 0
        subscription.disabled_reason = ""
    return _save(session, actor, subscription, "enable" if active else "disable", before)


def rotate_secret(
    *, session: Session, actor: Principal | None, subscription_id: int, now: datetime | None = None
) -> tuple[WebhookSubscription, str]:
    """A new secret; the old one still signs (a second signature) for ROTATION_OVERLAP."""
    subscription = get_subscription(session=session, actor=actor, subscription_id=subscription_id)
    actor = _may_manage(actor, subscription)
    before = _audit_view(subscription)
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = (now or utcnow()) + ROTATION_OVERLAP
    subscription.secret = new_secret()
    _save(session, actor, subscription, "rotate_secret", before)
    return subscription, subscription.secret


def signing_secrets(subscription: WebhookSubscription, *, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one
    while the rotation overlap lasts."""
    found = [subscription.secret]
    until = subscription.previous_secret_until
    if subscription.previous_secret and until is not None and until > now:
        found.append(subscription.previous_secret)
    return found


def deliveries(
    *, session: Session, actor: Principal | None, subscription_id: int, limit: int = 50
) -> list[WebhookDelivery]:
    """The delivery log of one subscription, newest first."""
    get_subscription(session=session, actor=actor, subscription_id=subscription_id)
    return list(
        session.exec(
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription_id)
            .order_by(col(WebhookDelivery.at).desc(), col(WebhookDelivery.id).desc())
            .limit(limit)
        ).all()
    )


def _message(
    subscription_id: int, event_id: str, event_type: str, data: dict[str, Any], timestamp: str
) -> dict[str, Any]:
    return {
        "subscription_id": subscription_id,
        "event_id": event_id,
        "type": event_type,
        "timestamp": timestamp,
        "data": data,
    }


def send_again(
    *, session: Session, actor: Principal | None, delivery_id: int
) -> outbox.OutboxMessage:
    """Queue the event of a logged delivery once more, with the same webhook-id (the
    receiver may already have it and can tell)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.message_id is None:
        raise NotFound(_("That delivery does not exist."))
    subscription = get_subscription(
        session=session, actor=actor, subscription_id=delivery.subscription_id
    )
    original = session.get(outbox.OutboxMessage, delivery.message_id)
    if original is None:
        raise NotFound(_("That delivery does not exist."))
    message = outbox.enqueue(
        session=session, kind=OUTBOX_KIND, payload=dict(original.payload), key=delivery.event_id
    )
    record_change(
        session=session,
        actor=actor,
        action="send_again",
        entity_type="webhook_subscription",
        entity_id=subscription.id,
        summary=delivery.event_id,
    )
    session.commit()
    return message


def emit(
    *,
    session: Session,
    event_type: str,
    organisation_ids: list[int],
    data: dict[str, Any],
    now: datetime | None = None,
) -> int:
    """Queue ``event_type`` for every active subscription that should see it, in the
    caller's transaction (the caller commits). Returns how many messages were queued."""
    assert event_type in EVENT_TYPES, event_type
    now = now or utcnow()
    timestamp = now.isoformat().replace("+00:00", "Z")
    queued = 0
    for subscription in session.exec(
        select(WebhookSubscription).where(col(WebhookSubscription.active).is_(True))
    ).all():
        if event_type not in subscription.events:
            continue
        if not (
            subscription.organisation_id is None
            or event_type in PUBLIC_EVENTS
            or subscription.organisation_id in organisation_ids
        ):
            continue
        event_id = f"msg_{uuid.uuid4().hex}"
        outbox.enqueue(
            session=session,
            kind=OUTBOX_KIND,
            key=event_id,
            payload=_message(subscription.id or 0, event_id, event_type, data, timestamp),
        )
        queued += 1
    return queued
