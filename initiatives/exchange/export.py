"""Exporting the registry as CSV, XLSX, HXL or IATI, and the import template.

Every text cell of a CSV or XLSX goes through ``hub.tabular.safe_cell`` (formula
injection); the importer takes the guard's quote off again, so files round-trip.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlmodel import Session, col, select

from geo.areas import country_code
from geo.models import Area, AreaLevel
from hub.auth import Principal, require_staff
from hub.errors import InvalidInput
from hub.i18n import _
from hub.records import utcnow
from hub.tabular import safe_cell
from initiatives.bulk import drafts_of
from initiatives.exchange.formats import (
    COLUMNS,
    FILE_SUFFIXES,
    HXL_3W_COLUMNS,
    HXL_CHANNEL_COLUMNS,
    HXL_COLUMNS,
    HXL_ORGANISATION_COLUMNS,
    HXL_TARGET_GROUP_COLUMNS,
    MEDIA_TYPES,
    PUBLIC_COLUMNS,
    ExportFile,
    ExportFormat,
    ExportRow,
    multi,
)
from initiatives.exchange.iati import iati_xml, joint_links
from initiatives.exchange.tables import SEPARATOR
from initiatives.models import Initiative, ParticipantRole, ReviewState, Status
from partners.models import Organisation


def _export_rows(
    session: Session, actor: Principal | None, include_all: bool
) -> tuple[list[ExportRow], dict[int, Organisation]]:
    if include_all:
        require_staff(actor)
    query = select(Initiative).order_by(col(Initiative.code))
    if not include_all:
        query = query.where(Initiative.review_state == ReviewState.PUBLISHED)
    initiatives = list(session.exec(query).all())
    drafts = drafts_of(session=session, initiatives=initiatives)
    organisations = {o.id: o for o in session.exec(select(Organisation)).all() if o.id}
    return [ExportRow(i, drafts[i.id]) for i in initiatives if i.id is not None], organisations


def _exchange_record(
    row: ExportRow, organisations: Mapping[int, Organisation], full: bool
) -> dict[str, Any]:
    draft = row.draft

    def name(organisation_id: int | None) -> str:
        organisation = organisations.get(organisation_id or 0)
        return organisation.name if organisation else ""

    record: dict[str, Any] = {
        "id": row.initiative.code,
        "title": draft.title,
        "description": draft.description,
        "organisation": name(draft.lead_organisation_id),
        "participating_organisations": multi(
            [f"{name(p.organisation_id)}:{p.role.value}" for p in draft.participants]
        ),
        "category": draft.category,
        "target_groups": multi(draft.target_groups),
        "areas": multi(draft.areas),
        "channels": multi(draft.channels),
        "start_date": draft.planned_start,
        "end_date": draft.planned_end,
        "status": draft.status.value,
        "people_targeted": draft.people_targeted,
        "people_reached": draft.people_reached,
        "link": draft.link,
    }
    if full:
        record["contact_email"] = draft.contact_email
    return record


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(safe_cell(value))  # a quote keeps a formula text; the import takes it off


def _csv_bytes(header: Sequence[str], records: Sequence[Sequence[Any]], *, bom: bool) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for record in records:
        writer.writerow([_csv_value(v) for v in record])
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def _xlsx_bytes(header: Sequence[str], records: Sequence[Sequence[Any]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("initiatives")
    bold = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        bold.append(cell)
    sheet.append(bold)
    for record in records:
        sheet.append([_xlsx_value(sheet, v) for v in record])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(sheet: Any, value: Any) -> Any:
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=safe_cell(value))
        cell.data_type = "s"  # text, never a formula
        return cell
    return value


def _hxl_record(record: Mapping[str, Any], country: str) -> list[Any]:
    areas = [a for a in str(record.get("areas") or "").split(SEPARATOR) if a]
    split = {
        "country": multi([a for a in areas if a == country]),
        "districts": multi([a for a in areas if "-" in a]),
        "municipalities": multi([a for a in areas if a.isdigit()]),
    }
    return [
        split[name] if name in split else record.get(name)
        for name, _tag in HXL_COLUMNS
        if name in record or name in split
    ]


def export_initiatives(
    *,
    session: Session,
    actor: Principal | None,
    format: ExportFormat | str,
    include_all: bool = False,
    related: Mapping[int, Sequence[str]] | None = None,
) -> ExportFile:
    """The registry in an exchange format.

    Public by default: published initiatives, public fields only (no contact e-mail, no
    review state or notes). ``include_all`` (staff only; anyone else gets
    PermissionDenied) exports every initiative in every state, with its contact e-mail.
    ``related`` maps an initiative id to codes (or full IATI identifiers) of initiatives
    linked to it; the IATI export writes them as related-activity (co-funded).
    """
    fmt = ExportFormat(format)
    rows, organisations = _export_rows(session, actor, include_all)
    records = [_exchange_record(r, organisations, include_all) for r in rows]
    columns = COLUMNS if include_all else PUBLIC_COLUMNS
    if fmt is ExportFormat.CSV:
        data = _csv_bytes(columns, [[r[c] for c in columns] for r in records], bom=True)
    elif fmt is ExportFormat.XLSX:
        data = _xlsx_bytes(columns, [[r[c] for c in columns] for r in records])
    elif fmt is ExportFormat.HXL:
        country = country_code()
        names = [n for n, _t in HXL_COLUMNS if include_all or n != "contact_email"]
        tags = [t for n, t in HXL_COLUMNS if n in names]
        data = _csv_bytes(names, [tags] + [_hxl_record(r, country) for r in records], bom=True)
    else:
        data = iati_xml(
            session=session,
            rows=rows,
            organisations=organisations,
            full=include_all,
            related=related if related is not None else joint_links(session=session),
        )
    stamp = utcnow().strftime("%Y%m%d")
    scope = "all" if include_all else "public"
    return ExportFile(
        data=data,
        filename=f"initiatives-{scope}-{stamp}{FILE_SUFFIXES[fmt]}",
        media_type=MEDIA_TYPES[fmt],
        count=len(rows),
    )


# The long HXL tables of the public registry (issue 16), by file name.
HXL_LONG_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "initiatives-3w.csv": HXL_3W_COLUMNS,
    "initiatives-organisations.csv": HXL_ORGANISATION_COLUMNS,
    "initiatives-channels.csv": HXL_CHANNEL_COLUMNS,
    "initiatives-target-groups.csv": HXL_TARGET_GROUP_COLUMNS,
}
_ROLE_COLUMN = {
    ParticipantRole.LEAD: "accountable",
    ParticipantRole.IMPLEMENTING: "implementing",
    ParticipantRole.FUNDING: "funding",
}


def _hxl_table(columns: Sequence[tuple[str, str]], records: Sequence[Mapping[str, Any]]) -> bytes:
    names = [name for name, _tag in columns]
    tags = [tag for _name, tag in columns]
    return _csv_bytes(names, [tags] + [[r.get(n) for n in names] for r in records], bom=True)


def _area_rows(
    codes: Sequence[str], areas: Mapping[str, Area], country: str
) -> list[dict[str, Any]]:
    """One row per area: the country alone, a district with its code and name, or a
    municipality with its district's code and name beside its own."""
    rows: list[dict[str, Any]] = []
    for code in codes:
        area = areas.get(code)
        if code == country or area is None or area.level is AreaLevel.COUNTRY:
            rows.append({"country": country})
        elif area.level is AreaLevel.DISTRICT:
            rows.append({"country": country, "district": code, "district_name": area.name})
        else:
            parent = areas.get(area.parent_code or "")
            rows.append(
                {
                    "country": country,
                    "district": parent.code if parent else "",
                    "district_name": parent.name if parent else "",
                    "municipality": code,
                    "municipality_name": area.name,
                }
            )
    return rows or [{"country": country}]


