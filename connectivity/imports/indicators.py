"""Indicator CSVs (long or wide) into connectivity.models.IndicatorValue."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from connectivity.gaps import INDICATOR_LABELS, POPULATION_INDICATOR
from connectivity.imports.report import (
    ImportRejected,
    ImportReport,
    csv_problem,
    decode_text,
)
from connectivity.models import IndicatorValue
from geo.areas import known_area_codes
from hub.audit import record_change
from hub.auth import Principal, require_staff
from hub.i18n import N_, _
from hub.records import utcnow

INFO_INDICATORS: dict[str, str] = {
    "avg_download_kbps": N_("Mean download speed in Ookla tests (kbit/s, weighted by tests)"),
    "speed_tests": N_("Ookla speed tests counted"),
}
COUNT_INDICATORS = {POPULATION_INDICATOR, *INFO_INDICATORS}
ALL_INDICATORS = {*INDICATOR_LABELS, *INFO_INDICATORS}
LONG_COLUMNS = ("area_code", "indicator", "value", "source", "year")
MAX_ROWS = 200_000
MIN_YEAR, MAX_YEAR = 1990, 2100


@dataclass(frozen=True)
class IndicatorRow:
    area_code: str
    indicator: str
    value: float
    source: str
    year: int | None
    where: str


def _parse_value(raw: str, indicator: str, where: str, report: ImportReport) -> float | None:
    text = raw.strip()
    if "," in text and "." not in text:
        report.error(
            where,
            "value",
            _("'{raw}' uses a decimal comma; write {fixed}.").format(
                raw=text, fixed=text.replace(",", ".")
            ),
        )
        return None
    try:
        value = float(text)
    except ValueError:
        report.error(where, "value", _("'{raw}' is not a number.").format(raw=text))
        return None
    if math.isnan(value) or math.isinf(value):
        report.error(where, "value", _("'{raw}' is not a number.").format(raw=text))
        return None
    if indicator in COUNT_INDICATORS:
        if value < 0:
            report.error(
                where, "value", _("{value} is negative; a count is 0 or more.").format(value=text)
            )
            return None
        return value
    if not 0 <= value <= 1:
        hint = (
            _(" It looks like a percentage: write {share} for {raw}%.").format(
                share=round(value / 100, 6), raw=text
            )
            if 1 < value <= 100
            else ""
        )
        report.error(
            where,
            "value",
            _("{value} is out of range: a share goes from 0 to 1.").format(value=text) + hint,
        )
        return None
    return value


def _parse_year(raw: str, where: str, report: ImportReport) -> int | None:
    text = raw.strip()
    if not text:
        report.error(where, "year", _("the year is empty; give the year the value refers to."))
        return None
    try:
        year = int(text)
    except ValueError:
        report.error(where, "year", _("'{raw}' is not a year such as 2021.").format(raw=text))
        return None
    if not MIN_YEAR <= year <= MAX_YEAR:
        report.error(where, "year", _("{year} is not a plausible year.").format(year=year))
        return None
    return year


def parse_indicator_csv(
    data: bytes | str, *, known_codes: set[str]
) -> tuple[list[IndicatorRow], ImportReport]:
    """Check a long (area_code,indicator,value,source,year) or wide (area_code, one
    column per indicator, source, year) CSV. Pure: reads nothing else, writes nothing."""
    try:
        return _parse_indicator_csv(data, known_codes=known_codes)
    except csv.Error as err:
        report = ImportReport()
        report.error("file", "", csv_problem(err))
        return [], report


def _parse_indicator_csv(
    data: bytes | str, *, known_codes: set[str]
) -> tuple[list[IndicatorRow], ImportReport]:
    report = ImportReport()
    text = decode_text(data)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        report.error("file", "", _("The file is empty. The first line must name the columns."))
        return [], report
    header_line = lines[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    if "area_code" not in header:
        report.error(
            "file",
            "area_code",
            _("The column area_code is missing. The first line must be {columns}.").format(
                columns=",".join(LONG_COLUMNS)
            ),
        )
        return [], report
    wide_columns = [h for h in header if h in ALL_INDICATORS]
    is_long = "indicator" in header or "value" in header or not wide_columns
    required = LONG_COLUMNS if is_long else ("area_code", "source", "year")
    missing = [c for c in required if c not in header]
    if missing:
        report.error(
            "file",
            ", ".join(missing),
            _("Missing columns: {missing}. The first line must be {columns}.").format(
                missing=", ".join(missing), columns=",".join(LONG_COLUMNS)
            ),
        )
        return [], report
    if not is_long:
        unknown_columns = [h for h in header if h and h not in ALL_INDICATORS and h not in required]
        for name in unknown_columns:
            report.warn("file", name, _("column ignored: not a known indicator."))

    rows: list[IndicatorRow] = []
    seen: dict[tuple[str, str], str] = {}
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        where = _("row {n}").format(n=number)
        report.rows_read += 1
        if report.rows_read > MAX_ROWS:
            report.error("file", "", _("More than {n} rows; split the file.").format(n=MAX_ROWS))
            break
        if len(cells) != len(header):
            hint = _(" A decimal comma? Write 0.35, not 0,35.") if len(cells) > len(header) else ""
            report.error(
                where,
                "",
                _("{got} fields where the header has {want}.").format(
                    got=len(cells), want=len(header)
                )
                + hint,
            )
            continue
        record = dict(zip(header, (c.strip() for c in cells), strict=True))
        code = record["area_code"]
        if code not in known_codes:
            report.error(
                where,
                "area_code",
                _(
                    "unknown area code '{code}'. Use an official code of an area the hub "
                    "knows (import its boundaries first)."
                ).format(code=code),
            )
            continue
        source = record.get("source", "")
        if not source:
            report.error(where, "source", _("the source is empty; say where the value comes from."))
        year = _parse_year(record.get("year", ""), where, report)
        if is_long:
            pairs = [(record["indicator"], record["value"], True)]
        else:
            pairs = [(name, record[name], False) for name in wide_columns]
        for indicator, raw, required_value in pairs:
            if indicator not in ALL_INDICATORS:
                report.error(
                    where,
                    "indicator",
                    _("unknown indicator '{name}'; use one of {known}.").format(
                        name=indicator, known=", ".join(sorted(ALL_INDICATORS))
                    ),
                )
                continue
            if not raw:
                if required_value:
                    report.error(
                        where,
                        "value",
                        _("the value is empty. Leave the row out when the value is unknown."),
                    )
                continue  # wide file: an empty cell is unknown, not zero
            value = _parse_value(raw, indicator, where, report)
            key = (code, indicator)
            if key in seen:
                report.error(
                    where,
                    "indicator",
                    _("duplicate: {code} / {indicator} is already given in {first}.").format(
                        code=code, indicator=indicator, first=seen[key]
                    ),
                )
                continue
            seen[key] = where
            if value is not None and source and year is not None:
                rows.append(IndicatorRow(code, indicator, value, source, year, where))
    if report.ok and not rows:
        report.error("file", "", _("The file has no values to import."))
    return rows, report


def save_indicator_values(
    *,
    session: Session,
    actor: Principal,
    rows: Iterable[IndicatorRow],
    report: ImportReport,
    label: str,
    is_demo: bool = False,
) -> ImportReport:
    """Upsert the values and audit them in one transaction (rows already validated)."""
    existing = {(v.area_code, v.indicator): v for v in session.exec(select(IndicatorValue)).all()}
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    now = utcnow()
    for row in rows:
        key = f"{row.area_code}/{row.indicator}"
        current = existing.get((row.area_code, row.indicator))
        if current is None:
            session.add(
                IndicatorValue(
                    area_code=row.area_code,
                    indicator=row.indicator,
                    value=row.value,
                    source=row.source,
                    year=row.year,
                    is_demo=is_demo,
                    updated_at=now,
                    updated_by=actor.label,
                )
            )
            report.added += 1
            after[key] = row.value
            continue
        same = (current.value, current.source, current.year, current.is_demo) == (
            row.value,
            row.source,
            row.year,
            is_demo,
        )
        if same:
            report.unchanged += 1
            continue
        before[key] = current.value
        after[key] = row.value
        current.value, current.source, current.year = row.value, row.source, row.year
        current.is_demo, current.updated_at, current.updated_by = is_demo, now, actor.label
        report.updated += 1
    record_change(
        session=session,
        actor=actor,
        action="import",
        entity_type="indicator_value",
        summary=_("{label}: {added} added, {updated} updated, {unchanged} unchanged").format(
            label=label, added=report.added, updated=report.updated, unchanged=report.unchanged
        ),
        before=before or None,
        after=after or None,
    )
    session.commit()
    return report


def import_indicators(
    *, session: Session, actor: Principal | None, data: bytes | str, label: str = "indicators"
) -> ImportReport:
    """Validate the whole CSV, then import all of it or nothing."""
    principal = require_staff(actor)
    rows, report = parse_indicator_csv(data, known_codes=known_area_codes(session=session))
    if not report.ok:
        raise ImportRejected(report)
    return save_indicator_values(
        session=session, actor=principal, rows=rows, report=report, label=label
    )


def indicator_label(key: str) -> str:
    labels: Mapping[str, str] = {**INDICATOR_LABELS, **INFO_INDICATORS}
    return _(labels.get(key, key))
