"""The outreach secret: keyed hashes of senders and addresses, signed links.

One key (``HUB_OUTREACH_SECRET``) for both, each use under its own label so a hash can
never be replayed as a signature. Without the key a hash cannot be reversed by trying
every phone number (there are only about 10^9 of them: a plain hash would not protect).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from hub import settings
from hub.settings import SettingsError

DEMO_KEY = "demo-only-outreach-key: set HUB_OUTREACH_SECRET in production"


def secret() -> bytes:
    value = str(settings.get("HUB_OUTREACH_SECRET"))
    if value:
        return value.encode()
    if settings.demo_mode():
        return DEMO_KEY.encode()
    raise SettingsError(
        "HUB_OUTREACH_SECRET is empty: set a long random value (it signs subscription "
        "links and hashes SMS senders)."
    )


def keyed_hash(label: str, value: str) -> str:
    """64 hex characters: the same value gives the same hash under the same key."""
    return hmac.new(secret(), f"{label}|{value}".encode(), hashlib.sha256).hexdigest()


def sign(purpose: str, subject: str, *, valid_seconds: int, now: float | None = None) -> str:
    """A token ``<expiry>.<signature>`` for ``purpose`` on ``subject`` (URL-safe)."""
    expires = int((time.time() if now is None else now) + valid_seconds)
    mac = hmac.new(secret(), f"{purpose}|{subject}|{expires}".encode(), hashlib.sha256).digest()
    return f"{expires}.{base64.urlsafe_b64encode(mac[:24]).decode().rstrip('=')}"


def verify(purpose: str, subject: str, token: str, *, now: float | None = None) -> bool:
    """True if ``token`` was made by ``sign`` for this purpose and subject and has not
    expired (compared in constant time)."""
    expires_text, _dot, _mac = token.partition(".")
    if not expires_text.isdigit():
        return False
    expires = int(expires_text)
    if expires < (time.time() if now is None else now):
        return False
    mac = hmac.new(secret(), f"{purpose}|{subject}|{expires}".encode(), hashlib.sha256).digest()
    expected = f"{expires}.{base64.urlsafe_b64encode(mac[:24]).decode().rstrip('=')}"
    return hmac.compare_digest(expected, token)
