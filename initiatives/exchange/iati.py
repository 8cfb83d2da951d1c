"""The registry as IATI 2.03 XML (``iati-activities``).

Beyond the XSD, the IATI rulesets: the reporting-org ref is checked against the
OrganisationRegistrationAgency codelist (``partners.orgid``); identifiers never carry
``/ & | ?`` (``iati_identifier``); each sector is given twice, as an OECD DAC 5-digit
purpose code (vocabulary 1, ``data/iati/dac_purpose_codes.csv``) and as the hub's own
category (vocabulary 99, with its vocabulary-uri); the crisis is the humanitarian-scope
(``HUB_IATI_HUMANITARIAN_SCOPE``); an organisation with an org-id identifier is the
participating-org's ref; a status that implies it has an actual start or end date.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree
from sqlmodel import Session, select

from geo.areas import country_code
from geo.models import Area, AreaLevel
from hub import settings
from hub.errors import InvalidInput
from hub.i18n import _, get_language
from hub.records import utcnow
from initiatives.exchange.formats import ExportRow
from initiatives.models import CHANNEL_LABELS, ParticipantRole, Status, VocabularyKind
from initiatives.queries import related_for_export
from initiatives.vocabulary import vocabulary
from partners.models import Organisation, OrganisationType
from partners.orgid import check_org_id

IATI_VERSION = "2.03"
IATI_STATUS = {
    Status.PLANNED: "1",  # Pipeline/identification
    Status.ACTIVE: "2",  # Implementation
    Status.COMPLETED: "3",  # Finalisation: the work is done
    Status.CANCELLED: "5",
    Status.SUSPENDED: "6",
}
IATI_ROLE = {
    ParticipantRole.FUNDING: "1",
    ParticipantRole.LEAD: "2",  # Accountable
    ParticipantRole.IMPLEMENTING: "4",
}
IATI_ORGANISATION_TYPE = {
    OrganisationType.PUBLIC: "10",  # Government
    OrganisationType.PRIVATE: "70",  # Private Sector
    OrganisationType.NON_PROFIT: "22",  # National NGO
    OrganisationType.ACADEMIC: "80",  # Academic, Training and Research
}
IATI_RELATED_CO_FUNDED = "4"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DAC_CODES = Path(__file__).resolve().parents[2] / "data" / "iati" / "dac_purpose_codes.csv"
DAC_UNSPECIFIED = "99810"  # Sectors not specified: a category with no mapping
GLIDE_VOCABULARY = "1-2"
HUMANITARIAN_EMERGENCY = "1"
# Statuses that mean the work began (actual start, type 2) or ended (actual end, type 4).
STARTED = {Status.ACTIVE, Status.COMPLETED, Status.SUSPENDED}
ENDED = {Status.COMPLETED}
# IATI rule: an identifier must not contain these (they break URLs and the registry).
_UNSAFE = re.compile(r"[/&|?\s]")
VOCABULARIES_FILE = "vocabularies.json"


@cache
def dac_purpose_codes() -> dict[str, str]:
    """The hub's category code -> OECD DAC 5-digit purpose code (vocabulary 1)."""
    with DAC_CODES.open(encoding="utf-8", newline="") as handle:
        return {row["category"]: row["code"] for row in csv.DictReader(handle)}


def joint_links(*, session: Session) -> dict[int, list[str]]:
    """Initiatives staff linked as one joint effort (issue 4: initiatives.overlap)."""
    return related_for_export(session=session)


def reporting_org_ref() -> str:
    """The setting, refused when empty or not an org-id of a listed registration agency."""
    ref = str(settings.get("HUB_IATI_REPORTING_ORG_REF")).strip()
    if not ref:
        raise InvalidInput(
            _(
                "Set HUB_IATI_REPORTING_ORG_REF to the office's organisation identifier "
                "(see org-id.guide, e.g. PT-NIPPC-600000000) before exporting IATI."
            ),
            field="format",
        )
    return check_org_id(ref, label="HUB_IATI_REPORTING_ORG_REF", field="format")


