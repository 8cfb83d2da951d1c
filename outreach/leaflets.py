"""Printed leaflets per area: A4 PDF, Portuguese or English, standard or Easy Read.

Built from the same published content as the public site, with the same expiry: an
offer past its end date or no longer active is never listed, and the leaflet says until
when it is valid (the earliest end of what it lists, at most ``VALID_DAYS`` after it was
printed), so paper never outlives the offer it names. Rendered from Jinja templates
(outreach/templates) with WeasyPrint as tagged PDF (``pdf/ua-1``: a structure tree and
``/MarkInfo``, so screen readers read it in order), with the DejaVu fonts embedded and a
QR code (segno, inline SVG) to the area's public page.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

import segno
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session
from weasyprint import HTML

from answers.directory import list_public_contacts, list_public_measures
from answers.models import ContactPublic, MeasurePublic
from connectivity.gaps import area_gaps
from geo.areas import area_hierarchy, area_names, country_code
from geo.models import Area, AreaLevel
from hub import settings
from hub.errors import InvalidInput, NotFound
from hub.i18n import _, get_language, set_language
from hub.records import utcnow
from initiatives.models import CHANNEL_LABELS, Channel, InitiativePublic
from initiatives.queries import RegistryFilter, list_public, published_reach

TEMPLATES = Path(__file__).parent / "templates"
OFFLINE_CHANNELS = (Channel.PHONE, Channel.SMS, Channel.IN_PERSON, Channel.BROADCAST)
VALID_DAYS = 30  # a leaflet is reprinted at least monthly, even if nothing it lists ends
MAX_OFFERS = 40  # about four A4 pages; the QR code leads to the rest
MAX_MEASURES = 12
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["j2", "html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["_"] = _
    return environment


_ENVIRONMENT = _environment()


@dataclass(frozen=True)
class LeafletOffer:
    """One offer as the leaflet prints it: what, who, how to reach it, until when."""

    title: str
    summary: str
    organisation: str
    reach: list[str]  # "Phone", "In person", ... (offline channels first)
    link: str
    where: str  # "" when it covers the whole area of the leaflet
    valid_until: date | None
    online_only: bool
    channels: tuple[Channel, ...] = ()


@dataclass
class Leaflet:
    area_code: str
    area_name: str
    level: AreaLevel
    language: str
    easy_read: bool
    lines: list[ContactPublic]
    offers: list[LeafletOffer]
    measures: list[MeasurePublic]
    page_url: str
    office: str
    printed_on: date
    valid_until: date
    national_lines_only: bool = False  # nothing available here: the national lines instead
    omitted_online: int = 0  # online-only offers left out (the page lists them)
    notes: list[str] = field(default_factory=list)


def first_sentence(text: str, limit: int = 160) -> str:
    """The first sentence of a description, cut at a word (Easy Read: one idea)."""
    flat = " ".join(text.split())
    sentence = _SENTENCE_END.split(flat, maxsplit=1)[0] if flat else ""
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0] + "…"


def area_page_url(code: str) -> str:
    """The area's public page: the front page filtered to the area."""
    return f"{settings.public_base_url()}?{urlencode({'area': code})}"


def _offer(initiative: InitiativePublic, *, where: str) -> LeafletOffer:
    offline = [c for c in OFFLINE_CHANNELS if c in initiative.channels]
    reach = [_(CHANNEL_LABELS[c]) for c in offline]
    if Channel.ONLINE in initiative.channels:
        reach.append(_(CHANNEL_LABELS[Channel.ONLINE]))
    return LeafletOffer(
        title=initiative.title,
        summary=first_sentence(initiative.description, 240),
        organisation=initiative.organisation,
        reach=reach,
        link=initiative.link,
        where=where,
        valid_until=initiative.end_date,
        online_only=not offline,
        channels=tuple(initiative.channels),
    )


def _offline_rank(offer: LeafletOffer) -> tuple[int, str]:
    return (1 if offer.online_only else 0, offer.title.casefold())


def lines_for(contacts: list[ContactPublic], chain: list[str]) -> list[ContactPublic]:
    """National lines and those of the area or an area containing it; emergency first
    (the directory's order is kept within each group)."""
    here = [c for c in contacts if not c.area_code or c.area_code in chain]
    return sorted(here, key=lambda c: not c.emergency)


