"""Importing initiatives from exchange-format CSV or XLSX, and the import report.

Import validates every row with ``initiatives.validation.validate_draft`` (the
reference lists are read once per import) and reports every problem of every row: its
row number, column, the value and what is expected. ``validate_draft`` stops at the
first problem, so a refused field is set aside (a list keeps only its good values) and
the draft checked again until it passes; the rule stays written once. All rows or none
are written (or, on request, the valid rows only)
through ``initiatives.bulk``, which versions and audits each record as the one-record
services do. Permissions are the services' rules: a partner imports for their own
organisation only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from geo.areas import country_code
from hub.audit import record_change
from hub.auth import Principal
from hub.errors import HubError, InvalidInput, PermissionDenied
from hub.i18n import _
from hub.tabular import safe_cell
from initiatives.bulk import BulkItem, drafts_of, initiatives_by_code, write_many
from initiatives.exchange.formats import (
    COLUMNS,
    DEFAULT_CATEGORY,
    FIELD_COLUMNS,
    HXL_AREA_COLUMNS,
    REQUIRED_COLUMNS,
)
from initiatives.exchange.tables import (
    SEPARATOR,
    area_code,
    cell_text,
    parse_date,
    parse_whole_number,
    read_table,
    split_cell,
)
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
from initiatives.validation import known_area_codes, validate_draft
from initiatives.vocabulary import vocabulary
from partners.models import Organisation


@dataclass(frozen=True)
class RowProblem:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str
    message: str  # what is wrong and what is expected, in the user's language
    value: str = ""  # the cell (or the one value of a list cell) that was refused


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

    def problem_rows(self) -> list[dict[str, str | int]]:
        """The problems as table rows with translated headings (screen and CSV)."""
        return [
            {_("Row"): p.row, _("Column"): p.column, _("Value"): p.value, _("Problem"): p.message}
            for p in self.problems
        ]

    def problems_csv(self) -> bytes:
        """The problems as a CSV file for a spreadsheet (UTF-8 with a BOM, as every CSV
        the hub writes; cells guarded against formulas: the values came from the file)."""
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        rows = self.problem_rows()
        writer.writerow([_("Row"), _("Column"), _("Value"), _("Problem")])
        for row in rows:
            writer.writerow([safe_cell(v) for v in row.values()])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")

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
            area_codes=known_area_codes(session=session),
            country=country_code(),
        )


_STATUS_KEYS = _choice_map(STATUS_LABELS)
_CHANNEL_KEYS = _choice_map(CHANNEL_LABELS)
_ROLE_KEYS = _choice_map(PARTICIPANT_ROLE_LABELS)


def _row_values(header: list[str], record: list[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in zip(header, record, strict=False):
        if name and name not in values:
            values[name] = value
    if "areas" not in values and any(c in values for c in HXL_AREA_COLUMNS):
        values["areas"] = SEPARATOR.join(
            cell_text(values.get(c)) for c in HXL_AREA_COLUMNS if cell_text(values.get(c))
        )
    return values


Problem = tuple[str, str, str]  # column, message, value


def _parse_row(
    values: dict[str, Any], base: InitiativeDraft, ref: _Reference
) -> tuple[InitiativeDraft, list[Problem]]:
    """The row laid over ``base`` (the existing record, or the defaults), and its problems.

    A column missing from the file leaves the value alone; an empty cell empties it,
    except organisation, category and status, where it means "unchanged / default".
    """
    problems: list[Problem] = []
    update: dict[str, Any] = {"code": cell_text(values.get("id"))}
    for column in ("title", "description", "link", "contact_email"):
        if column in values:
            update[column] = cell_text(values[column])
    if cell_text(values.get("organisation")):
        name = cell_text(values["organisation"])
        organisation_id = ref.organisations.get(name.lower())
        if organisation_id is None:
            problems.append(("organisation", _unknown_organisation(name), name))
        else:
            update["lead_organisation_id"] = organisation_id
    if "participating_organisations" in values:
        participants = []
        for entry in split_cell(values["participating_organisations"]):
            name, role = entry, ParticipantRole.IMPLEMENTING
            if ":" in entry:
                head, tail = entry.rsplit(":", 1)
                if _key(tail) in _ROLE_KEYS:
                    name, role = head.strip(), _ROLE_KEYS[_key(tail)]
            organisation_id = ref.organisations.get(name.lower())
            if organisation_id is None:
                problems.append(("participating_organisations", _unknown_organisation(name), entry))
            else:
                participants.append(Participant(organisation_id=organisation_id, role=role))
        update["participants"] = participants
    if cell_text(values.get("category")):
        raw = cell_text(values["category"])
        update["category"] = ref.category_keys.get(_key(raw), raw)
    if "target_groups" in values:
        update["target_groups"] = [
            ref.group_keys.get(_key(g), g) for g in split_cell(values["target_groups"])
        ]
    if "areas" in values:
        update["areas"] = [area_code(a, ref.country) for a in split_cell(values["areas"])]
    if "channels" in values:
        channels = []
        for raw in split_cell(values["channels"]):
            if _key(raw) in _CHANNEL_KEYS:
                channels.append(_CHANNEL_KEYS[_key(raw)])
            else:
                problems.append(
                    (
                        "channels",
                        _("Channels: '{value}' is not a channel. Use: {allowed}.").format(
                            value=raw, allowed=", ".join(c.value for c in Channel)
                        ),
                        raw,
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
                        ).format(column=column, value=cell_text(values[column])),
                        cell_text(values[column]),
                    )
                )
    if cell_text(values.get("status")):
        raw = cell_text(values["status"])
        if _key(raw) in _STATUS_KEYS:
            update["status"] = _STATUS_KEYS[_key(raw)]
        else:
            problems.append(
                (
                    "status",
                    _("Status: '{value}' is not a status. Use: {allowed}.").format(
                        value=raw, allowed=", ".join(s.value for s in Status)
                    ),
                    raw,
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
                            column=column, value=cell_text(values[column])
                        ),
                        cell_text(values[column]),
                    )
                )
    return base.model_copy(update=update), problems


# How a refused field is set aside so the next check can run: a value that passes.
_LIST_FIELDS = ("participants", "target_groups", "areas")
_PASSES = 20  # more than the draft has fields: every field is refused at most once


def _set_aside(draft: InitiativeDraft, field: str, ref: _Reference) -> InitiativeDraft | None:
    """``draft`` with the refused scalar ``field`` replaced by a value that passes, or
    None when there is none (the row's other problems cannot be reached)."""
    update: dict[str, Any]
    match field:
        case "title":
            update = {"title": "-"}
        case "description" | "link" | "contact_email":
            update = {field: ""}
        case "lead_organisation_id" if ref.organisation_ids:
            update = {"lead_organisation_id": min(ref.organisation_ids)}
        case "category" if ref.categories:
            update = {"category": min(ref.categories)}
        case "planned_end" | "actual_end" | "people_targeted" | "people_reached" | "code":
            update = {field: None}
        case _:
            return None
    return draft.model_copy(update=update)


@dataclass(frozen=True)
class FieldProblem:
    field: str  # the InitiativeDraft field
    message: str
    item: str | None = None  # the one refused value of a list field


def _every_problem(
    draft: InitiativeDraft, ref: _Reference, session: Session
) -> tuple[InitiativeDraft | None, list[FieldProblem]]:
    """Every problem ``validate_draft`` finds in the draft (not only its first), and the
    cleaned draft when there are none."""

    def check(candidate: InitiativeDraft) -> InitiativeDraft:
        return validate_draft(
            session=session,
            draft=candidate,
            area_codes=ref.area_codes,
            categories=ref.categories,
            target_groups=ref.target_groups,
            organisation_ids=ref.organisation_ids,
        )

    problems: list[FieldProblem] = []
    for _pass in range(_PASSES):
        try:
            checked = check(draft)
        except InvalidInput as err:
            field = err.field or ""
            if field in _LIST_FIELDS:
                # The earlier fields pass by now, so a one-value list that is refused
                # for this field names exactly one bad value.
                kept = []
                for item in getattr(draft, field):
                    try:
                        check(draft.model_copy(update={field: [item]}))
                    except InvalidInput as one:
                        if one.field == field:
                            problems.append(FieldProblem(field, str(one), _shown(item)))
                            continue
                    kept.append(item)
                if len(kept) == len(getattr(draft, field)):
                    kept = []  # refused as a whole: nothing left to tell apart
                    problems.append(FieldProblem(field, str(err)))
                draft = draft.model_copy(update={field: kept})
                continue
            problems.append(FieldProblem(field, str(err)))
            aside = _set_aside(draft, field, ref)
            if aside is None:
                break
            draft = aside
        else:
            return (None if problems else checked), problems
    return None, problems


def draft_problems(*, session: Session, draft: InitiativeDraft) -> list[FieldProblem]:
    """Every field problem of one draft, for a form to show beside each field before
    the service (which checks again) is called."""
    return _every_problem(draft, _Reference.load(session), session)[1]


def _shown(item: Any) -> str:
    return str(getattr(item, "organisation_id", item))


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
    existing = initiatives_by_code(
        session=session, codes=(cell_text(v.get("id")) for _n, v in rows)
    )
    current = drafts_of(session=session, initiatives=list(existing.values()))
    defaults = InitiativeDraft(category=DEFAULT_CATEGORY, lead_organisation_id=organisation_id)
    items: list[BulkItem] = []
    denied: list[tuple[int, str, Initiative | None]] = []
    seen: dict[str, int] = {}

    for number, values in rows:
        code = cell_text(values.get("id"))
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
                    code,
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
                    code,
                )
            )
            continue
        base = current[record.id] if record is not None and record.id is not None else defaults
        draft, problems = _parse_row(values, base, ref)
        if not actor.is_staff and draft.lead_organisation_id != actor.organisation_id:
            report.problems.append(RowProblem(number, "organisation", _not_yours()))
            denied.append((number, code, record))
            continue
        if draft.lead_organisation_id is None and not any(
            c == "organisation" for c, _m, _v in problems
        ):
            problems.append(
                (
                    "organisation",
                    _("Organisation: name the organisation that leads the initiative."),
                    "",
                )
            )
        checked, found = _every_problem(draft, ref, session)
        reported = {c for c, _m, _v in problems}  # a column the parser refused is not
        for problem in found:  # reported twice
            column = FIELD_COLUMNS.get(problem.field, problem.field)
            if column not in reported:
                value = problem.item if problem.item is not None else values.get(column)
                problems.append((column, problem.message, cell_text(value)))
        if problems or checked is None:
            report.problems.extend(RowProblem(number, c, m, v) for c, m, v in problems)
            continue
        items.append(BulkItem(draft=checked, existing=record, current=base if record else None))

    if denied:
        _record_denials(session, actor, denied)
    if (report.problems and not valid_only) or not items:
        return report
    try:
        results = write_many(session=session, actor=actor, items=items, submit=submit)
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
