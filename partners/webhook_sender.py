"""Sending webhooks: sign (Standard Webhooks), POST, log, and retry through the outbox.

``send_due`` claims due webhook messages from the outbox (a lease per message, so two
workers never send one message at once), POSTs them concurrently with the feed
fetcher's guarded client (``feeds.fetch``: the address is checked after DNS on every
connection, so a subscription cannot reach inside our network even by DNS rebinding),
then in one transaction logs each attempt and marks each message done, to retry (the
outbox's schedule with jitter, about three days) or dead. No database transaction is
open while waiting for receivers (SQLite has one writer).

- 2xx: delivered.
- 410 Gone: the receiver asked us to stop: the message is dead and the subscription
  disabled at once.
- anything else (another status, a timeout, a refused connection): retried; when the
  schedule is exhausted the subscription is disabled and its owner told (a notification
  to the organisation, or a mail to a staff owner).

The signature is ``v1,`` and base64 HMAC-SHA256 of ``{webhook-id}.{webhook-timestamp}.{body}``
with the secret's bytes; during a secret rotation both secrets sign (two signatures,
space-separated), so a receiver that knows either accepts.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from feeds.fetch import BlockedAddress, FetchPolicy, ResolveFailed, make_client
from hub import outbox
from hub.i18n import _
from hub.mail import mail_enabled, send_mail
from hub.records import utcnow
from hub.scheduler import ScheduledJob
from initiatives.models import Notification
from partners.models import Account
from partners.webhooks import (
    OUTBOX_KIND,
    SECRET_PREFIX,
    WebhookDelivery,
    WebhookSubscription,
    signing_secrets,
)

log = logging.getLogger("hub.webhooks")
USER_AGENT = "crisis-coordination-hub-webhooks/1.0"
TIMEOUT_SECONDS = 10.0
CONCURRENCY = 8  # httpcore's pool scans every waiting request per assignment: more costs CPU
BATCH = 200
EVERY_SECONDS = 5.0


def sender_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def event_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(
        {"type": payload["type"], "timestamp": payload["timestamp"], "data": payload["data"]},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


@dataclass
class _Attempt:
    message: outbox.Claimed
    subscription: WebhookSubscription | None
    outcome: str = "failed"  # delivered, failed, gone, blocked, skipped
    code: int | None = None
    error: str = ""
    duration_ms: int = 0


async def _post(client: httpx.AsyncClient, attempt: _Attempt, now: datetime) -> None:
    subscription = attempt.subscription
    if subscription is None or not subscription.active:
        attempt.outcome, attempt.error = "skipped", "subscription removed or disabled"
        return
    payload = attempt.message.payload
    body = event_body(payload)
    stamp = int(now.timestamp())
    signatures = " ".join(
        sign(secret, payload["event_id"], stamp, body)
        for secret in signing_secrets(subscription, now=now)
    )
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": payload["event_id"],
        "webhook-timestamp": str(stamp),
        "webhook-signature": signatures,
    }
    started = time.perf_counter()
    try:
        response = await client.post(subscription.url, content=body, headers=headers)
        await response.aclose()
        attempt.code = response.status_code
        if 200 <= response.status_code < 300:
            attempt.outcome = "delivered"
        elif response.status_code == 410:
            attempt.outcome, attempt.error = "gone", "410 Gone"
        else:
            attempt.error = f"HTTP {response.status_code}"
    except BlockedAddress as err:
        attempt.outcome, attempt.error = "blocked", f"address not allowed: {err}"
    except ResolveFailed as err:
        attempt.error = f"cannot resolve {err}"
    except httpx.HTTPError as err:
        attempt.error = f"{type(err).__name__}: {err}"[:500] or type(err).__name__
    finally:
        attempt.duration_ms = int((time.perf_counter() - started) * 1000)


async def _post_all(attempts: list[_Attempt], now: datetime) -> None:
    policy = FetchPolicy.from_settings()
    limit = asyncio.Semaphore(CONCURRENCY)
    async with make_client(policy, max_connections=CONCURRENCY) as client:
        client.timeout = httpx.Timeout(TIMEOUT_SECONDS)

        async def one(attempt: _Attempt) -> None:
            async with limit:
                await _post(client, attempt, now)

        await asyncio.gather(*(one(a) for a in attempts))


def _notify_owner(session: Session, subscription: WebhookSubscription, reason: str) -> None:
    message = _(
        "Webhook to {url} was turned off: {reason}. Fix the receiver, then turn it on "
        "again on your account page."
    ).format(url=subscription.url, reason=reason)
    if subscription.organisation_id is not None:
        session.add(
            Notification(
                organisation_id=subscription.organisation_id, kind="webhook", message=message
            )
        )
        return
    owner = session.get(Account, subscription.account_id)
    if owner is not None and mail_enabled():
        try:
            send_mail(to=[owner.email], subject=_("Webhook turned off"), body=message)
        except OSError:  # the log line below still says it
            log.warning("could not mail %s about webhook %s", owner.email, subscription.id)
    log.warning("webhook %s disabled: %s", subscription.id, reason)


def _disable(session: Session, subscription: WebhookSubscription, reason: str) -> None:
    if not subscription.active:
        return
    subscription.active = False
    subscription.disabled_reason = reason
    subscription.updated_at = utcnow()
    session.add(subscription)
    _notify_owner(session, subscription, reason)


def _record(
    session: Session,
    attempts: list[_Attempt],
    *,
    owner: str,
    schedule: tuple[float, ...],
    now: datetime,
) -> None:
    log = [
        {
            "subscription_id": attempt.subscription.id,
            "message_id": attempt.message.id,
            "event_id": attempt.message.payload["event_id"],
            "event_type": attempt.message.payload["type"],
            "attempt": attempt.message.attempts + 1,
            "outcome": attempt.outcome,
            "response_code": attempt.code,
            "error": attempt.error,
            "duration_ms": attempt.duration_ms,
            "at": now,
        }
        for attempt in attempts
        if attempt.subscription is not None
    ]
    if log:  # Core INSERT of plain values: the log grows by a row per attempt
        session.execute(insert(WebhookDelivery.__table__), log)  # type: ignore[attr-defined]
    delivered = [a for a in attempts if a.outcome == "delivered"]
    outbox.complete_many(
        session=session, message_ids=[a.message.id for a in delivered], owner=owner, now=now
    )
    for healthy in {
        a.subscription.id: a.subscription for a in delivered if a.subscription
    }.values():
        if healthy.consecutive_failures:
            healthy.consecutive_failures = 0
            session.add(healthy)
    for attempt in attempts:
        message, subscription = attempt.message, attempt.subscription
        if attempt.outcome == "delivered":
            continue
        if attempt.outcome in {"gone", "blocked", "skipped"}:
            outbox.give_up(
                session=session, message_id=message.id, owner=owner, error=attempt.error, now=now
            )
            if attempt.outcome == "gone" and subscription is not None:
                _disable(session, subscription, _("the receiver answered 410 Gone"))
        else:
            state = outbox.retry(
                session=session,
                message_id=message.id,
                owner=owner,
                attempts=message.attempts,
                error=attempt.error,
                schedule=schedule,
                now=now,
            )
            if subscription is not None:
                subscription.consecutive_failures += 1
                session.add(subscription)
                if state is outbox.MessageState.DEAD:
                    _disable(
                        session,
                        subscription,
                        _("{n} deliveries in a row failed (last: {error})").format(
                            n=subscription.consecutive_failures, error=attempt.error
                        ),
                    )


def send_due(
    engine: Engine,
    *,
    owner: str | None = None,
    limit: int = BATCH,
    schedule: tuple[float, ...] = outbox.RETRY_SCHEDULE,
    lease_seconds: float = outbox.LEASE_SECONDS,
    now: datetime | None = None,
) -> int:
    """Send up to ``limit`` due webhooks; returns how many were attempted."""
    owner = owner or sender_name()
    with Session(engine, expire_on_commit=False) as session:
        claimed = outbox.claim(
            session=session,
            kind=OUTBOX_KIND,
            owner=owner,
            limit=limit,
            lease_seconds=lease_seconds,
            now=now,
        )
        if not claimed:
            return 0
        ids = {int(c.payload["subscription_id"]) for c in claimed}
        subscriptions = {
            s.id: s
            for s in session.exec(
                select(WebhookSubscription).where(col(WebhookSubscription.id).in_(ids))
            ).all()
        }
        session.commit()
    attempts = [_Attempt(c, subscriptions.get(int(c.payload["subscription_id"]))) for c in claimed]
    sent_at = now or utcnow()
    asyncio.run(_post_all(attempts, sent_at))
    with Session(engine, expire_on_commit=False) as session:
        for attempt in attempts:
            if attempt.subscription is not None:
                attempt.subscription = session.get(WebhookSubscription, attempt.subscription.id)
        _record(session, attempts, owner=owner, schedule=schedule, now=now or utcnow())
        session.commit()
    return len(attempts)


def webhook_tick(engine: Engine) -> None:
    """The scheduler's job: send until nothing is due (never raises)."""
    try:
        while send_due(engine) >= BATCH:
            pass
    except Exception:  # a failed run is retried next tick; the outbox keeps the messages
        log.exception("webhook sending failed")


def webhook_job(*, first_run_in: float = 5.0) -> ScheduledJob:
    return ScheduledJob(
        id="webhooks", function=webhook_tick, every=EVERY_SECONDS, first_run_in=first_run_in
    )
