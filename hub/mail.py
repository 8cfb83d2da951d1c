"""Outgoing e-mail through the SMTP server in the settings (optional)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from hub import settings


def mail_enabled() -> bool:
    return bool(str(settings.get("HUB_SMTP_HOST")).strip())


def send_mail(*, to: list[str], subject: str, body: str, timeout: float = 20.0) -> None:
    """Send one plain-text message. Raises OSError / smtplib.SMTPException on failure;
    callers decide whether that matters (reminders stay in the app regardless)."""
    message = EmailMessage()
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