def export_hxl_long(*, session: Session) -> dict[str, bytes]:
    """The published registry as long HXL tables (OCHA 3W practice): initiative x area,
    initiative x organisation (role as the column's attribute), x channel, x target
    group. One value per cell, so HDX and libhxl join them to admin areas."""
    rows, organisations = _export_rows(session, None, False)
    country = country_code()
    areas = {a.code: a for a in session.exec(select(Area)).all()}

    def name(organisation_id: int | None) -> str:
        organisation = organisations.get(organisation_id or 0)
        return organisation.name if organisation else ""

    three_w: list[dict[str, Any]] = []
    participants: list[dict[str, Any]] = []
    channels: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    for row in rows:
        code, draft = row.initiative.code, row.draft
        base = {
            "id": code,
            "title": draft.title,
            "organisation": name(draft.lead_organisation_id),
            "category": draft.category,
            "status": draft.status.value,
            "start_date": draft.planned_start,
            "end_date": draft.planned_end,
        }
        three_w.extend({**base, **area} for area in _area_rows(draft.areas, areas, country))
        lead = name(draft.lead_organisation_id)
        if lead:
            participants.append({"id": code, "accountable": lead})
            participants.append({"id": code, "implementing": lead})
        for participant in draft.participants:
            participants.append(
                {"id": code, _ROLE_COLUMN[participant.role]: name(participant.organisation_id)}
            )
        channels.extend({"id": code, "channel": c.value} for c in draft.channels)
        groups.extend({"id": code, "target_group": g} for g in draft.target_groups)
    tables = {
        "initiatives-3w.csv": three_w,
        "initiatives-organisations.csv": participants,
        "initiatives-channels.csv": channels,
        "initiatives-target-groups.csv": groups,
    }
    return {file: _hxl_table(HXL_LONG_TABLES[file], tables[file]) for file in HXL_LONG_TABLES}


def import_template(format: ExportFormat | str, *, organisation_name: str = "") -> ExportFile:
    """An empty exchange file (CSV or XLSX) with the header and one example row."""
    fmt = ExportFormat(format)
    example = {
        "id": "EXAMPLE-001",
        "title": _("Free mobile data for health workers"),
        "description": _("Extra mobile data at no cost for doctors and nurses."),
        "organisation": organisation_name or _("Your organisation's name or acronym"),
        "participating_organisations": _("Partner name") + ":funding",
        "category": "connectivity",
        "target_groups": "health_professionals;students_teachers",
        "areas": "PT-11;1106",
        "channels": "online;phone",
        "start_date": date(2020, 3, 20),
        "end_date": date(2020, 6, 30),
        "status": Status.PLANNED.value,
        "people_targeted": 1000,
        "people_reached": None,
        "link": "https://www.example.pt/dados",
        "contact_email": "contacto@example.pt",
    }
    record = [example[c] for c in COLUMNS]
    if fmt is ExportFormat.CSV:
        data = _csv_bytes(COLUMNS, [record], bom=True)
    elif fmt is ExportFormat.XLSX:
        data = _xlsx_bytes(COLUMNS, [record])
    else:
        raise InvalidInput(_("The template comes as CSV or XLSX."), field="format")
    return ExportFile(
        data=data,
        filename=f"initiatives-template{FILE_SUFFIXES[fmt]}",
        media_type=MEDIA_TYPES[fmt],
        count=0,
    )
