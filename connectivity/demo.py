"""Synthetic demo indicator values, labelled "demo" on the map and in every export.

Generated deterministically from each area's code (the same values on every machine),
only where an area has no value yet, so real imports are never overwritten. District
values are the population-weighted means of their municipalities', so the two levels
agree. The base population is the reference population where GeoNames gives one.
"""

from __future__ import annotations

import random
import zlib
from collections import defaultdict

from sqlmodel import Session, select

from connectivity.gaps import NEED_INDICATORS, POPULATION_INDICATOR
from connectivity.imports import ImportReport, IndicatorRow, save_indicator_values, system_principal
from connectivity.models import IndicatorValue
from geo.areas import areas_by_level
from hub.auth import Principal

DEMO_SOURCE = "demo (synthetic)"
# Rough centres and spreads of the shares, so the demo map looks plausible; NOT data.
DEMO_RANGES = {
    "offline": (0.08, 0.40),
    "no_fast_broadband": (0.02, 0.60),
    "no_4g": (0.00, 0.25),
    "students_without_device": (0.03, 0.30),
}


def demo_values(code: str, population: int | None) -> dict[str, float]:
    rng = random.Random(zlib.crc32(code.encode()))  # noqa: S311 - not security
    values = {key: round(rng.uniform(*DEMO_RANGES[key]), 4) for key in NEED_INDICATORS}
    values[POPULATION_INDICATOR] = float(population or rng.randint(2_000, 40_000))
    return values


def demo_rows(*, session: Session) -> list[IndicatorRow]:
    rows: list[IndicatorRow] = []
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for area in areas_by_level(session=session, level="municipality"):
        values = demo_values(area.code, area.population)
        people = values[POPULATION_INDICATOR]
        for key, value in values.items():
            rows.append(IndicatorRow(area.code, key, value, DEMO_SOURCE, None, "demo"))
        if area.parent_code:
            district = totals[area.parent_code]
            district[POPULATION_INDICATOR] += people
            for key in NEED_INDICATORS:
                district[key] += values[key] * people
    for area in areas_by_level(session=session, level="district"):
        sums = totals.get(area.code)
        people = sums[POPULATION_INDICATOR] if sums else 0.0
        if not sums or not people:
            continue
        rows.append(IndicatorRow(area.code, POPULATION_INDICATOR, people, DEMO_SOURCE, None, ""))
        for key in NEED_INDICATORS:
            share = round(sums[key] / people, 4)
            rows.append(IndicatorRow(area.code, key, share, DEMO_SOURCE, None, "demo"))
    return rows


def load_demo_indicators(*, session: Session, actor: Principal | None = None) -> int:
    """Add the demo values where an area has none; returns how many were added."""
    taken = {(v.area_code, v.indicator) for v in session.exec(select(IndicatorValue)).all()}
    rows = [r for r in demo_rows(session=session) if (r.area_code, r.indicator) not in taken]
    if not rows:
        return 0
    report = save_indicator_values(
        session=session,
        actor=actor or system_principal(),
        rows=rows,
        report=ImportReport(),
        label="demo indicators",
        is_demo=True,
    )
    return report.added
