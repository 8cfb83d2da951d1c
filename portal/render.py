"""Rendering the public face: the plain HTML page (no JavaScript, small, printable,
accessible), the Atom feed and the JSON open data. Pure functions of PortalContent.

Jinja2 autoescapes every value; links from outside are scheme-checked again here (the
feed ingester checked them once already) and summaries are reduced to plain text, so
nothing from a feed can add markup, scripts or images to the page.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit
from xml.etree import ElementTree as ET

import nh3
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hub import settings
from hub.i18n import LANGUAGES, _, get_language, set_language
from hub.urls import safe_http_url
from initiatives.models import CHANNEL_LABELS, COST_LABELS, Channel, Cost, InitiativePublic
from portal.content import PortalContent

TEMPLATES = FileSystemLoader(str(Path(__file__).parent / "templates"))
ATOM = "http://www.w3.org/2005/Atom"
# The date in every tag: URI (RFC 4151): when the hub's ids began; never change it.
TAG_DATE = "2020"
_BLOCK_END = re.compile(r"</(?:p|div|li|h[1-6]|blockquote|pre|tr)\s*>|<br\s*/?>", re.IGNORECASE)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_NOT_ID = re.compile(r"[^A-Za-z0-9_-]")
# issue 8: open data of the contacts directory, official answers and measures
ANSWERS_LINKS = {
    "contacts_json": "contacts.json",
    "contacts_csv": "contacts.csv",
    "answers_json": "answers.json",
    "measures_json": "measures.json",
}


def _environment() -> Environment:
    environment = Environment(
        loader=TEMPLATES,
        autoescape=select_autoescape(["j2", "html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["_"] = _
    return environment


_ENVIRONMENT = _environment()


def plain_text(html: str) -> str:
    return " ".join(nh3.clean(html or "", tags=set()).split())


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def page_links(base: str, language: str, content: PortalContent | None) -> dict[str, str]:
    params = content.query.as_params() if content else {}
    other = "en" if language == "pt" else "pt"
    suffix = "" if base.endswith("/") else "/"
    return {
        "self_base": base,
        "other_language": f"{base}?{urlencode({**params, 'lang': other})}",
        "feed": f"{base}{suffix}feed.xml" + ("" if language == "pt" else "?lang=en"),
        "json": f"{base}{suffix}initiatives.json",
        "csv": f"{base}{suffix}initiatives.csv",
        **{key: f"{base}{suffix}{name}" for key, name in ANSWERS_LINKS.items()},
    }


def render_index(
    content: PortalContent, *, base: str, demo: bool, generated_at: datetime, static: bool = False
) -> str:
    """The page in ``content.language``. ``static`` writes links for a static host
    (index.html / index.en.html, no query strings)."""
    previous = get_language()
    set_language(content.language)
    try:
        language = content.language
        other = "en" if language == "pt" else "pt"
        links = page_links(base, language, content)
        if static:
            links.update(
                {
                    "self_base": "index.html" if language == "pt" else "index.en.html",
                    "other_language": "index.en.html" if other == "en" else "index.html",
                    "feed": "feed.xml" if language == "pt" else "feed.en.xml",
                    "json": "initiatives.json",
                    "csv": "initiatives.csv",
                    **ANSWERS_LINKS,
                }
            )
        names = content.area_names

        def page_link(number: int) -> str:
            return f"{base}?{urlencode({**content.query.as_params(page=number), 'lang': language})}"

        return _ENVIRONMENT.get_template("index.html.j2").render(
            lang=language,
            other_lang=other,
            other_language_name=LANGUAGES[other],
            content=content,
            links=links,
            demo=demo,
            generated_at=generated_at,
            channels=[(c.value, _(CHANNEL_LABELS[c])) for c in Channel],
            when=when,
            plain=plain_text,
            safe_url=lambda url: safe_http_url(url or "", assume_https=False),
            page_link=page_link,
            anchor=initiative_anchor,
            area_list=lambda codes: ", ".join(names.get(c, c) for c in codes) or "—",
            audience_list=lambda codes: (
                ", ".join(content.audiences.get(c, c) for c in codes) or _("Everyone")
            ),
            channel_list=lambda channels: (
                ", ".join(_(CHANNEL_LABELS[Channel(c)]) for c in channels) or "—"
            ),
            cost_label=lambda cost: _(COST_LABELS[Cost(cost)]),
        )
    finally:
        set_language(previous)


def text_paragraphs(html: str) -> str:
    """Plain text of an HTML fragment with its paragraph breaks kept ("televisão.\n\nTexto"),
    for text summaries; ``plain_text`` runs everything together on one line."""
    marked = _BLOCK_END.sub("\n\n", html or "")
    text = nh3.clean(marked, tags=set())
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def tag_uri(base_url: str, *parts: str) -> str:
    """A ``tag:`` URI (RFC 4151) of this deployment: stable, absolute, and its own even when
    two offices run the hub (the authority is the public site's host)."""
    authority = urlsplit(base_url).hostname or "localhost"
    return f"tag:{authority},{TAG_DATE}:" + ":".join(quote(p, safe="-._~") for p in parts)


def atom_links(base_url: str, language: str, *, static: bool) -> dict[str, str]:
    """The feed's own address and its page's, per language, served or static."""
    if static:
        suffix = "" if language == "pt" else ".en"
        return {
            "self": f"{base_url}feed{suffix}.xml",
            "page": f"{base_url}index{suffix}.html",
        }
    query = "" if language == settings.default_language() else f"?lang={language}"
    return {"self": f"{base_url}feed.xml{query}", "page": f"{base_url}{query}"}


def render_atom(
    content: PortalContent, *, base_url: str, generated_at: datetime, static: bool = False
) -> bytes:
    """Official stories and newly published support, newest first, as Atom 1.0 (RFC 4287).

    Ids are absolute ``tag:`` URIs of this deployment (a story with a link keeps that
    link as its id); every entry links to a page: a story to its source, an initiative
    to its card on the public page (and to its own site as ``related``)."""
    language = content.language
    links = atom_links(base_url, language, static=static)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": language})
    ET.SubElement(feed, f"{{{ATOM}}}title").text = _("Official information and support")
    ET.SubElement(feed, f"{{{ATOM}}}id").text = tag_uri(base_url, "feed", language)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = generated_at.astimezone(UTC).isoformat()
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": links["self"]})
    ET.SubElement(
        feed, f"{{{ATOM}}}link", {"rel": "alternate", "type": "text/html", "href": links["page"]}
    )
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = _("Coordination office")
    entries: list[tuple[datetime, dict[str, Any]]] = []
    for _topic, stories in content.stories_by_topic:
        for story in stories:
            link = safe_http_url(story.link, assume_https=False)
            digest = hashlib.sha1(story.title.encode()).hexdigest()  # noqa: S324 - an id
            entries.append(
                (
                    story.first_seen_at,
                    {
                        "id": link or tag_uri(base_url, "story", digest),
                        "title": story.title,
                        "link": link or f"{links['page']}#news",
                        "related": "",
                        "summary": text_paragraphs(story.summary_html),
                        "source": ", ".join(s.name for s in story.sources),
                    },
                )
            )
    for initiative in content.initiatives:
        entries.append(
            (
                initiative.updated_at,
                {
                    "id": tag_uri(base_url, "initiative", initiative.code),
                    "title": initiative.title,
                    "link": f"{links['page']}#{initiative_anchor(initiative.code)}",
                    "related": safe_http_url(initiative.link, assume_https=False),
                    "summary": initiative.description,
                    "source": initiative.organisation,
                },
            )
        )
    for moment, entry in sorted(entries, key=lambda pair: pair[0], reverse=True):
        element = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(element, f"{{{ATOM}}}id").text = entry["id"]
        ET.SubElement(element, f"{{{ATOM}}}title").text = entry["title"]
        ET.SubElement(element, f"{{{ATOM}}}updated").text = moment.astimezone(UTC).isoformat()
        ET.SubElement(element, f"{{{ATOM}}}link", {"rel": "alternate", "href": entry["link"]})
        if entry["related"]:
            ET.SubElement(element, f"{{{ATOM}}}link", {"rel": "related", "href": entry["related"]})
        if entry["summary"]:
            ET.SubElement(element, f"{{{ATOM}}}summary").text = entry["summary"][:1000]
        source_author = ET.SubElement(element, f"{{{ATOM}}}author")
        ET.SubElement(source_author, f"{{{ATOM}}}name").text = entry["source"] or "—"
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def initiative_anchor(code: str) -> str:
    """The id of an initiative's card on the public page: a valid HTML id, and unique
    (a code with other characters gets a short hash, so "A/1" and "A-1" differ)."""
    safe = _NOT_ID.sub("-", code)
    if safe == code:
        return f"initiative-{code}"
    digest = hashlib.sha1(code.encode()).hexdigest()[:8]  # noqa: S324 - an id
    return f"initiative-{safe}-{digest}"


def initiatives_json(
    initiatives: list[InitiativePublic], *, generated_at: datetime, demo: bool
) -> bytes:
    document = {
        "generated_at": generated_at.astimezone(UTC).isoformat(),
        "demo": demo,
        "count": len(initiatives),
        "initiatives": [i.model_dump(mode="json") for i in initiatives],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
