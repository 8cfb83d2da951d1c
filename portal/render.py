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
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit
from xml.etree import ElementTree as ET

import nh3
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hub import settings
from hub.i18n import LANGUAGES, N_, _, get_language, ngettext, set_language
from hub.urls import safe_http_url
from initiatives.models import (
    CHANNEL_LABELS,
    COST_LABELS,
    STATUS_LABELS,
    Channel,
    Cost,
    InitiativePublic,
)
from portal.content import PortalContent
from portal.items import ItemContent
from portal.opendata import licence

TEMPLATES = FileSystemLoader(str(Path(__file__).parent / "templates"))
ATOM = "http://www.w3.org/2005/Atom"
# The date in every tag: URI (RFC 4151): when the hub's ids began; never change it.
TAG_DATE = "2020"
_BLOCK_END = re.compile(r"</(?:p|div|li|h[1-6]|blockquote|pre|tr)\s*>|<br\s*/?>", re.IGNORECASE)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_NOT_ID = re.compile(r"[^A-Za-z0-9_-]")
_NOT_FILE = re.compile(r"[^A-Za-z0-9._-]")
# issue 8: open data of the contacts directory, official answers and measures
ANSWERS_LINKS = {
    "contacts_json": "contacts.json",
    "contacts_csv": "contacts.csv",
    "answers_json": "answers.json",
    "measures_json": "measures.json",
    # issue 16: descriptors and the 3W in long form
    "datapackage": "datapackage.json",
    "catalogue": "catalogue.jsonld",
    "three_w": "initiatives-3w.csv",
}


def _environment() -> Environment:
    environment = Environment(
        loader=TEMPLATES,
        autoescape=select_autoescape(["j2", "html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["_"] = _
    environment.globals["ngettext"] = ngettext
    environment.globals["data_licence"] = licence  # issue 16: on every page's footer
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
        "home": base if language == settings.default_language() else f"{base}?lang={language}",
        "signin": SIGNIN,
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
                    "self_base": static_index_name(1, language),
                    "home": "index.html" if language == "pt" else "index.en.html",
                    "signin": "",
                    "other_language": static_index_name(content.query.page, other),
                    "feed": "feed.xml" if language == "pt" else "feed.en.xml",
                    "json": "initiatives.json",
                    "csv": "initiatives.csv",
                    **ANSWERS_LINKS,
                }
            )
        names = content.area_names

        def page_link(number: int) -> str:
            if static:  # the static export writes every page of the list as its own file
                return static_index_name(number, language)
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
            item_link=lambda kind, key: item_href(
                kind, key, root=base if not static else "", static=static, language=language
            ),
            status_label=lambda i: status_label(i, ended=i.code in content.ended_codes),
            dates=dates,
            **_lists(names, content.audiences),
        )
    finally:
        set_language(previous)


SIGNIN = "/signin?next=/app/"


def _lists(names: dict[str, str], audiences: dict[str, str]) -> dict[str, Any]:
    return {
        "area_list": lambda codes: ", ".join(names.get(c, c) for c in codes) or "—",
        "audience_list": lambda codes: (
            ", ".join(audiences.get(c, c) for c in codes) or _("Everyone")
        ),
        "channel_list": lambda channels: (
            ", ".join(_(CHANNEL_LABELS[Channel(c)]) for c in channels) or "—"
        ),
        "cost_label": lambda cost: _(COST_LABELS[Cost(cost)]),
    }


def status_label(initiative: InitiativePublic, *, ended: bool) -> str:
    """The status as the public reads it; an active or planned offer past its end date
    says it ended."""
    label = _(STATUS_LABELS[initiative.status])
    if ended and initiative.status.value in {"active", "planned"}:
        return _("Ended")
    return label


def dates(start: date | None, end: date | None) -> str:
    if start and end:
        return _("from {start} to {end}").format(start=start.isoformat(), end=end.isoformat())
    if start:
        return _("since {start}, no end date").format(start=start.isoformat())
    if end:
        return _("until {end}").format(end=end.isoformat())
    return _("no dates given")


def static_index_name(page: int, language: str) -> str:
    """The static export's file for a page of the list: ``index.html``, ``index.en.html``,
    then ``index-2.html``, ``index-2.en.html``..."""
    number = "" if page <= 1 else f"-{page}"
    return f"index{number}{'' if language == 'pt' else '.en'}.html"


def static_name(key: str) -> str:
    """A file name for an item key on a static host: the key itself when it is made of
    letters, digits, dots, dashes and underscores; else those and a short hash (an
    initiative code may hold "/" or ":")."""
    safe = _NOT_FILE.sub("-", key)
    if safe == key and not key.startswith("."):
        return key
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]  # noqa: S324 - a name
    return f"{safe.lstrip('.')}-{digest}"


