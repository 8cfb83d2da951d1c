"""Who the client is, for the rate limits: its real address, never something it can reset.

Behind a reverse proxy the TCP peer is the proxy, and the client's address is in the
``X-Forwarded-For`` header that each proxy appends to. Anyone can send that header, so
it is read from the right, and only through hops we trust (``HUB_TRUSTED_PROXIES``):
the first address that is not a trusted proxy is the client. A client whose address
cannot be known gets the one shared key ``UNKNOWN_CLIENT``, so opening a new browser
session or sending a new header never buys a fresh bucket.

How the peer arrives under Streamlit 1.67's ``st.App`` (uvicorn): uvicorn itself
believes ``X-Forwarded-For`` from ``FORWARDED_ALLOW_IPS`` (default loopback) and puts
its choice in the connection's client address, which is what ``st.context.ip_address``
reports, except that Streamlit reports a loopback peer as None. uvicorn walks the
header from the right like ``client_address`` does, so the two agree; set
``FORWARDED_ALLOW_IPS=""`` to leave the decision to ``HUB_TRUSTED_PROXIES`` alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from hub import settings

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address

UNKNOWN_CLIENT = "unknown"
# Streamlit reports a loopback peer as None (streamlit/runtime/context.py).
LOOPBACK = "127.0.0.1"


def parse_address(raw: str | None) -> Address | None:
    """An address from a peer or header value ("[::1]:443" and "1.2.3.4:80" included),
    or None for anything else."""
    if raw is None:
        return None
    text = raw.strip()
    if text.startswith("["):  # [IPv6]:port
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # IPv4:port
        text = text.split(":", 1)[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def is_trusted_proxy(peer: str | None) -> bool:
    """Whether the TCP peer is one of ``HUB_TRUSTED_PROXIES``: only then may its
    ``X-Forwarded-*`` headers (the client's address, ``X-Forwarded-Proto``) be believed."""
    address = parse_address(peer or LOOPBACK)
    return address is not None and _trusted(address, settings.get("HUB_TRUSTED_PROXIES"))


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]
) -> str | None:
    """The client's address: the peer itself unless it is a trusted proxy, else the
    right-most ``X-Forwarded-For`` entry that is not a trusted proxy. None when it
    cannot be known (no peer, or a hop we would have to believe is not an address)."""
    current = parse_address(peer)
    if current is None:
        return None
    hops = [hop for hop in (forwarded_for or "").split(",") if hop.strip()]
    while _trusted(current, trusted) and hops:
        hop = parse_address(hops.pop())
        if hop is None:
            return None
        current = hop
    return str(current)


def rate_limit_identifier(peer: str | None, forwarded_for: str | None) -> str:
    """The identifier the rate limits key on (hashed before it is stored): the client's
    address, or ``UNKNOWN_CLIENT`` shared by every client whose address is unknown."""
    trusted = settings.get("HUB_TRUSTED_PROXIES")
    address = client_address(peer or LOOPBACK, forwarded_for, trusted)
    return f"ip:{address}" if address else UNKNOWN_CLIENT
