"""URL checks shared by every place that stores or renders a link from outside."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SAFE_SCHEMES = frozenset({"http", "https"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# Characters that break out of Markdown links or HTML attributes, and whitespace.
_UNSAFE_CHARACTERS = re.compile(r"[\s<>\"'`(){}|\\^\x00-\x1f\x7f]")
_HOST = re.compile(r"^[\w.\-]+$", re.UNICODE)


def safe_http_url(raw: str, *, assume_https: bool = True) -> str | None:
    """The URL if it is a plain http(s) link, else None.

    ``javascript:``, ``data:``, ``file:`` and every other scheme are refused; so are
    spaces, quotes, brackets and control characters, which could break out of the
    Markdown or HTML the link is rendered into. A bare host ("www.gov.pt") gets https://.
    """
    value = raw.strip()
    if not value or _UNSAFE_CHARACTERS.search(value):
        return None
    match = _SCHEME.match(value)
    if match is None or not value[match.end() :].startswith("//"):
        if match is not None and not re.match(r"^[\w.\-]+:\d+(/|$)", value):
            return None  # a scheme such as javascript: or mailto:, not host:port
        if not assume_https:
            return None
        value = "https://" + value
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:  # "http://[", a bad port: not a link
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES:
        return None
    if not host or not _HOST.match(host) or ("." not in host and host != "localhost"):
        return None
    return value