def safe_code(code: str) -> str:
    """A code fit for an IATI identifier: ``/ & | ?`` and spaces become ``-``, and a code
    that had any gets a short hash of the original, so ``OPM/2020/001`` and
    ``OPM-2020-001`` stay two activities (``OPM-2020-001-h1a2b3c``)."""
    if not _UNSAFE.search(code):
        return code
    digest = hashlib.sha1(code.encode()).hexdigest()[:6]  # noqa: S324 - an id, not a secret
    return f"{_UNSAFE.sub('-', code)}-h{digest}"


def iati_identifier(ref: str, code: str) -> str:
    """``{reporting-org ref}-{code}`` with the code made safe; a code that already carries
    the prefix is kept (made safe too)."""
    safe = safe_code(code)
    return safe if safe.startswith(ref + "-") else f"{ref}-{safe}"


def actual_dates(
    status: Status,
    planned: tuple[date | None, date | None],
    actual: tuple[date | None, date | None],
    *,
    registered: date,
    updated: date,
    today: date,
) -> tuple[date | None, date | None]:
    """Actual start and end as the status implies them: recorded ones first, else the
    planned ones, else the day registered / last updated; never in the future, the end
    never before the start."""
    start, end = actual
    if status in STARTED and start is None:
        start = min(planned[0] or registered, today)
    if status in ENDED and end is None:
        end = min(planned[1] or updated, today)
        if start is not None and end < start:
            end = start
    return start, end


def _narrative(parent: Any, tag: str, text: str, **attributes: str) -> Any:
    element = etree.SubElement(parent, tag, **attributes)
    etree.SubElement(element, "narrative").text = text
    return element