def item_path(kind: str, key: object, *, static: bool, language: str) -> str:
    """An item page's path from the site's root: ``initiatives/INI-000014`` served
    (``?lang=en`` outside the default language), ``initiatives/INI-000014.html`` (and
    ``.en.html``) in the static export. No ``language``: the default one."""
    language = language or ("pt" if static else settings.default_language())
    if static:
        return f"{kind}/{static_name(str(key))}{'' if language == 'pt' else '.en'}.html"
    query = "" if language == settings.default_language() else f"?lang={language}"
    return f"{kind}/{quote(str(key), safe='')}{query}"


def item_href(kind: str, key: object, *, root: str, static: bool, language: str) -> str:
    prefix = root if root.endswith("/") or not root else f"{root}/"
    return prefix + item_path(kind, key, static=static, language=language)


def item_url(
    kind: str, key: object, *, static: bool = False, language: str = "", base_url: str = ""
) -> str:
    """An item page's absolute address (from HUB_PUBLIC_BASE_URL unless ``base_url``), for
    the feed and the JSON open data."""
    return (base_url or settings.public_base_url()) + item_path(
        kind, key, static=static, language=language
    )


def _item_links(kind: str, key: str, language: str, *, static: bool) -> dict[str, str]:
    other = "en" if language == "pt" else "pt"
    if static:
        own = static_name(key)
        return {
            "home": "../index.html" if language == "pt" else "../index.en.html",
            "other_language": f"{own}{'' if other == 'pt' else '.en'}.html",
            "signin": "",
        }
    return {
        "home": "/" if language == settings.default_language() else f"/?lang={language}",
        "other_language": f"/{kind}/{quote(key, safe='')}?lang={other}",
        "signin": SIGNIN,
    }


ENDED_NOTICES = {
    "initiatives": N_("This offer has ended: it is no longer available. Kept for the record."),
    "measures": N_("This measure is no longer in force. Kept for the record."),
}
KIND_LABELS = {
    "initiatives": N_("Support available"),
    "measures": N_("Measures in force"),
    "answers": N_("Questions answered by the authorities"),
}


def render_item(
    item: ItemContent, *, demo: bool, generated_at: datetime, static: bool = False
) -> str:
    """An item's own page in ``item.language``; ``static`` writes links between the
    files of the static export (the item pages sit in a folder under the index)."""
    previous = get_language()
    set_language(item.language)
    try:
        language = item.language
        other = "en" if language == "pt" else "pt"
        root = "../" if static else "/"
        return _ENVIRONMENT.get_template("item.html.j2").render(
            lang=language,
            other_lang=other,
            other_language_name=LANGUAGES[other],
            item=item,
            links=_item_links(item.kind, item.key, language, static=static),
            demo=demo,
            generated_at=generated_at,
            when=when,
            safe_url=lambda url: safe_http_url(url or "", assume_https=False),
            item_link=lambda kind, key: item_href(
                kind, key, root=root, static=static, language=language
            ),
            status_label=lambda i: status_label(i, ended=item.ended),
            dates=dates,
            kind_label=_(KIND_LABELS[item.kind]),
            ended_notice=_(ENDED_NOTICES.get(item.kind, ENDED_NOTICES["initiatives"])),
            **_lists(item.area_names, item.audiences),
        )
    finally:
        set_language(previous)


def render_notice(*, language: str, status: int, message: str, generated_at: datetime) -> str:
    """The short page of a 404 or a 410 (``status``), in ``language`` (served only)."""
    previous = get_language()
    set_language(language)
    try:
        other = "en" if language == "pt" else "pt"
        heading = _("No longer published") if status == 410 else _("Page not found")
        return _ENVIRONMENT.get_template("notice.html.j2").render(
            lang=language,
            other_lang=other,
            other_language_name=LANGUAGES[other],
            heading=heading,
            message=message,
            links={
                "home": "/" if language == settings.default_language() else f"/?lang={language}",
                "other_language": f"/?lang={other}",
                "signin": SIGNIN,
            },
            demo=False,
            generated_at=generated_at,
            when=when,
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
    to its own page on the public site (and to its own site as ``related``)."""
    language = content.language
    links = atom_links(base_url, language, static=static)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": language})
    ET.SubElement(feed, f"{{{ATOM}}}title").text = _("Official information and support")
    terms = licence()  # issue 16: the feed's rights are the open data's licence
    rights = f"{terms['title']} ({terms['name']}): {terms['path']}"
    ET.SubElement(feed, f"{{{ATOM}}}rights").text = rights
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
                    "link": item_url(
                        "initiatives",
                        initiative.code,
                        static=static,
                        language=language,
                        base_url=base_url,
                    ),
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
    initiatives: list[InitiativePublic], *, generated_at: datetime, demo: bool, static: bool = False
) -> bytes:
    """Every published initiative; each carries ``url``, the absolute address of its page."""
    document = {
        "generated_at": generated_at.astimezone(UTC).isoformat(),
        "demo": demo,
        "count": len(initiatives),
        "initiatives": [
            i.model_copy(update={"url": item_url("initiatives", i.code, static=static)}).model_dump(
                mode="json"
            )
            for i in initiatives
        ],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
