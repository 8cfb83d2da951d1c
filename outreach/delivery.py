"""Sending what the subscriptions enqueued (hub.outbox): e-mail over SMTP, SMS through the
gateway's outbound API. At least once: a message is marked done only after the server
accepted it, and retried on the outbox's schedule otherwise. Each mail carries a
Message-ID made from its outbox key, so a mail sent twice after a crash is one message
to the reader's client, and the RFC 8058 one-click unsubscribe headers.
"""

from __future__ import annotations

import hashlib
import smtplib

import httpx
from sqlmodel import Session

from hub import outbox, settings
from hub.mail import send_mail
from outreach.models import Subscription, SubscriptionChannel
from outreach.subscriptions import EMAIL_KIND, SMS_KIND, unsubscribe_link

BATCH = 50


def message_id(key: str) -> str:
    """The same Message-ID for every attempt at one outbox message."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = str(settings.get("HUB_SMTP_FROM")).rpartition("@")[2] or "hub.local"
    return f"<{digest}@{domain}>"


def send_email(subscription: Subscription, claimed: outbox.Claimed) -> None:
    link = unsubscribe_link(subscription)
    headers = {"Message-ID": message_id(claimed.key), "Auto-Submitted": "auto-generated"}
    body = str(claimed.payload.get("body", ""))
    if subscription.confirmed_at is not None:  # a confirmation mail has nothing to stop
        headers["List-Unsubscribe"] = f"<{link}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        body = f"{body}\n\n--\n{claimed.payload.get('unsubscribe_text', '')}\n{link}\n"
    send_mail(
        to=[subscription.address],
        subject=str(claimed.payload.get("subject", "")),
        body=body,
        headers=headers,
    )


def sms_enabled() -> bool:
    return bool(str(settings.get("HUB_SMS_OUTBOUND_URL")).strip())


def send_sms(subscription: Subscription, claimed: outbox.Claimed) -> None:
    """RapidPro's broadcasts API shape: ``{"urns": ["tel:+351..."], "text": ...}``."""
    response = httpx.post(
        str(settings.get("HUB_SMS_OUTBOUND_URL")),
        json={"urns": [f"tel:{subscription.address}"], "text": claimed.payload.get("text", "")},
        headers={
            "Authorization": f"Token {settings.get('HUB_SMS_OUTBOUND_TOKEN')}",
            "Idempotency-Key": claimed.key,
        },
        timeout=20.0,
    )
    response.raise_for_status()


def deliver_due(*, session: Session, owner: str) -> dict[str, int]:
    """Send the due e-mail and SMS messages; how many were sent and how many failed."""
    sent = failed = 0
    for kind in (EMAIL_KIND, SMS_KIND):
        if kind == SMS_KIND and not sms_enabled():
            continue
        for claimed in outbox.claim(session=session, kind=kind, owner=owner, limit=BATCH):
            subscription = session.get(Subscription, claimed.payload.get("subscription_id"))
            if subscription is None:  # unsubscribed meanwhile: nothing to send, ever
                outbox.give_up(
                    session=session, message_id=claimed.id, owner=owner, error="unsubscribed"
                )
                session.commit()
                continue
            try:
                if subscription.channel is SubscriptionChannel.EMAIL:
                    send_email(subscription, claimed)
                else:
                    send_sms(subscription, claimed)
            except (TimeoutError, OSError, smtplib.SMTPException, httpx.HTTPError) as err:
                outbox.retry(
                    session=session,
                    message_id=claimed.id,
                    owner=owner,
                    attempts=claimed.attempts,
                    error=str(err)[:500],
                )
                failed += 1
            else:
                outbox.complete(session=session, message_id=claimed.id, owner=owner)
                sent += 1
            session.commit()
    return {"sent": sent, "failed": failed}
