"""Sanitizing what sources send: HTML once on ingest (nh3), URLs, control characters.

Every URL we store for rendering (item link, images, enclosures, links inside HTML)
is absolute http or https; ``javascript:``, ``data:``, ``file:`` and the rest are
dropped. feedparser leaves ``entry.link`` unfiltered, so nothing from it is trusted.
"""

from __future__ import annotations

import contextvars
import html
import re
from functools import lru_cache
from urllib.parse import quote, urljoin

import nh3

from hub import clean
from hub.urls import safe_http_url

_CONTROL_BYTES = bytes([*range(0, 9), 11, 12, *range(14, 32), 127])
_SPACES = re.compile(r"\s+")
# Characters percent-encoded before the URL check (spaces, quotes, brackets...).
_URL_SAFE = "/:?#[]@!$&*+,;=%~-._"

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del",
        "div", "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6",
        "hr", "i", "img", "ins", "li", "ol", "p", "pre", "q", "s", "small", "span",
        "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "time", "tr",
        "u", "ul",
    }
)  # fmt: skip
# Removed together with everything inside them.
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "form",
        "input", "button", "select", "textarea", "noscript", "template", "svg", "math",
        "applet", "audio", "video", "canvas", "head", "title", "meta", "link", "base",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
    "abbr": {"title"},
}
_URL_ATTRIBUTES = frozenset({"href", "src"})

_base_url: contextvars.ContextVar[str] = contextvars.ContextVar("feeds_base_url", default="")


def strip_controls(text: str) -> str:
    """The hub's one rule for control characters (hub.clean), line breaks kept."""
    return clean.strip_controls(text, multiline=True)


def strip_control_bytes(body: bytes) -> bytes:
    """Remove C0 control bytes from a document before parsing.

    Safe for UTF-8 and single-byte encodings (these bytes never occur inside a UTF-8
    multi-byte sequence); UTF-16/32 documents, recognised by their byte-order mark or
    NUL pattern, are left alone.
    """
    head = body[:4]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        return body
    return body.translate(None, _CONTROL_BYTES)


def clean_text(raw: str | None, *, limit: int = 1000) -> str:
    """Plain text on one line: tags removed, entities decoded, controls stripped."""
    if not raw:
        return ""
    text = raw
    if "<" in text:
        text = html.unescape(nh3.clean(text, tags=set()))
    text = _SPACES.sub(" ", strip_controls(text)).strip()
    return text[:limit]


def safe_url(raw: str | None, *, base: str = "") -> str:
    """An absolute http(s) URL, or "" when the value is anything else."""
    if not raw:
        return ""
    return _safe_url(raw, base)


@lru_cache(maxsize=8192)  # feeds repeat the same links and images many times
def _safe_url(raw: str, base: str) -> str:
    value = strip_controls(raw).strip()
    if not value:
        return ""
    if base:
        value = urljoin(base, value)
    value = quote(value, safe=_URL_SAFE)
    return safe_http_url(value, assume_https=False) or ""


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute in _URL_ATTRIBUTES:
        return safe_url(value, base=_base_url.get()) or None
    return value


_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_filter_attribute,
    url_schemes={"http", "https"},
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def clean_html(raw: str | None, *, base: str = "", limit: int = 100_000) -> str:
    """Sanitize an HTML fragment from a feed: allowlisted tags and attributes only,
    relative links made absolute against ``base``, non-http(s) URLs removed."""
    if not raw:
        return ""
    token = _base_url.set(base)
    try:
        return _cleaner.clean(strip_controls(raw[:limit])).strip()
    finally:
        _base_url.reset(token)


def text_to_html(text: str) -> str:
    """A plain-text body as safe HTML paragraphs."""
    paragraphs = [p.strip() for p in strip_controls(text).split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
