"""Exchanging initiatives with other tools: CSV/XLSX import and CSV, XLSX, HXL and IATI export.

The exchange format is documented in docs/exchange-format.md. Import validates every
row with ``service.validate_draft`` (the reference lists are read once per import),
reports every bad row with its row number, column and reason, and writes all rows or
none (or, on request, the valid rows only) through ``initiatives.bulk``, which
versions and audits each record as the one-record services do. Permissions are the
services' rules: a partner imports for their own organisation only.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from lxml import etree
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from hub import settings
from hub.audit import record_change
from hub.auth import Principal, require_staff
from hub.errors import HubError, InvalidInput, PermissionDenied
from hub.i18n import _, get_language
from hub.records import utcnow
from initiatives.bulk import BulkItem, drafts_of, initiatives_by_code, write_many
from initiatives.models import (
    CHANNEL_LABELS,
    PARTICIPANT_ROLE_LABELS,
    STATUS_LABELS,
    Channel,
    Initiative,
    InitiativeDraft,
    Participant,
    ParticipantRole,
    ReviewState,
    Status,
    VocabularyKind,
)
from initiatives.queries import related_for_export
from initiatives.service import (
    country_code,
    known_area_codes,
    validate_draft,
    vocabulary,
)
from partners.models import Organisation, OrganisationType

# --- the format ------------------------------------------------------------------------

COLUMNS: tuple[str, ...] = (
    "id",
    "title",
    "description",
    "organisation",
    "participating_organisations",
    "category",
    "target_groups",
    "areas",
    "channels",
    "start_date",
    "end_date",
    "status",
    "people_targeted",
    "people_reached",
    "link",
    "contact_email",
)
PUBLIC_COLUMNS = tuple(c for c in COLUMNS if c != "contact_email")
REQUIRED_COLUMNS = ("id", "title")
SEPARATOR = ";"
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@")
DEFAULT_CATEGORY = "other"
MAX_ROWS = 100_000

# Draft field (as InvalidInput.field names it) -> exchange column.
FIELD_COLUMNS = {
    "code": "id",
    "lead_organisation_id": "organisation",
    "participants": "participating_organisations",
    "planned_start": "start_date",
    "planned_end": "end_date",
    "actual_start": "start_date",
    "actual_end": "end_date",
}

# HXL: the exchange columns, with areas split by level as HXL tags them.
HXL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "#activity+id"),
    ("title", "#activity+name"),
    ("description", "#activity+description"),
    ("organisation", "#org+impl+name"),
    ("participating_organisations", "#org+partner+name"),
    ("category", "#sector"),
    ("target_groups", "#beneficiary+type"),
    ("country", "#country+code"),
    ("districts", "#adm1+code"),
    ("municipalities", "#adm2+code"),
    ("channels", "#channel"),
    ("start_date", "#date+start"),
    ("end_date", "#date+end"),
    ("status", "#status"),
    ("people_targeted", "#targeted"),
    ("people_reached", "#reached"),
    ("link", "#meta+url"),
    ("contact_email", "#contact+email"),
)
HXL_AREA_COLUMNS = ("country", "districts", "municipalities")

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


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    HXL = "hxl"
    IATI = "iati"


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv",
    ExportFormat.HXL: "text/csv",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.IATI: "application/xml",
}
FILE_SUFFIXES = {
    ExportFormat.CSV: ".csv",
    ExportFormat.HXL: ".hxl.csv",
    ExportFormat.XLSX: ".xlsx",
    ExportFormat.IATI: ".iati.xml",
}


@dataclass(frozen=True)
class ExportFile:
    """Bytes ready for a download button or a file."""

    data: bytes
    filename: str
    media_type: str
    count: int


# --- the report ------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    created: list[str] = field(default_factory=list)  # identifiers
    updated: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    written: bool = False
    valid_only: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems})

    def summary(self) -> str:
        if self.written:
            text = _("{created} created and {updated} updated from {rows} rows.").format(
                created=len(self.created), updated=len(self.updated), rows=self.rows
            )
            if self.problems:
                text += " " + _("{n} rows with problems were skipped.").format(n=len(self.bad_rows))
            return text
        if not self.rows:
            return _("Nothing was imported: the file has no rows below the header.")
        if self.valid_only:
            return _("Nothing was imported: every row has problems.")
        return _(
            "Nothing was imported: {n} of {rows} rows have problems. Correct them and import "
            "the file again, or import the valid rows only."
        ).format(n=len(self.bad_rows), rows=self.rows)

    def lines(self) -> list[str]:
        """The report as text: the summary, warnings, then one line per problem."""
        return (
            [self.summary()]
            + self.warnings
            + [
                _("Row {row}, {column}: {message}").format(
                    row=p.row, column=p.column, message=p.message
                )
                for p in self.problems
            ]
        )


# --- reading files ---------------------------------------------------------------------


def _is_xlsx(data: bytes, filename: str) -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04"


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel's "CSV (separated by semicolons)" in a Portuguese Windows is Windows-1252.
        return data.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _normalise_header(name: Any) -> str:
    text = "" if name is None else str(name)
    return re.sub(r"[\s\-]+", "_", text.strip().strip("\ufeff").lower())


def read_table(data: bytes, *, filename: str = "") -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """The header (normalised) and the rows with their spreadsheet row numbers.

    CSV in UTF-8 (with or without BOM) or Windows-1252, separated by commas, semicolons
    or tabs; or the first sheet of an XLSX workbook. A second row of HXL hashtags is
    skipped; empty rows are dropped.
    """
    if _is_xlsx(data, filename):
        records = _xlsx_records(data)
    else:
        text = _decode(data)
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)))
    if not records or not any(_cell_text(v) for v in records[0]):
        raise InvalidInput(_("The file is empty: the first row must name the columns."))
    header = [_normalise_header(h) for h in records[0]]
    rows: list[tuple[int, list[Any]]] = []
    for number, record in enumerate(records[1:], start=2):
        cells = [_cell_text(v) for v in record]
        if not any(cells):
            continue
        if number == 2 and all(c.startswith("#") for c in cells if c):
            continue  # HXL hashtag row
        rows.append((number, list(record)))
    if len(rows) > MAX_ROWS:
        raise InvalidInput(
            _("The file has {n} rows; import at most {max} at a time.").format(
                n=len(rows), max=MAX_ROWS
            )
        )
    return header, rows


def _xlsx_records(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of error for a damaged file
        raise InvalidInput(
            _("This is not a readable XLSX workbook. Save it again from your spreadsheet.")
        ) from None
    try:
        sheet = workbook.active if workbook.active is not None else workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


# --- cells -----------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if type(value) is str:
        text = value.strip()
        return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_STARTS else text
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if text.startswith("'") and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text


def _split(value: Any) -> list[str]:
    return [part.strip() for part in _cell_text(value).split(SEPARATOR) if part.strip()]


_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")


def parse_date(value: Any) -> date | None:
    """ISO 8601 (2020-03-20, or a date-time), a spreadsheet date cell, or 20/03/2020."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell_text(value)
    if not text:
        return None
    match = _DAY_FIRST.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return date.fromisoformat(text)


