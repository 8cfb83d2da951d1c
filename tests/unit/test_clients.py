"""The rate limits' client key: the real address, never something the client resets."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from answers.ratelimit import Limit, client_key, take
from hub import settings
from hub.clients import UNKNOWN_CLIENT, client_address, rate_limit_identifier

TRUSTED = settings.parse_networks("127.0.0.1, ::1, 10.0.0.0/8, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        # A client connecting directly: its own header is ignored, however it is spelled.
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),
        ("203.0.113.7", "garbage, 1.2.3.4", "203.0.113.7"),
        # One trusted proxy appending the real client to a spoofed value.
        ("127.0.0.1", "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        # A chain through two trusted proxies.
        ("10.0.0.2", "203.0.113.7, 10.0.0.1", "203.0.113.7"),
        ("10.0.0.2", "6.6.6.6,203.0.113.7 , 10.0.0.1", "203.0.113.7"),
        # IPv6, with brackets and ports, and IPv4-mapped.
        ("::1", "2001:db8::5", "2001:db8::5"),
        ("fd00::1", "[2001:db8::5]:4711, fd00::2", "2001:db8::5"),
        ("::ffff:127.0.0.1", "203.0.113.7:5555", "203.0.113.7"),
        ("2001:db8::9", "203.0.113.7", "2001:db8::9"),
        # A trusted proxy with no header: the proxy itself is the client.
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "", "127.0.0.1"),
        # Garbage where the client should be, or no peer: unknown.
        ("127.0.0.1", "not-an-address", None),
        ("127.0.0.1", "203.0.113.7, <script>", None),
        (None, "203.0.113.7", None),
        ("garbage", None, None),
    ],
)
def test_client_address(peer: str | None, forwarded_for: str | None, expected: str | None) -> None:
    assert client_address(peer, forwarded_for, TRUSTED) == expected


def test_an_untrusted_proxy_is_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_TRUSTED_PROXIES", "")
    assert rate_limit_identifier("127.0.0.1", "203.0.113.7") == "ip:127.0.0.1"
    assert rate_limit_identifier(None, "203.0.113.7") == "ip:127.0.0.1"


def test_a_new_header_value_behind_a_trusted_proxy_is_the_same_client() -> None:
    # uvicorn/Streamlit already resolved the client: its peer is not a trusted proxy.
    assert rate_limit_identifier("203.0.113.7", "1.1.1.1") == rate_limit_identifier(
        "203.0.113.7", "2.2.2.2"
    )


def test_clients_without_an_address_share_one_bucket(session: Session) -> None:
    """Issue 13.3: a client without a known address used to be keyed on a fresh id per
    browser session, so every new session got its questions back. Two such "sessions"
    now get the same key and drain the same bucket."""
    first = rate_limit_identifier(None, "not-an-address")
    second = rate_limit_identifier(None, "also garbage")
    assert first == second == UNKNOWN_CLIENT
    limit = Limit(capacity=2, per_hour=1)
    assert take(session=session, key=client_key(first), limit=limit, now=1000.0)
    assert take(session=session, key=client_key(second), limit=limit, now=1000.0)
    assert not take(session=session, key=client_key(second), limit=limit, now=1000.0)
    session.commit()