def gather_leaflet(
    *,
    session: Session,
    area_code: str,
    language: str = "pt",
    easy_read: bool = False,
    include_online: bool = False,
    today: date | None = None,
) -> Leaflet:
    """Everything one area's leaflet prints. Unknown area: NotFound naming the code."""
    today = today or utcnow().date()
    area = session.get(Area, area_code)
    if area is None:
        raise NotFound(_("There is no area with the code {code}.").format(code=area_code))
    if area.level is AreaLevel.COUNTRY:
        raise InvalidInput(
            _("Area: choose a district or a municipality, not the whole country."), field="area"
        )
    parents = area_hierarchy(session=session)
    names = area_names(session=session)
    chain: list[str] = []
    code: str | None = area.code
    while code and code not in chain:
        chain.append(code)
        code = parents.get(code)
    inside = [c for c, parent in parents.items() if parent == area.code]
    initiatives, _total = list_public(
        session=session,
        filters=RegistryFilter(areas_any=chain + inside, in_force_on=today),
        limit=10_000,
    )
    offers: list[LeafletOffer] = []
    omitted = 0
    for initiative in initiatives:
        # Listed again here, not only in the query: an ended offer never reaches paper.
        if initiative.end_date is not None and initiative.end_date < today:
            continue
        covers_all = any(c in chain for c in initiative.areas)
        where = "" if covers_all else ", ".join(names.get(c, c) for c in initiative.areas)
        offer = _offer(initiative, where=where)
        if offer.online_only and not include_online:
            omitted += 1
            continue
        offers.append(offer)
    offers.sort(key=_offline_rank)
    offers = offers[:MAX_OFFERS]
    measures = list_public_measures(session=session, on=today, limit=MAX_MEASURES)
    contacts = list_public_contacts(session=session)
    lines = lines_for(contacts, chain)
    nothing = not offers
    if nothing:  # says so, and lists every national line
        lines = [c for c in contacts if not c.area_code or c.area_code == country_code()]
    ends = [o.valid_until for o in offers if o.valid_until] + [
        m.in_force_to for m in measures if m.in_force_to
    ]
    valid_until = min([today + timedelta(days=VALID_DAYS), *ends])
    return Leaflet(
        area_code=area.code,
        area_name=area.name,
        level=area.level,
        language=language,
        easy_read=easy_read,
        lines=lines,
        offers=offers,
        measures=measures,
        page_url=area_page_url(area.code),
        office=str(settings.get("HUB_OFFICE_NAME")),
        printed_on=today,
        valid_until=valid_until,
        national_lines_only=nothing,
        omitted_online=omitted,
    )


def qr_svg(url: str) -> str:
    """The QR code of ``url`` as inline SVG markup (segno; medium error correction, which
    survives a photocopy)."""
    return str(segno.make(url, error="m").svg_inline(scale=3, omitsize=False, title=url))


def render_html(leaflet: Leaflet) -> str:
    """The leaflet as HTML, in its language (the template picks the Easy Read variant)."""
    previous = get_language()
    set_language(leaflet.language)
    try:
        template = "leaflet_easy.html.j2" if leaflet.easy_read else "leaflet.html.j2"
        return _ENVIRONMENT.get_template(template).render(
            leaflet=leaflet,
            lang=leaflet.language,
            qr=qr_svg(leaflet.page_url),
            day=lambda d: format_date(d, format="long", locale=leaflet.language) if d else "",
            level_label=_("District") if leaflet.level is AreaLevel.DISTRICT else _("Municipality"),
        )
    finally:
        set_language(previous)


def render_pdf(leaflet: Leaflet) -> bytes:
    """The leaflet as a tagged A4 PDF (PDF/UA-1) with its fonts embedded."""
    return bytes(HTML(string=render_html(leaflet)).write_pdf(pdf_variant="pdf/ua-1"))


def leaflet_name(leaflet: Leaflet) -> str:
    easy = "-easy-read" if leaflet.easy_read else ""
    return f"leaflet-{leaflet.area_code}-{leaflet.language}{easy}.pdf"


def leaflet_pdf(
    *,
    session: Session,
    area_code: str,
    language: str = "pt",
    easy_read: bool = False,
    include_online: bool = False,
    today: date | None = None,
) -> tuple[str, bytes]:
    """(file name, PDF) of one area's leaflet."""
    leaflet = gather_leaflet(
        session=session,
        area_code=area_code,
        language=language,
        easy_read=easy_read,
        include_online=include_online,
        today=today,
    )
    return leaflet_name(leaflet), render_pdf(leaflet)


def largest_gap_areas(*, session: Session, count: int, level: str = "municipality") -> list[str]:
    """The codes of the ``count`` areas with the largest connectivity gap (areas whose
    gap is unknown come last, as on the gap map)."""
    if count < 1:
        raise InvalidInput(_("Number of areas: use a whole number above zero."), field="top")
    gaps = area_gaps(session=session, level=level, initiatives=published_reach(session=session))
    return [gap.code for gap in gaps[:count]]


def leaflets_zip(
    *,
    session: Session,
    area_codes: list[str],
    language: str = "pt",
    easy_read: bool = False,
    include_online: bool = False,
    today: date | None = None,
) -> bytes:
    """One ZIP with a leaflet per area (PDFs are compressed already: stored as they are)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for code in area_codes:
            name, pdf = leaflet_pdf(
                session=session,
                area_code=code,
                language=language,
                easy_read=easy_read,
                include_online=include_online,
                today=today,
            )
            archive.writestr(name, pdf)
    return buffer.getvalue()
