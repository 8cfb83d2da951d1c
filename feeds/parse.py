"""Parsing feed documents (RSS, Atom, JSON Feed) from bytes into clean entries.

Only bytes reach feedparser, never a URL or a path (it would fetch them itself, with
no timeout, and read local files). Its own sanitizer and URL resolution are off: they
are slow and leave ``entry.link`` unfiltered; ``feeds.sanitize`` does both once.
Identity per entry: the raw guid, else the link, else a content hash; repeats inside
one document are told apart.

RSS 2.0 needs an item to have a title or a description: an item with only a
description (official alert feeds do this) gets a title from its text, as feed readers
do (``title_from_text``). An entry with no title, link or text is skipped and counted,
so the source's health says so instead of "ok, 0 new".
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import struct_time
from typing import Any

import feedparser

from feeds.sanitize import clean_html, clean_text, safe_url, strip_control_bytes, text_to_html

# Problems parse may report (codes understood by feeds.health).
NOT_A_FEED = "not_a_feed"
EMPTY = "empty"
UNREADABLE = "unreadable"
PARTIAL = "partial"
TOO_SLOW = "too_slow"  # set by the worker when parsing passes its deadline
SKIPPED = "skipped"  # entries with no title, link or text; detail: how many

TITLE_FROM_TEXT_MAX = 80  # characters of a title taken from an item's text

_SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)")
_HTML_START = re.compile(
    rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>]|head[\s>])", re.I | re.S
)
# Bozo reasons that are not problems: the encoding was fixed up, the media type is odd.
_HARMLESS_BOZO = (
    feedparser.CharacterEncodingOverride,
    feedparser.NonXMLContentType,
)


@dataclass
class ParsedEntry:
    key: str  # sha256 hex of the identity
    guid: str
    title: str
    link: str
    summary_html: str
    author: str = ""
    image_url: str = ""
    enclosures: list[dict[str, Any]] = field(default_factory=list)
    published_at: datetime | None = None
    content_hash: str = ""
    # Topic by the keyword rules, when the parser already worked it out (a refresh
    # does it in the parsing processes); None: feeds.store classifies.
    keyword_topic: str | None = None


@dataclass
class ParsedFeed:
    title: str = ""
    entries: list[ParsedEntry] = field(default_factory=list)
    problem: str = ""  # "" when the document was read cleanly
    detail: str = ""
    skipped: int = 0  # entries dropped: no title, link or text

    @property
    def failed(self) -> bool:
        return self.problem in {NOT_A_FEED, EMPTY, UNREADABLE, TOO_SLOW}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def parse_feed(body: bytes, *, url: str, content_type: str = "") -> ParsedFeed:
    """Parse a document fetched from ``url``. Never raises on bad input: problems are
    reported in ``problem``; whatever entries could be read are kept."""
    if not body.strip():
        return ParsedFeed(problem=EMPTY)
    body = strip_control_bytes(body)
    stripped = body.lstrip()
    if stripped.startswith((b"{", b"\xef\xbb\xbf{")) or "json" in content_type.lower():
        return _parse_json_feed(body, url=url)
    headers = {"content-type": content_type} if content_type else {}
    # No content-location: feedparser would resolve (and so change) relative guids.
    document = feedparser.parse(
        io.BytesIO(body),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    # An entry with nothing to show (the stub a truncated document leaves) is dropped,
    # and counted.
    readable = [_titled(_entry(raw, base=url)) for raw in document.entries]
    entries = assign_keys([e for e in readable if e.title or e.link])
    parsed = ParsedFeed(
        title=clean_text(document.feed.get("title", "")),
        entries=entries,
        skipped=len(readable) - len(entries),
    )
    exception = document.get("bozo_exception")
    if document.get("bozo") and not isinstance(exception, _HARMLESS_BOZO):
        if entries:
            parsed.problem, parsed.detail = PARTIAL, str(len(entries))
        elif _HTML_START.match(body[:2048]):
            parsed.problem = NOT_A_FEED
        else:
            parsed.problem, parsed.detail = UNREADABLE, clean_text(str(exception), limit=200)
    elif not document.get("version") and not entries:
        parsed.problem = NOT_A_FEED
    elif parsed.skipped:
        parsed.problem, parsed.detail = SKIPPED, str(parsed.skipped)
    return parsed


def title_from_text(summary_html: str) -> str:
    """A title for an item that has none: the first sentence of its plain text when it
    is short, else its first ~80 characters cut at a word and ended with an ellipsis."""
    # A space at every tag, so "<p>One.</p><p>Two</p>" reads "One. Two".
    text = clean_text(summary_html.replace("<", " <"), limit=2000)
    sentence = _SENTENCE.match(text)
    if sentence and len(sentence.group(1)) <= TITLE_FROM_TEXT_MAX:
        return sentence.group(1)
    if len(text) <= TITLE_FROM_TEXT_MAX:
        return text
    cut = text[: TITLE_FROM_TEXT_MAX - 1]
    space = cut.rfind(" ")
    if space >= TITLE_FROM_TEXT_MAX // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def _titled(entry: ParsedEntry) -> ParsedEntry:
    # The derived title depends only on the text, so the identity of an item with no
    # guid and no link (a hash of title and text) stays a hash of its description.
    if not entry.title and entry.summary_html:
        entry.title = title_from_text(entry.summary_html)
    return entry


def _struct_to_datetime(value: struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (ValueError, TypeError):
        return None


def _entry(raw: Any, *, base: str) -> ParsedEntry:
    link = safe_url(raw.get("link"), base=base)
    item_base = link or base
    body = ""
    contents = raw.get("content") or []
    detail = contents[0] if contents else raw.get("summary_detail")
    if detail is not None and detail.get("value"):
        value = detail.get("value", "")
        body = text_to_html(value) if detail.get("type") == "text/plain" else value
    elif raw.get("summary"):
        body = raw.get("summary", "")
    enclosures = []
    image = ""
    for candidate in raw.get("links") or []:
        if candidate.get("rel") != "enclosure":
            continue
        href = safe_url(candidate.get("href"), base=item_base)
        if not href:
            continue
        kind = clean_text(candidate.get("type", ""), limit=100)
        enclosures.append({"url": href, "type": kind, "length": str(candidate.get("length", ""))})
        if not image and kind.startswith("image/"):
            image = href
    for media in (raw.get("media_thumbnail") or []) + (raw.get("media_content") or []):
        if not image and media.get("url"):
            image = safe_url(media.get("url"), base=item_base)
    return ParsedEntry(
        key="",
        guid=clean_text(raw.get("id", ""), limit=1000),
        title=clean_text(raw.get("title", "")),
        link=link,
        summary_html=clean_html(body, base=item_base),
        author=clean_text(raw.get("author", ""), limit=300),
        image_url=image,
        enclosures=enclosures[:10],
        # dict.get: feedparser's own .get warns when it maps updated to published.
        published_at=_struct_to_datetime(
            dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")
        ),
    )


def assign_keys(entries: list[ParsedEntry]) -> list[ParsedEntry]:
    """Identity: raw guid, else link, else title and content; repeats disambiguated
    (guid|link first, then by their position among the repeats)."""
    seen: dict[str, int] = {}
    for entry in entries:
        entry.content_hash = _sha(
            "\x1f".join(
                [entry.title, entry.link, entry.summary_html, entry.image_url, entry.author]
            )
        )
        if entry.guid:
            identity = "g:" + entry.guid
        elif entry.link:
            identity = "l:" + entry.link
        else:
            identity = "h:" + _sha(entry.title + "\x1f" + entry.summary_html)
        if identity in seen and entry.guid and entry.link:
            identity = f"{identity}|{entry.link}"
        count = seen.get(identity, 0)
        seen[identity] = count + 1
        if count:
            identity = f"{identity}#{count}"
        entry.key = _sha(identity)
    return entries


# --- JSON Feed (https://jsonfeed.org/version/1.1); feedparser 6 does not read it -------


def _iso_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _text(value: Any, limit: int = 1000) -> str:
    return clean_text(value if isinstance(value, str) else "", limit=limit)


def _parse_json_feed(body: bytes, *, url: str) -> ParsedFeed:
    try:
        document = json.loads(body.decode("utf-8-sig", errors="replace"))
    except (ValueError, RecursionError) as err:
        return ParsedFeed(problem=UNREADABLE, detail=clean_text(str(err), limit=200))
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        return ParsedFeed(problem=NOT_A_FEED)
    items = document.get("items")
    entries = []
    for raw in items if isinstance(items, list) else []:
        if not isinstance(raw, dict):
            continue
        link = safe_url(_text(raw.get("url"), 2000), base=url)
        item_base = link or url
        if isinstance(raw.get("content_html"), str):
            body_html = clean_html(raw["content_html"], base=item_base)
        else:
            body_html = text_to_html(_text(raw.get("content_text") or raw.get("summary"), 20_000))
        authors = raw.get("authors") or ([raw["author"]] if raw.get("author") else [])
        author = ", ".join(_text(a.get("name"), 100) for a in authors if isinstance(a, dict))
        enclosures = [
            {
                "url": safe_url(_text(a.get("url"), 2000), base=item_base),
                "type": _text(a.get("mime_type"), 100),
                "length": str(a.get("size_in_bytes", "")),
            }
            for a in raw.get("attachments") or []
            if isinstance(a, dict)
        ]
        entries.append(
            _titled(
                ParsedEntry(
                    key="",
                    guid=_text(str(raw.get("id", "")) if raw.get("id") is not None else ""),
                    title=_text(raw.get("title")),
                    link=link,
                    summary_html=body_html,
                    author=author[:300],
                    image_url=safe_url(_text(raw.get("image") or raw.get("banner_image"), 2000)),
                    enclosures=[e for e in enclosures if e["url"]][:10],
                    published_at=_iso_datetime(raw.get("date_published"))
                    or _iso_datetime(raw.get("date_modified")),
                )
            )
        )
    return ParsedFeed(title=_text(document.get("title")), entries=assign_keys(entries))
