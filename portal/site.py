"""Building the public files (page, feed, open data) from the database, with a cache that
lets a crowd cost almost nothing: each distinct page is rendered once per data change.

Used by the ASGI routes (portal/routes.py) and the static export (``export-public``).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from time import monotonic

from sqlalchemy.engine import Engine

from answers.directory import list_public_measures
from answers.service import list_public_answers
from hub import settings
from hub.db import session_scope
from hub.errors import Gone
from hub.i18n import get_language, set_language
from initiatives.exchange import ExportFormat, export_initiatives
from initiatives.queries import list_public
from portal.content import PublicQuery, data_version, gather
from portal.items import gather_item, is_item, item_lookups
from portal.opendata import OPEN_DATA_FILES, build_open_data_file
from portal.render import initiatives_json, render_atom, render_index, render_item, render_notice
from portal.render_answers import ANSWERS_FILES, EVERYTHING, build_answers_file

PUBLIC_BASE = "/"
HTML = "text/html; charset=utf-8"
FILES = {
    "index": "text/html; charset=utf-8",
    "feed.xml": "application/atom+xml; charset=utf-8",
    "initiatives.json": "application/json; charset=utf-8",
    "initiatives.csv": "text/csv; charset=utf-8",
    # issue 8: official answers, measures in force, contacts directory
    "contacts.json": "application/json; charset=utf-8",
    "contacts.csv": "text/csv; charset=utf-8",
    "answers.json": "application/json; charset=utf-8",
    "measures.json": "application/json; charset=utf-8",
    **OPEN_DATA_FILES,  # issue 16: datapackage.json, catalogue.jsonld, 3W tables, schemas
}


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str
    etag: str
    last_modified: str  # HTTP date
    status: int = 200  # 410 for an item that was public once


def build(
    engine: Engine,
    name: str,
    *,
    language: str,
    query: PublicQuery,
    base: str = PUBLIC_BASE,
    static: bool = False,
) -> bytes:
    """One public file or item page (``initiatives/INI-000014``, portal.items), freshly
    rendered from the database. An item not published raises NotFound, one withdrawn
    since it was public raises Gone (hub.errors)."""
    now = datetime.now(UTC)
    demo = settings.demo_mode()
    previous = get_language()
    set_language(language)  # topic names and notices are gathered in the page's language
    try:
        return _build(
            engine,
            name,
            language=language,
            query=query,
            base=base,
            static=static,
            now=now,
            demo=demo,
        )
    finally:
        set_language(previous)


def _build(
    engine: Engine,
    name: str,
    *,
    language: str,
    query: PublicQuery,
    base: str,
    static: bool,
    now: datetime,
    demo: bool,
) -> bytes:
    with session_scope(engine) as session:
        if is_item(name):
            item = gather_item(session=session, name=name, language=language)
            return render_item(item, demo=demo, generated_at=now, static=static).encode("utf-8")
        if name == "initiatives.json":
            everything, _total = list_public(session=session, limit=1_000_000)
            return initiatives_json(everything, generated_at=now, demo=demo, static=static)
        if name == "initiatives.csv":
            return export_initiatives(session=session, actor=None, format=ExportFormat.HXL).data
        if name in OPEN_DATA_FILES:
            return build_open_data_file(session=session, name=name, generated_at=now)
        if name in ANSWERS_FILES:
            return build_answers_file(
                session=session, name=name, generated_at=now, demo=demo, static=static
            )
        content = gather(session=session, query=query, language=language)
    if name == "feed.xml":
        return render_atom(
            content, base_url=settings.public_base_url(), generated_at=now, static=static
        )
    return render_index(content, base=base, demo=demo, generated_at=now, static=static).encode(
        "utf-8"
    )


def build_items(
    engine: Engine, names: list[str], *, language: str, static: bool = False
) -> Iterator[tuple[str, bytes]]:
    """Many item pages in one session with one set of labels (the static export): the
    same pages ``build`` renders one by one."""
    now = datetime.now(UTC)
    demo = settings.demo_mode()
    previous = get_language()
    set_language(language)
    try:
        with session_scope(engine) as session:
            lookups = item_lookups(session=session, language=language)
            for name in names:
                item = gather_item(session=session, name=name, language=language, lookups=lookups)
                yield name, render_item(item, demo=demo, generated_at=now, static=static).encode()
    finally:
        set_language(previous)


def index_page_count(engine: Engine) -> int:
    """How many pages the default list (what is in force today) takes: the static export
    writes each of them."""
    with session_scope(engine) as session:
        return gather(session=session, query=PublicQuery(), language="pt").pages


def item_keys(engine: Engine) -> dict[str, list[str]]:
    """Every item with a page of its own, by kind: published initiatives (ended ones too),
    every published measure (ended ones too) and published answers (the static export's
    pages)."""
    with session_scope(engine) as session:
        initiatives, _total = list_public(session=session, limit=1_000_000)
        return {
            "initiatives": [i.code for i in initiatives],
            "measures": [
                str(m.id)
                for m in list_public_measures(session=session, limit=EVERYTHING, ended_too=True)
            ],
            "answers": [str(a.id) for a in list_public_answers(session=session, limit=EVERYTHING)],
        }


class PublicCache:
    """Rendered files keyed by (file, language, query), valid while the data version is
    unchanged. The version (two aggregate queries) is checked at most every
    HUB_PUBLIC_CACHE_SECONDS, so a burst of requests costs one render and a few queries."""

    def __init__(self, engine: Engine, *, max_entries: int = 512) -> None:
        self.engine = engine
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str, PublicQuery], Rendered] = OrderedDict()
        self._version = ""
        self._version_since = datetime.now(UTC)
        self._checked_at = float("-inf")

    def _current_version(self) -> str:
        ttl = float(settings.get("HUB_PUBLIC_CACHE_SECONDS"))
        if monotonic() - self._checked_at >= ttl:
            with session_scope(self.engine) as session:
                version = data_version(session=session)
            with self._lock:
                self._checked_at = monotonic()
                if version != self._version:
                    self._version = version
                    self._version_since = datetime.now(UTC)
                    self._entries.clear()
        return self._version

    def cached(self, name: str, language: str, query: PublicQuery) -> Rendered | None:
        """A hit without touching the database, or None (then call ``render``)."""
        ttl = float(settings.get("HUB_PUBLIC_CACHE_SECONDS"))
        if monotonic() - self._checked_at >= ttl:
            return None
        with self._lock:
            hit = self._entries.get((name, language, query))
            if hit is not None:
                self._entries.move_to_end((name, language, query))
            return hit

    def render(self, name: str, language: str, query: PublicQuery) -> Rendered:
        version = self._current_version()
        key = (name, language, query)
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None:
            return hit
        status = 200
        try:
            body = build(self.engine, name, language=language, query=query)
        except Gone as err:  # kept like a page: it stays gone until the data changes
            body = render_notice(
                language=language, status=410, message=str(err), generated_at=datetime.now(UTC)
            ).encode("utf-8")
            status = 410
        tag = hashlib.sha256(f"{version}|{name}|{language}|{query}".encode()).hexdigest()[:20]
        rendered = Rendered(
            body=body,
            media_type=FILES.get(name, HTML),
            etag=f'"{tag}"',
            last_modified=format_datetime(self._version_since, usegmt=True),
            status=status,
        )
        with self._lock:
            self._entries[key] = rendered
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return rendered