def iati_xml(
    *,
    session: Session,
    rows: Sequence[ExportRow],
    organisations: Mapping[int, Organisation],
    full: bool,
    related: Mapping[int, Sequence[str]],
) -> bytes:
    """IATI 2.03 ``iati-activities`` with the elements IATI makes mandatory, in schema order."""
    ref = reporting_org_ref()
    reporting_name = str(settings.get("HUB_IATI_REPORTING_ORG_NAME"))
    country = country_code()
    areas = {a.code: a for a in session.exec(select(Area)).all()}
    categories = {
        t.code: t
        for t in vocabulary(session=session, kind=VocabularyKind.CATEGORY, include_inactive=True)
    }
    groups = {
        t.code: t
        for t in vocabulary(
            session=session, kind=VocabularyKind.TARGET_GROUP, include_inactive=True
        )
    }
    language = get_language()
    today = utcnow().date()
    dac = dac_purpose_codes()
    scope = str(settings.get("HUB_IATI_HUMANITARIAN_SCOPE"))
    vocabulary_uri = settings.public_base_url() + VOCABULARIES_FILE

    def label(term: Any, code: str) -> str:
        if term is None:
            return code
        return str(term.label_pt if language == "pt" else term.label_en)

    root = etree.Element(
        "iati-activities",
        version=IATI_VERSION,
        **{"generated-datetime": utcnow().replace(microsecond=0).isoformat()},
    )
    for row in rows:
        initiative, draft = row.initiative, row.draft
        activity = etree.SubElement(
            root,
            "iati-activity",
            **{
                "last-updated-datetime": initiative.updated_at.replace(microsecond=0).isoformat(),
                XML_LANG: language,
                "humanitarian": "1",
            },
        )
        etree.SubElement(activity, "iati-identifier").text = iati_identifier(ref, initiative.code)
        _narrative(activity, "reporting-org", reporting_name, ref=ref, type="10")
        _narrative(activity, "title", draft.title)
        _narrative(activity, "description", draft.description or draft.title, type="1")
        roles: list[tuple[int | None, str]] = [
            (draft.lead_organisation_id, IATI_ROLE[ParticipantRole.LEAD]),
            (draft.lead_organisation_id, IATI_ROLE[ParticipantRole.IMPLEMENTING]),
        ] + [(p.organisation_id, IATI_ROLE[p.role]) for p in draft.participants]
        for organisation_id, role in roles:
            organisation = organisations.get(organisation_id or 0)
            if organisation is not None:
                reference = (
                    {"ref": organisation.org_identifier} if organisation.org_identifier else {}
                )
                _narrative(
                    activity,
                    "participating-org",
                    organisation.name,
                    **reference,
                    role=role,
                    type=IATI_ORGANISATION_TYPE.get(organisation.type, "10"),
                )
        etree.SubElement(activity, "activity-status", code=IATI_STATUS[draft.status])
        actual_start, actual_end = actual_dates(
            draft.status,
            (draft.planned_start, draft.planned_end),
            (draft.actual_start, draft.actual_end),
            registered=initiative.created_at.date(),
            updated=initiative.updated_at.date(),
            today=today,
        )
        dates = [
            ("1", draft.planned_start),
            ("2", actual_start),
            ("3", draft.planned_end),
            ("4", actual_end),
        ]
        if not draft.planned_start and not draft.actual_start:
            # IATI needs a start date; the day it was registered is the best we know.
            dates[0] = ("1", initiative.created_at.date())
        for kind, when in sorted(dates, key=lambda d: d[0]):
            if when is not None:
                etree.SubElement(activity, "activity-date", type=kind, **{"iso-date": str(when)})
        if full and draft.contact_email:
            contact = etree.SubElement(activity, "contact-info", type="1")
            etree.SubElement(contact, "email").text = draft.contact_email
        etree.SubElement(activity, "recipient-country", code=country, percentage="100")
        for code in draft.areas:
            area = areas.get(code)
            if code == country or area is None:
                continue
            location = etree.SubElement(activity, "location", ref=code)
            etree.SubElement(location, "location-reach", code="1")
            _narrative(location, "name", area.name)
            if area.lat is not None and area.lon is not None:
                point = etree.SubElement(
                    location, "point", srsName="http://www.opengis.net/def/crs/EPSG/0/4326"
                )
                etree.SubElement(point, "pos").text = f"{area.lat} {area.lon}"
            etree.SubElement(location, "exactness", code="2")
            etree.SubElement(location, "location-class", code="1")
            etree.SubElement(
                location,
                "feature-designation",
                code="ADM1" if area.level is AreaLevel.DISTRICT else "ADM2",
            )
        etree.SubElement(
            activity,
            "sector",
            vocabulary="1",
            code=dac.get(draft.category, DAC_UNSPECIFIED),
            percentage="100",
        )
        _narrative(
            activity,
            "sector",
            label(categories.get(draft.category), draft.category),
            vocabulary="99",
            **{"vocabulary-uri": vocabulary_uri},
            code=draft.category,
            percentage="100",
        )
        for group in draft.target_groups:
            _narrative(
                activity,
                "tag",
                label(groups.get(group), group),
                vocabulary="99",
                **{"vocabulary-uri": vocabulary_uri},
                code=group,
            )
        for channel in draft.channels:
            _narrative(
                activity,
                "tag",
                _(CHANNEL_LABELS[channel]),
                vocabulary="99",
                **{"vocabulary-uri": vocabulary_uri},
                code=channel.value,
            )
        if scope:
            etree.SubElement(
                activity,
                "humanitarian-scope",
                type=HUMANITARIAN_EMERGENCY,
                vocabulary=GLIDE_VOCABULARY,
                code=scope,
            )
        if draft.link:
            document = etree.SubElement(
                activity, "document-link", format="text/html", url=draft.link
            )
            _narrative(document, "title", draft.title)
            etree.SubElement(document, "category", code="A12")  # activity web page
        for other in related.get(initiative.id or 0, []):
            etree.SubElement(
                activity,
                "related-activity",
                ref=iati_identifier(ref, other),
                type=IATI_RELATED_CO_FUNDED,
            )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