_GROUPED = re.compile(r"^\d{1,3}([.,]\d{3})+$")


def parse_whole_number(value: Any) -> int | None:
    """A whole number written with or without thousand separators: 1000, 1 000, 1.000,
    1,000; decimal commas or points are accepted when nothing follows but zeros."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        return int(value)
    text = re.sub(r"[\s\u00a0\u202f'_]", "", _cell_text(value))
    if not text:
        return None
    if _GROUPED.match(text):  # 1.000 and 1,000 are a thousand people, not one
        return int(re.sub(r"[.,]", "", text))
    last = max(text.rfind("."), text.rfind(","))
    if last >= 0:  # the last separator is the decimal one; the others group thousands
        whole, fraction = re.sub(r"[.,]", "", text[:last]), text[last + 1 :]
        if not whole.isdigit() or (fraction and not fraction.isdigit()) or fraction.strip("0"):
            raise ValueError(value)
        return int(whole)
    if not text.lstrip("-").isdigit():
        raise ValueError(value)
    return int(text)


def _choice_map(pairs: Mapping[Any, str], *values: Any) -> dict[str, Any]:
    """Lower-cased codes and labels (English and current language) -> the member."""
    mapping: dict[str, Any] = {}
    for member, label in pairs.items():
        for key in (str(member.value), label, _(label), *values):
            if key:
                mapping[str(key).strip().lower().replace("-", " ").replace("_", " ")] = member
    return mapping


def _key(value: str) -> str:
    return value.strip().lower().replace("-", " ").replace("_", " ")


# --- import ----------------------------------------------------------------------------


@dataclass
class _Reference:
    """Everything validation needs, read once per import."""

    organisations: dict[str, int]  # lower-case name or acronym -> id (active only)
    organisation_ids: set[int]
    categories: set[str]
    category_keys: dict[str, str]
    target_groups: set[str]
    group_keys: dict[str, str]
    area_codes: set[str]
    country: str

    @classmethod
    def load(cls, session: Session) -> _Reference:
        organisations: dict[str, int] = {}
        active = list(
            session.exec(select(Organisation).where(col(Organisation.active).is_(True))).all()
        )
        for organisation in active:  # acronyms first, so a name wins over an equal acronym
            if organisation.acronym and organisation.id is not None:
                organisations[organisation.acronym.strip().lower()] = organisation.id
        for organisation in active:
            if organisation.id is not None:
                organisations[organisation.name.strip().lower()] = organisation.id
        categories = vocabulary(session=session, kind=VocabularyKind.CATEGORY)
        groups = vocabulary(session=session, kind=VocabularyKind.TARGET_GROUP)
        return cls(
            organisations=organisations,
            organisation_ids={o.id for o in active if o.id is not None},
            categories={t.code for t in categories},
            category_keys={
                _key(k): t.code for t in categories for k in (t.code, t.label_en, t.label_pt)
            },
            target_groups={t.code for t in groups},
            group_keys={_key(k): t.code for t in groups for k in (t.code, t.label_en, t.label_pt)},
            area_codes=known_area_codes(session),
            country=country_code(),
        )


_STATUS_KEYS = _choice_map(STATUS_LABELS)
_CHANNEL_KEYS = _choice_map(CHANNEL_LABELS)
_ROLE_KEYS = _choice_map(PARTICIPANT_ROLE_LABELS)
_NATIONAL_WORDS = {"national", "nacional", "país", "pais", "country"}


def _area_code(raw: str, country: str) -> str:
    code = raw.strip()
    if code.lower() in _NATIONAL_WORDS:
        return country
    if code.isdigit() and len(code) == 3:
        return code.zfill(4)  # a spreadsheet dropped the leading zero of 0101
    return code.upper() if code[:2].lower() == country.lower() else code


def _row_values(header: list[str], record: list[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in zip(header, record, strict=False):
        if name and name not in values:
            values[name] = value
    if "areas" not in values and any(c in values for c in HXL_AREA_COLUMNS):
        values["areas"] = SEPARATOR.join(
            _cell_text(values.get(c)) for c in HXL_AREA_COLUMNS if _cell_text(values.get(c))
        )
    return values


def _parse_row(
    values: dict[str, Any], base: InitiativeDraft, ref: _Reference
) -> tuple[InitiativeDraft, list[tuple[str, str]]]:
    """The row laid over ``base`` (the existing record, or the defaults), and its problems.

    A column missing from the file leaves the value alone; an empty cell empties it,
    except organisation, category and status, where it means "unchanged / default".
    """
    problems: list[tuple[str, str]] = []
    update: dict[str, Any] = {"code": _cell_text(values.get("id"))}
    for column in ("title", "description", "link", "contact_email"):
        if column in values:
            update[column] = _cell_text(values[column])
    if _cell_text(values.get("organisation")):
        name = _cell_text(values["organisation"])
        organisation_id = ref.organisations.get(name.lower())
        if organisation_id is None:
            problems.append(("organisation", _unknown_organisation(name)))
        else:
            update["lead_organisation_id"] = organisation_id
    if "participating_organisations" in values:
        participants = []
        for entry in _split(values["participating_organisations"]):
            name, role = entry, ParticipantRole.IMPLEMENTING
            if ":" in entry:
                head, tail = entry.rsplit(":", 1)
                if _key(tail) in _ROLE_KEYS:
                    name, role = head.strip(), _ROLE_KEYS[_key(tail)]
            organisation_id = ref.organisations.get(name.lower())
            if organisation_id is None:
                problems.append(("participating_organisations", _unknown_organisation(name)))
            else:
                participants.append(Participant(organisation_id=organisation_id, role=role))
        update["participants"] = participants
    if _cell_text(values.get("category")):
        raw = _cell_text(values["category"])
        update["category"] = ref.category_keys.get(_key(raw), raw)
    if "target_groups" in values:
        update["target_groups"] = [
            ref.group_keys.get(_key(g), g) for g in _split(values["target_groups"])
        ]
    if "areas" in values:
        update["areas"] = [_area_code(a, ref.country) for a in _split(values["areas"])]
    if "channels" in values:
        channels = []
        for raw in _split(values["channels"]):
            if _key(raw) in _CHANNEL_KEYS:
                channels.append(_CHANNEL_KEYS[_key(raw)])
            else:
                problems.append(
                    (
                        "channels",
                        _("Channels: '{value}' is not a channel. Use: {allowed}.").format(
                            value=raw, allowed=", ".join(c.value for c in Channel)
                        ),
                    )
                )
        update["channels"] = channels
    for column, draft_field in (("start_date", "planned_start"), ("end_date", "planned_end")):
        if column in values:
            try:
                update[draft_field] = parse_date(values[column])
            except ValueError:
                problems.append(
                    (
                        column,
                        _(
                            "{column}: '{value}' is not a date. Write it as YYYY-MM-DD "
                            "(for example 2020-03-20)."
                        ).format(column=column, value=_cell_text(values[column])),
                    )
                )
    if _cell_text(values.get("status")):
        raw = _cell_text(values["status"])
        if _key(raw) in _STATUS_KEYS:
            update["status"] = _STATUS_KEYS[_key(raw)]
        else:
            problems.append(
                (
                    "status",
                    _("Status: '{value}' is not a status. Use: {allowed}.").format(
                        value=raw, allowed=", ".join(s.value for s in Status)
                    ),
                )
            )
    for column in ("people_targeted", "people_reached"):
        if column in values:
            try:
                update[column] = parse_whole_number(values[column])
            except ValueError:
                problems.append(
                    (
                        column,
                        _("{column}: '{value}' is not a whole number of people.").format(
                            column=column, value=_cell_text(values[column])
                        ),
                    )
                )
    return base.model_copy(update=update), problems


def _unknown_organisation(name: str) -> str:
    return _(
        "No active organisation is called '{name}'. Use the name or acronym from the "
        "partner directory."
    ).format(name=name)


def import_initiatives(
    *,
    session: Session,
    actor: Principal | None,
    data: bytes,
    filename: str = "",
    organisation_id: int | None = None,
    valid_only: bool = False,
    submit: bool = False,
) -> ImportReport:
    """Import initiatives from exchange-format CSV or XLSX bytes.

    ``organisation_id`` leads rows whose organisation cell is empty (for a partner it is
    always their own organisation, and a row naming another lead is refused). A row
    whose ``id`` matches an existing initiative updates it; other rows create drafts
    (submitted ones with ``submit``). All rows or none are written, unless
    ``valid_only``. Refused rows leave an audit entry, whatever else happens.
    """
    if actor is None:
        raise PermissionDenied(_("Please sign in first."))
    if not actor.is_staff:
        organisation_id = actor.organisation_id
    header, records = read_table(data, filename=filename)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InvalidInput(
            _("The first row must name the columns; missing: {columns}.").format(
                columns=", ".join(missing)
            )
        )
    report = ImportReport(rows=len(records), valid_only=valid_only)
    known = set(COLUMNS) | set(HXL_AREA_COLUMNS)
    unknown = [h for h in header if h and h not in known]
    if unknown:
        report.warnings.append(
            _("Columns ignored (not part of the exchange format): {columns}.").format(
                columns=", ".join(unknown)
            )
        )
    ref = _Reference.load(session)
    rows = [(number, _row_values(header, record)) for number, record in records]
    existing = initiatives_by_code(session, (_cell_text(v.get("id")) for _n, v in rows))
    current = drafts_of(session, list(existing.values()))
    defaults = InitiativeDraft(category=DEFAULT_CATEGORY, lead_organisation_id=organisation_id)
    items: list[BulkItem] = []
    denied: list[tuple[int, str, Initiative | None]] = []
    seen: dict[str, int] = {}

    for number, values in rows:
        code = _cell_text(values.get("id"))
        if not code:
            report.problems.append(
                RowProblem(number, "id", _("id: every row needs an identifier."))
            )
            continue
        if code in seen:
            report.problems.append(
                RowProblem(
                    number,
                    "id",
                    _("id: '{code}' is already used on row {row} of this file.").format(
                        code=code, row=seen[code]
                    ),
                )
            )
            continue
        seen[code] = number
        record = existing.get(code)
        if (
            record is not None
            and not actor.is_staff
            and record.lead_organisation_id != actor.organisation_id
        ):
            report.problems.append(RowProblem(number, "id", _not_yours()))
            denied.append((number, code, record))
            continue
        if record is not None and record.review_state is ReviewState.WITHDRAWN:
            report.problems.append(
                RowProblem(
                    number,
                    "id",
                    _("'{code}' was withdrawn; it can no longer be edited.").format(code=code),
                )
            )
            continue
        base = current[record.id] if record is not None and record.id is not None else defaults
        draft, problems = _parse_row(values, base, ref)
        if not actor.is_staff and draft.lead_organisation_id != actor.organisation_id:
            report.problems.append(RowProblem(number, "organisation", _not_yours()))
            denied.append((number, code, record))
            continue
        if not problems and draft.lead_organisation_id is None:
            problems.append(
                (
                    "organisation",
                    _("Organisation: name the organisation that leads the initiative."),
                )
            )
        if not problems:
            try:
                draft = validate_draft(
                    session,
                    draft,
                    area_codes=ref.area_codes,
                    categories=ref.categories,
                    target_groups=ref.target_groups,
                    organisation_ids=ref.organisation_ids,
                )
            except InvalidInput as err:
                problems.append((FIELD_COLUMNS.get(err.field or "", err.field or ""), str(err)))
        if problems:
            report.problems.extend(RowProblem(number, c, m) for c, m in problems)
            continue
        items.append(BulkItem(draft=draft, existing=record, current=base if record else None))

    if denied:
        _record_denials(session, actor, denied)
    if (report.problems and not valid_only) or not items:
        return report
    try:
        results = write_many(session, actor=actor, items=items, submit=submit)
        session.commit()
    except HubError:
        session.rollback()
        raise
    except SQLAlchemyError as err:
        session.rollback()
        raise InvalidInput(
            _("The import stopped and nothing was written: {reason}").format(
                reason=str(getattr(err, "orig", err)).splitlines()[0]
            )
        ) from None
    report.written = True
    for result in results:
        (report.created if result.created else report.updated).append(result.code)
    return report


def _not_yours() -> str:
    return _("You may only import your own organisation's initiatives.")


def _record_denials(
    session: Session, actor: Principal, denied: list[tuple[int, str, Initiative | None]]
) -> None:
    """One audit entry per refused row, committed on its own so it outlives a failed import."""
    session.rollback()
    for number, code, record in denied:
        record_change(
            session=session,
            actor=actor,
            action="denied",
            entity_type="initiative",
            entity_id=record.id if record is not None else code,
            summary=f"refused: import row {number} ({code})",
        )
    session.commit()


# --- export ----------------------------------------------------------------------------


@dataclass
class _ExportRow:
    initiative: Initiative
    draft: InitiativeDraft


def _export_rows(
    session: Session, actor: Principal | None, include_all: bool
) -> tuple[list[_ExportRow], dict[int, Organisation]]:
    if include_all:
        require_staff(actor)
    query = select(Initiative).order_by(col(Initiative.code))
    if not include_all:
        query = query.where(Initiative.review_state == ReviewState.PUBLISHED)
    initiatives = list(session.exec(query).all())
    drafts = drafts_of(session, initiatives)
    organisations = {o.id: o for o in session.exec(select(Organisation)).all() if o.id}
    return [_ExportRow(i, drafts[i.id]) for i in initiatives if i.id is not None], organisations


def _multi(values: Sequence[Any]) -> str:
    return SEPARATOR.join(str(getattr(v, "value", v)) for v in values)


def _exchange_record(
    row: _ExportRow, organisations: Mapping[int, Organisation], full: bool
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
        "participating_organisations": _multi(
            [f"{name(p.organisation_id)}:{p.role.value}" for p in draft.participants]
        ),
        "category": draft.category,
        "target_groups": _multi(draft.target_groups),
        "areas": _multi(draft.areas),
        "channels": _multi(draft.channels),
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
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text  # shown as text; the import takes the quote off again
    return text


def _csv_bytes(header: Sequence[str], records: Sequence[Sequence[Any]], *, bom: bool) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for record in records:
        writer.writerow([_csv_value(v) for v in record])
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def _xlsx_bytes(header: Sequence[str], records: Sequence[Sequence[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

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
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # text, never a formula
        return cell
    return value


def _hxl_record(record: Mapping[str, Any], country: str) -> list[Any]:
    areas = [a for a in str(record.get("areas") or "").split(SEPARATOR) if a]
    split = {
        "country": _multi([a for a in areas if a == country]),
        "districts": _multi([a for a in areas if "-" in a]),
        "municipalities": _multi([a for a in areas if a.isdigit()]),
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
        data = _csv_bytes(names, [tags] + [_hxl_record(r, country) for r in records], bom=False)
    else:
        data = iati_xml(
            session=session,
            rows=rows,
            organisations=organisations,
            full=include_all,
            related=related if related is not None else _joint_links(session),
        )
    stamp = utcnow().strftime("%Y%m%d")
    scope = "all" if include_all else "public"
    return ExportFile(
        data=data,
        filename=f"initiatives-{scope}-{stamp}{FILE_SUFFIXES[fmt]}",
        media_type=MEDIA_TYPES[fmt],
        count=len(rows),
    )


# --- IATI ------------------------------------------------------------------------------


def _joint_links(session: Session) -> dict[int, list[str]]:
    """Initiatives staff linked as one joint effort (issue 4: initiatives.overlap)."""
    return related_for_export(session)


def reporting_org_ref() -> str:
    ref = str(settings.get("HUB_IATI_REPORTING_ORG_REF")).strip()
    if not ref:
        raise InvalidInput(
            _(
                "Set HUB_IATI_REPORTING_ORG_REF to the office's organisation identifier "
                "(see org-id.guide, e.g. PT-NIPC-600000000) before exporting IATI."
            ),
            field="format",
        )
    return ref


def iati_identifier(ref: str, code: str) -> str:
    """``{reporting-org ref}-{code}``; a code that already carries the prefix is kept."""
    return code if code.startswith(ref + "-") else f"{ref}-{code}"


def _narrative(parent: Any, tag: str, text: str, **attributes: str) -> Any:
    element = etree.SubElement(parent, tag, **attributes)
    etree.SubElement(element, "narrative").text = text
    return element


def iati_xml(
    *,
    session: Session,
    rows: Sequence[_ExportRow],
    organisations: Mapping[int, Organisation],
    full: bool,
    related: Mapping[int, Sequence[str]],
) -> bytes:
    """IATI 2.03 ``iati-activities`` with the elements IATI makes mandatory, in schema order."""
    from geo.models import Area, AreaLevel

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
                _narrative(
                    activity,
                    "participating-org",
                    organisation.name,
                    role=role,
                    type=IATI_ORGANISATION_TYPE.get(organisation.type, "10"),
                )
        etree.SubElement(activity, "activity-status", code=IATI_STATUS[draft.status])
        dates = [
            ("1", draft.planned_start),
            ("2", draft.actual_start),
            ("3", draft.planned_end),
            ("4", draft.actual_end),
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
        _narrative(
            activity,
            "sector",
            label(categories.get(draft.category), draft.category),
            vocabulary="99",
            code=draft.category,
        )
        for group in draft.target_groups:
            _narrative(
                activity, "tag", label(groups.get(group), group), vocabulary="99", code=group
            )
        for channel in draft.channels:
            _narrative(
                activity, "tag", _(CHANNEL_LABELS[channel]), vocabulary="99", code=channel.value
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


# --- template --------------------------------------------------------------------------


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
