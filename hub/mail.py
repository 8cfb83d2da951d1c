"""Outgoing e-mail through the SMTP server in the settings (optional)."""

from __future__ import annotations

import smtplib
from email import policy
from email.message import EmailMessage

from hub import settings


def mail_enabled() -> bool:
    return bool(str(settings.get("HUB_SMTP_HOST")).strip())


def send_mail(
    *,
    to: list[str],
    subject: str,
    body: str,
    timeout: float = 20.0,
    headers: dict[str, str] | None = None,
) -> None:
    """Send one plain-text message (``headers``: extra ones, e.g. List-Unsubscribe).
    Raises OSError / smtplib.SMTPException on failure; callers decide whether that
    matters (reminders stay in the app regardless)."""
    # Long headers are not folded into RFC 2047 encoded words: a List-Unsubscribe URI
    # must reach the client as written (RFC 2369 / 8058); 998 is SMTP's line limit.
    message = EmailMessage(policy=policy.default.clone(max_line_length=998))
    for name, value in (headers or {}).items():
        message[name] = value
    message["From"] = str(settings.get("HUB_SMTP_FROM"))
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(body)
    host = str(settings.get("HUB_SMTP_HOST")).strip()
    port = int(settings.get("HUB_SMTP_PORT"))
    with smtplib.SMTP(host, port, timeout=timeout) as client:
        if settings.get("HUB_SMTP_STARTTLS"):
            client.starttls()
        user = str(settings.get("HUB_SMTP_USER"))
        if user:
            client.login(user, str(settings.get("HUB_SMTP_PASSWORD")))
        client.send_message(message)
