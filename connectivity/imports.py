"""Imports: indicator CSVs, Ookla speed tiles and official boundaries.

Every import first checks the whole file and builds a validation report naming each
problem by row (or feature) and field, with the fix. If there is any error, nothing is
written and ``ImportRejected`` carries the report; otherwise everything is written in
one transaction with one audit entry listing the values changed.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shapely.errors import GEOSException
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree
from shapely.validation import explain_validity
from sqlmodel import Session, select

from connectivity.gaps import INDICATOR_LABELS, NEED_INDICATORS, POPULATION_INDICATOR
from connectivity.models import IndicatorValue
from geo.areas import area_hierarchy, areas_by_level, known_area_codes
from geo.models import Area, AreaLevel
from hub.audit import record_change
from hub.auth import SYSTEM_EMAIL, Principal, Role, require_staff
from hub.errors import InvalidInput
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

OOKLA_COLUMNS = ("quadkey", "avg_d_kbps", "avg_u_kbps", "avg_lat_ms", "tests", "devices")
OOKLA_SOURCE = "Ookla Open Data speed tiles (CC BY-NC-SA 4.0)"
DEFAULT_THRESHOLD_KBPS = 30_000

MAX_BOUNDARY_BYTES = 100 * 1024 * 1024
MAX_FEATURE_VERTICES = 500_000  # before simplification; more is a mistake, not a map
MAX_SIMPLIFIED_VERTICES = 20_000  # per feature after simplification
SIMPLIFY_DEGREES = {AreaLevel.DISTRICT: 0.005, AreaLevel.MUNICIPALITY: 0.001}
DECIMALS = 5
MAX_CODE_CHARS = 32  # geo.models.Area.code
MAX_NAME_CHARS = 200  # geo.models.Area.name


def system_principal() -> Principal:
    """The CLI acts as the system (account id 0 never matches a real account)."""
    return Principal(
        account_id=0,
        email=SYSTEM_EMAIL,
        display_name="system",
        role=Role.STAFF,
        organisation_id=None,
        signed_in_at=utcnow(),
    )


# --- the validation report ------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    where: str  # "row 4", "feature 12", "file"
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}, {self.field}: {self.message}" if self.field else self.message


@dataclass
class ImportReport:
    rows_read: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, where: str, field_name: str, message: str) -> None:
        self.errors.append(Problem(where, field_name, message))

    def warn(self, where: str, field_name: str, message: str) -> None:
        self.warnings.append(Problem(where, field_name, message))

    def lines(self, limit: int = 50) -> list[str]:
        shown = [_("Error: {problem}").format(problem=p) for p in self.errors[:limit]]
        if len(self.errors) > limit:
            shown.append(_("... and {n} more errors.").format(n=len(self.errors) - limit))
        shown += [_("Warning: {problem}").format(problem=p) for p in self.warnings[:limit]]
        return shown


class ImportRejected(InvalidInput):
    """The file has errors; nothing was imported. ``report`` lists every problem."""

    def __init__(self, report: ImportReport) -> None:
        first = str(report.errors[0]) if report.errors else ""
        super().__init__(
            _("{n} problems found; nothing was imported. First: {first}").format(
                n=len(report.errors), first=first
            ),
            field="file",
        )
        self.report = report


# --- indicator CSV --------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorRow:
    area_code: str
    indicator: str
    value: float
    source: str
    year: int | None
    where: str


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            _("The file is not UTF-8 text. Save it as 'CSV UTF-8' and import it again."),
            field="file",
        ) from None


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


def csv_problem(err: csv.Error) -> str:
    """One line for a CSV the reader cannot read (a cell over the field limit, mostly)."""
    return _(
        "The CSV cannot be read ({reason}): a cell is longer than {size} KB or its quotes "
        "are not closed. Correct the file and import it again."
    ).format(reason=str(err).split(":")[0], size=csv.field_size_limit() // 1024)


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
    text = _decode(data)
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


# --- Ookla speed tiles ----------------------------------------------------------------


def quadkey_to_tile(quadkey: str) -> tuple[int, int, int]:
    """(x, y, zoom) of a Bing/Ookla quadkey; raises ValueError for anything else."""
    if not quadkey or len(quadkey) > 30 or any(c not in "0123" for c in quadkey):
        raise ValueError(quadkey)
    x = y = 0
    for digit in quadkey:
        x, y = x * 2 + (int(digit) & 1), y * 2 + (int(digit) >> 1)
    return x, y, len(quadkey)


def quadkey_center(quadkey: str) -> tuple[float, float]:
    """(lat, lon) of the centre of a quadkey tile (Web Mercator)."""
    x, y, zoom = quadkey_to_tile(quadkey)
    n = 2**zoom
    lon = (x + 0.5) / n * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / n))))
    return lat, lon


@dataclass(frozen=True)
class SpeedTile:
    lat: float
    lon: float
    avg_d_kbps: float
    tests: int


def parse_ookla_csv(data: bytes | str) -> tuple[list[SpeedTile], ImportReport]:
    """Check Ookla speed tiles (quadkey, avg_d_kbps, tests, ...)."""
    try:
        return _parse_ookla_csv(data)
    except csv.Error as err:
        report = ImportReport()
        report.error("file", "", csv_problem(err))
        return [], report


def _parse_ookla_csv(data: bytes | str) -> tuple[list[SpeedTile], ImportReport]:
    report = ImportReport()
    text = _decode(data)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in ("quadkey", "avg_d_kbps", "tests") if c not in header]
    if missing:
        report.error(
            "file",
            ", ".join(missing),
            _("Missing columns: {missing}. Ookla tiles have {columns}.").format(
                missing=", ".join(missing), columns=",".join(OOKLA_COLUMNS)
            ),
        )
        return [], report
    tiles = []
    for number, raw in enumerate(reader, start=2):
        record = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        where = _("row {n}").format(n=number)
        report.rows_read += 1
        try:
            lat, lon = quadkey_center(record["quadkey"])
        except ValueError:
            report.error(
                where,
                "quadkey",
                _("'{raw}' is not a quadkey (digits 0-3).").format(raw=record["quadkey"]),
            )
            continue
        try:
            speed = float(record["avg_d_kbps"])
            tests = int(record["tests"])
        except ValueError:
            report.error(where, "avg_d_kbps, tests", _("expected numbers (tests a whole number)."))
            continue
        if speed < 0 or tests < 0 or math.isnan(speed):
            report.error(where, "avg_d_kbps, tests", _("speeds and tests cannot be negative."))
            continue
        if tests:
            tiles.append(SpeedTile(lat, lon, speed, tests))
    if report.ok and not tiles:
        report.error("file", "tests", _("No tile has any test; nothing to aggregate."))
    return tiles, report


@dataclass(frozen=True)
class AreaSpeed:
    area_code: str
    tests: int
    avg_d_kbps: float  # weighted by tests
    share_slow: float  # share of tests in tiles slower than the threshold


def aggregate_tiles(
    tiles: Iterable[SpeedTile],
    locate: Any,
    *,
    threshold_kbps: float = DEFAULT_THRESHOLD_KBPS,
) -> tuple[list[AreaSpeed], int]:
    """Aggregate tiles to areas weighted by tests. ``locate(lat, lon)`` gives the area
    code or None. Returns (per-area figures, tiles outside every area)."""
    tests: dict[str, int] = defaultdict(int)
    speed_sum: dict[str, float] = defaultdict(float)
    slow: dict[str, int] = defaultdict(int)
    outside = 0
    for tile in tiles:
        code = locate(tile.lat, tile.lon)
        if code is None:
            outside += 1
            continue
        tests[code] += tile.tests
        speed_sum[code] += tile.avg_d_kbps * tile.tests
        if tile.avg_d_kbps < threshold_kbps:
            slow[code] += tile.tests
    return [
        AreaSpeed(code, n, speed_sum[code] / n, slow[code] / n)
        for code, n in sorted(tests.items())
        if n
    ], outside


def area_locator(areas: list[Area], districts: list[Area]) -> Any:
    """locate(lat, lon) -> code: inside a polygon when the areas have polygons; else the
    nearest seat inside the same district (municipalities known only as points)."""
    from shapely.geometry import Point

    polygons = [(a.code, shape(json.loads(a.geometry))) for a in areas if a.geometry]
    if polygons:
        tree = STRtree([g for _c, g in polygons])

        def locate_polygon(lat: float, lon: float) -> str | None:
            point = Point(lon, lat)
            for index in tree.query(point, predicate="within"):
                return polygons[int(index)][0]
            return None

        return locate_polygon
    district_of = area_locator(districts, []) if districts else (lambda _lat, _lon: None)
    points = [a for a in areas if a.lat is not None and a.lon is not None]

    def locate_point(lat: float, lon: float) -> str | None:
        district = district_of(lat, lon)
        candidates = [a for a in points if district is None or a.parent_code == district]
        if not candidates or district is None:
            return None
        scale = math.cos(math.radians(lat))
        best = min(
            candidates,
            key=lambda a: ((a.lon - lon) * scale) ** 2 + (a.lat - lat) ** 2,  # type: ignore[operator]
        )
        return best.code

    return locate_point


def import_ookla_tiles(
    *,
    session: Session,
    actor: Principal | None,
    data: bytes | str,
    level: str = "municipality",
    year: int,
    threshold_kbps: float = DEFAULT_THRESHOLD_KBPS,
    label: str = "ookla tiles",
) -> ImportReport:
    """Aggregate Ookla tiles to the areas of ``level`` and store, per area, the share
    of tests slower than the threshold (``no_fast_broadband``), the mean download speed
    weighted by tests and the number of tests."""
    principal = require_staff(actor)
    tiles, report = parse_ookla_csv(data)
    if not report.ok:
        raise ImportRejected(report)
    areas = areas_by_level(session=session, level=level)
    districts = areas_by_level(session=session, level="district")
    speeds, outside = aggregate_tiles(
        tiles, area_locator(areas, districts), threshold_kbps=threshold_kbps
    )
    if outside:
        report.warn("file", "quadkey", _("{n} tiles fall outside every area.").format(n=outside))
    if not speeds:
        report.error("file", "quadkey", _("No tile falls inside an area the hub knows."))
        raise ImportRejected(report)
    source = f"{OOKLA_SOURCE}; threshold {threshold_kbps:g} kbit/s"
    rows = []
    for s in speeds:
        rows += [
            IndicatorRow(s.area_code, "no_fast_broadband", s.share_slow, source, year, ""),
            IndicatorRow(s.area_code, "avg_download_kbps", s.avg_d_kbps, source, year, ""),
            IndicatorRow(s.area_code, "speed_tests", float(s.tests), source, year, ""),
        ]
    return save_indicator_values(
        session=session, actor=principal, rows=rows, report=report, label=label
    )


# --- boundaries -----------------------------------------------------------------------


@dataclass(frozen=True)
class BoundaryFeature:
    code: str
    name: str
    parent_code: str | None
    geometry: dict[str, Any]
    lat: float
    lon: float
    vertices: int


def _vertex_count(geometry: BaseGeometry) -> int:
    if hasattr(geometry, "geoms"):
        return sum(_vertex_count(g) for g in geometry.geoms)
    if geometry.geom_type == "Polygon":
        return len(geometry.exterior.coords) + sum(len(r.coords) for r in geometry.interiors)
    return len(getattr(geometry, "coords", []))


def _round(coords: Any) -> Any:
    if isinstance(coords, int | float):
        return round(float(coords), DECIMALS)
    return [_round(c) for c in coords]


def parse_boundaries(
    data: bytes | str,
    *,
    level: AreaLevel,
    code_field: str,
    name_field: str,
    parent_field: str | None = None,
) -> tuple[list[BoundaryFeature], ImportReport]:
    """Check and simplify a GeoJSON FeatureCollection of polygons in lon/lat (EPSG:4326)."""
    report = ImportReport()
    if len(data) > MAX_BOUNDARY_BYTES:
        report.error(
            "file",
            "",
            _("The file is larger than {mb} MB; simplify it first (mapshaper, QGIS).").format(
                mb=MAX_BOUNDARY_BYTES // (1024 * 1024)
            ),
        )
        return [], report
    try:
        collection = json.loads(_decode(data))
    except json.JSONDecodeError as err:
        report.error("file", "", _("Not valid GeoJSON: {reason}.").format(reason=err.msg))
        return [], report
    except RecursionError:
        report.error("file", "", _("Not valid GeoJSON: it is nested too deeply."))
        return [], report
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        report.error("file", "type", _("Expected a GeoJSON FeatureCollection."))
        return [], report
    features = collection.get("features") or []
    if not isinstance(features, list):
        report.error("file", "features", _("The features must be a list of GeoJSON features."))
        return [], report
    if not features:
        report.error("file", "features", _("The collection has no features."))
        return [], report
    tolerance = SIMPLIFY_DEGREES.get(level, 0.001)
    result: list[BoundaryFeature] = []
    seen: dict[str, str] = {}
    for number, feature in enumerate(features, start=1):
        where = _("feature {n}").format(n=number)
        if not isinstance(feature, dict) or not isinstance(feature.get("properties") or {}, dict):
            report.error(where, "properties", _("not a feature with properties (an object)."))
            continue
        properties = feature.get("properties") or {}
        code = str(properties.get(code_field) or "").strip()
        name = str(properties.get(name_field) or "").strip()
        if not code:
            report.error(
                where, code_field, _("no code in the property '{f}'.").format(f=code_field)
            )
            continue
        if len(code) > MAX_CODE_CHARS or len(name) > MAX_NAME_CHARS:
            report.error(
                where,
                code_field,
                _("the code or name is too long (at most {code} and {name} characters).").format(
                    code=MAX_CODE_CHARS, name=MAX_NAME_CHARS
                ),
            )
            continue
        where = f"{where} ({code})"
        if not name:
            report.error(
                where, name_field, _("no name in the property '{f}'.").format(f=name_field)
            )
        if code in seen:
            report.error(
                where, code_field, _("duplicate code, also in {first}.").format(first=seen[code])
            )
            continue
        seen[code] = where
        raw_geometry = (feature or {}).get("geometry")
        if not raw_geometry:
            report.error(where, "geometry", _("the geometry is empty."))
            continue
        try:
            geometry = shape(raw_geometry)
        except (GEOSException, ValueError, TypeError, AttributeError, IndexError, KeyError):
            report.error(where, "geometry", _("the geometry cannot be read."))
            continue
        if geometry.is_empty:
            report.error(where, "geometry", _("the geometry is empty."))
            continue
        if geometry.geom_type not in {"Polygon", "MultiPolygon"}:
            report.error(
                where,
                "geometry",
                _("expected a Polygon or MultiPolygon, got {kind}.").format(
                    kind=geometry.geom_type
                ),
            )
            continue
        min_x, min_y, max_x, max_y = geometry.bounds
        if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
            report.error(
                where,
                "geometry",
                _("coordinates are not longitude/latitude; reproject to EPSG:4326 first."),
            )
            continue
        vertices = _vertex_count(geometry)
        if vertices > MAX_FEATURE_VERTICES:
            report.error(
                where,
                "geometry",
                _("{n} vertices is too large; simplify the file first (at most {max}).").format(
                    n=vertices, max=MAX_FEATURE_VERTICES
                ),
            )
            continue
        if not geometry.is_valid:
            report.error(
                where,
                "geometry",
                _("invalid geometry ({reason}); repair it (QGIS: Fix geometries).").format(
                    reason=explain_validity(geometry)
                ),
            )
            continue
        simplified = geometry.simplify(tolerance, preserve_topology=True)
        simplified_vertices = _vertex_count(simplified)
        if simplified_vertices > MAX_SIMPLIFIED_VERTICES:
            report.error(
                where,
                "geometry",
                _("still {n} vertices after simplification; generalise the file.").format(
                    n=simplified_vertices
                ),
            )
            continue
        point = simplified.representative_point()
        geo = mapping(simplified)
        parent = str(properties.get(parent_field) or "").strip() if parent_field else ""
        if len(parent) > MAX_CODE_CHARS:
            report.error(
                where,
                parent_field or "",
                _("the parent code is longer than {n} characters.").format(n=MAX_CODE_CHARS),
            )
            continue
        result.append(
            BoundaryFeature(
                code=code,
                name=name,
                parent_code=parent or None,
                geometry={"type": geo["type"], "coordinates": _round(geo["coordinates"])},
                lat=round(point.y, DECIMALS),
                lon=round(point.x, DECIMALS),
                vertices=simplified_vertices,
            )
        )
    return result, report


def import_boundaries(
    *,
    session: Session,
    actor: Principal | None,
    data: bytes | str,
    level: str,
    code_field: str,
    name_field: str,
    parent_field: str | None = None,
    source: str = "imported boundaries",
) -> ImportReport:
    """Replace (by code) the polygons of the areas of ``level``, all or nothing."""
    principal = require_staff(actor)
    try:
        area_level = AreaLevel(level)
    except ValueError:
        raise InvalidInput(_("Level: use district or municipality."), field="level") from None
    if area_level is AreaLevel.COUNTRY:
        raise InvalidInput(_("Level: use district or municipality."), field="level")
    features, report = parse_boundaries(
        data, level=area_level, code_field=code_field, name_field=name_field,
        parent_field=parent_field,
    )  # fmt: skip
    hierarchy = area_hierarchy(session=session)
    existing = {a.code: a for a in session.exec(select(Area)).all()}
    for feature in features:
        other = existing.get(feature.code)
        if other is not None and other.level is not area_level:
            report.error(
                feature.code,
                code_field,
                _("the code already belongs to a {level}.").format(level=other.level.value),
            )
        if feature.parent_code and feature.parent_code not in hierarchy:
            report.error(
                feature.code,
                parent_field or "",
                _("unknown parent area '{code}'.").format(code=feature.parent_code),
            )
    if not report.ok or not features:
        if report.ok:
            report.error("file", "", _("The file has no areas to import."))
        raise ImportRejected(report)
    default_parent = next((a.code for a in existing.values() if a.level is AreaLevel.COUNTRY), None)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    now = utcnow()
    for feature in features:
        geometry = json.dumps(feature.geometry, separators=(",", ":"))
        area = existing.get(feature.code)
        if area is None:
            parent = feature.parent_code or default_parent
            session.add(
                Area(
                    code=feature.code,
                    name=feature.name,
                    level=area_level,
                    parent_code=parent,
                    lat=feature.lat,
                    lon=feature.lon,
                    geometry=geometry,
                    source=source,
                    updated_at=now,
                )
            )
            report.added += 1
            after[feature.code] = {"name": feature.name, "vertices": feature.vertices}
            continue
        before[feature.code] = {"name": area.name, "source": area.source}
        area.name, area.geometry, area.source = feature.name, geometry, source
        area.lat, area.lon, area.updated_at = feature.lat, feature.lon, now
        if feature.parent_code:
            area.parent_code = feature.parent_code
        after[feature.code] = {"name": feature.name, "vertices": feature.vertices}
        report.updated += 1
    kept = [
        a.code
        for a in existing.values()
        if a.level is area_level and a.code not in {f.code for f in features}
    ]
    if kept:
        report.warn(
            "file",
            code_field,
            _("{n} existing areas of this level are not in the file and were kept.").format(
                n=len(kept)
            ),
        )
    record_change(
        session=session,
        actor=principal,
        action="import",
        entity_type="area",
        summary=_("{level} boundaries: {added} added, {updated} replaced").format(
            level=area_level.value, added=report.added, updated=report.updated
        ),
        before=before or None,
        after=after,
    )
    session.commit()
    return report


def indicator_label(key: str) -> str:
    labels: Mapping[str, str] = {**INDICATOR_LABELS, **INFO_INDICATORS}
    return _(labels.get(key, key))


__all__ = ["NEED_INDICATORS", "ImportRejected", "ImportReport", "import_indicators"]
