"""OPML 2.0 import and export of the source list."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from feeds.models import FeedSource, SourceDraft, TrustTier
from hub.errors import InvalidInput
from hub.i18n import _

MAX_OPML_BYTES = 2 * 1024 * 1024
# Our own attributes, in a namespace so other readers ignore them.
HUB_NS = "https://hub.example/opml"
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.I)


@dataclass
class OpmlOutline:
    draft: SourceDraft
    line: str  # how the outline is named in messages


def read_opml(data: bytes, *, default_trust: TrustTier) -> list[OpmlOutline]:
    if len(data) > MAX_OPML_BYTES:
        raise InvalidInput(_("OPML file: larger than 2 MB; split it."), field="opml")
    if _DTD.search(data):
        # Entity declarations are how XML bombs and external-entity reads work.
        raise InvalidInput(
            _("OPML file: it declares a DOCTYPE or entities, which the hub refuses."),
            field="opml",
        )
    try:
        root = ET.fromstring(data)  # noqa: S314 - no DTD possible (checked above)
    except ET.ParseError as err:
        raise InvalidInput(
            _("OPML file: not valid XML ({error}).").format(error=err), field="opml"
        ) from None
    if root.tag != "opml":
        raise InvalidInput(_("OPML file: the document is not OPML."), field="opml")
    outlines = []
    for node in root.iter("outline"):
        url = (node.get("xmlUrl") or "").strip()
        if not url:
            continue  # a folder
        name = (node.get("title") or node.get("text") or url).strip()
        trust_raw = node.get(f"{{{HUB_NS}}}trust", "")
        interval_raw = node.get(f"{{{HUB_NS}}}interval", "")
        draft = SourceDraft(
            name=name[:200],
            url=url,
            publisher=(node.get(f"{{{HUB_NS}}}publisher") or "")[:200],
            language=(node.get("language") or node.get(f"{{{HUB_NS}}}language") or "pt")[:8],
            topics=(node.get(f"{{{HUB_NS}}}topics") or node.get("category") or "")[:500],
            trust=TrustTier(trust_raw) if trust_raw in set(TrustTier) else default_trust,
            interval_minutes=int(interval_raw) if interval_raw.isdigit() else 30,
            attribution=(node.get(f"{{{HUB_NS}}}attribution") or "")[:500],
            enabled=node.get(f"{{{HUB_NS}}}enabled", "true") != "false",
        )
        outlines.append(OpmlOutline(draft=draft, line=name[:80]))
    return outlines


def write_opml(sources: list[FeedSource], *, title: str) -> bytes:
    ET.register_namespace("hub", HUB_NS)
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = ET.SubElement(root, "body")
    for source in sources:
        ET.SubElement(
            body,
            "outline",
            {
                "type": "rss",
                "text": source.name,
                "title": source.name,
                "xmlUrl": source.url,
                "language": source.language,
                "category": source.topics,
                f"{{{HUB_NS}}}publisher": source.publisher,
                f"{{{HUB_NS}}}topics": source.topics,
                f"{{{HUB_NS}}}trust": source.trust.value,
                f"{{{HUB_NS}}}interval": str(source.interval_minutes),
                f"{{{HUB_NS}}}attribution": source.attribution,
                f"{{{HUB_NS}}}enabled": "true" if source.enabled else "false",
            },
        )
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
