"""Ookla Open Data speed tiles, aggregated per area into indicator values."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point, shape
from shapely.strtree import STRtree
from sqlmodel import Session

from connectivity.imports.indicators import IndicatorRow, save_indicator_values
from connectivity.imports.report import (
    ImportRejected,
    ImportReport,
    csv_problem,
    decode_text,
)
from geo.areas import areas_by_level
from geo.models import Area
from hub.auth import Principal, require_staff
from hub.i18n import _

OOKLA_COLUMNS = ("quadkey", "avg_d_kbps", "avg_u_kbps", "avg_lat_ms", "tests", "devices")
OOKLA_SOURCE = "Ookla Open Data speed tiles (CC BY-NC-SA 4.0)"
DEFAULT_THRESHOLD_KBPS = 30_000


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
    text = decode_text(data)
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
