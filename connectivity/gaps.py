"""The connectivity gap score: transparent arithmetic over plain dataclasses.

For each area u (district or municipality) and need indicator k, x[u,k] in [0, 1] is the
share of the area's base population affected (households without internet, without
fast fixed broadband, without 4G, students without a device).

    Need              N[u] = sum_k w[k] * x[u,k] / sum_k w[k]   (over the indicators known)
    People affected   A[u] = N[u] * B[u]                        (B: base population)
    Reach             r[i,u] = s[i] * R[i] * A[u] / sum_{v in F[i]} A[v]
                      (R: people the initiative reaches, else targets; F: its areas;
                       s: 1 active, 0.5 planned, 0 completed / cancelled / suspended)
    Coverage          C[u] = min(1, sum_i r[i,u] / A[u])         (A = 0 gives C = 1)
    Gap               G[u] = A[u] * (1 - C[u])                  (unmet people; ranked by)
    Intensity         g[u] = N[u] * (1 - C[u])                  (coloured by)

Weights are equal by default and editable. Missing data is unknown, never zero: when
indicators worth more than half the weight are missing, or the base population is
unknown, the area's class is "unknown" and it is ranked last. With some indicators
missing, N is the weighted mean of those known (the weights are re-normalised) and the
data status says "partial". A district's value is inherited by its municipalities that
lack their own (flagged in the breakdown). An initiative without a reach or target
figure counts as present but reaching no one, so the gap is never understated.

Classes: uncovered (no initiative acting), partly covered (C < 1), covered (C = 1),
over-covered (two or more initiatives together reach more than A: possible
duplication), unknown.

The pure functions come first; the few that read the database are at the end.
"""

from __future__ import annotations

import csv
import enum
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlmodel import Session, select

from connectivity.models import IndicatorValue
from geo.areas import area_hierarchy, areas_by_level
from hub.errors import InvalidInput
from hub.i18n import N_, _
from hub.tabular import safe_cell

NEED_INDICATORS: dict[str, str] = {
    "offline": N_("Households without internet access"),
    "no_fast_broadband": N_("Households without fixed broadband at the speed threshold"),
    "no_4g": N_("People without 4G mobile coverage"),
    "students_without_device": N_("Students without a device"),
}
POPULATION_INDICATOR = "population"
INDICATOR_LABELS: dict[str, str] = {
    **NEED_INDICATORS,
    POPULATION_INDICATOR: N_("Base population (people or households)"),
}

STATUS_WEIGHTS: dict[str, float] = {
    "active": 1.0,
    "planned": 0.5,
    "completed": 0.0,
    "cancelled": 0.0,
    "suspended": 0.0,
}

UNKNOWN_IF_MISSING_WEIGHT_ABOVE = 0.5


class GapClass(enum.StrEnum):
    UNCOVERED = "uncovered"
    PARTLY_COVERED = "partly_covered"
    COVERED = "covered"
    OVER_COVERED = "over_covered"
    UNKNOWN = "unknown"


GAP_CLASS_LABELS = {
    GapClass.UNCOVERED: N_("Uncovered"),
    GapClass.PARTLY_COVERED: N_("Partly covered"),
    GapClass.COVERED: N_("Covered"),
    GapClass.OVER_COVERED: N_("Over-covered (possible duplication)"),
    GapClass.UNKNOWN: N_("Unknown (not enough data)"),
}


class DataStatus(enum.StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"
    DEMO = "demo"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Reading:
    """One indicator value with where it came from."""

    indicator: str
    value: float
    source: str = ""
    year: int | None = None
    is_demo: bool = False
    inherited_from: str | None = None  # the ancestor area whose value this is


@dataclass(frozen=True)
class AreaInput:
    code: str
    name: str
    level: str
    parent_code: str | None = None
    population: int | None = None  # the reference population, if any
    population_source: str = ""
    readings: Mapping[str, Reading] = field(default_factory=dict)
    lat: float | None = None
    lon: float | None = None


class InitiativeReach(Protocol):
    """A published initiative as the gap score sees it. The registry supplies such
    objects (``initiatives.queries.published_reach``); connectivity never imports it."""

    @property
    def initiative_id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def organisation(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def channels(self) -> tuple[str, ...]: ...
    @property
    def area_codes(self) -> tuple[str, ...]: ...
    @property
    def people_reached(self) -> int | None: ...
    @property
    def people_targeted(self) -> int | None: ...


@dataclass(slots=True)
class InitiativeShare:
    """What one initiative contributes to one area."""

    initiative_id: int
    title: str
    organisation: str
    status: str
    status_weight: float
    capacity: int | None  # R: people reached, else targeted; None when neither is given
    areas: int  # how many areas at this level it acts in (|F|)
    reach: float  # r in this area (0 when the capacity or A is unknown)


@dataclass(frozen=True)
class WeightedReading:
    indicator: str
    weight: float
    reading: Reading | None  # None: missing


@dataclass(frozen=True)
class AreaGap:
    code: str
    name: str
    level: str
    need: float | None
    base: float | None
    base_source: str
    people_affected: float | None
    coverage: float | None
    gap: float | None
    intensity: float | None
    gap_class: GapClass
    data_status: DataStatus
    total_reach: float
    readings: tuple[WeightedReading, ...]
    initiatives: tuple[InitiativeShare, ...]
    lat: float | None = None
    lon: float | None = None

    @property
    def known(self) -> bool:
        return self.gap_class is not GapClass.UNKNOWN


def normalise_weights(weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """Weights over the need indicators, summing to 1. Equal when none are given."""
    raw = {key: 1.0 for key in NEED_INDICATORS}
    if weights:
        unknown = sorted(set(weights) - set(NEED_INDICATORS))
        if unknown:
            raise InvalidInput(
                _("Weights: unknown indicator {names}; use {known}.").format(
                    names=", ".join(unknown), known=", ".join(NEED_INDICATORS)
                ),
                field="weights",
            )
        raw.update({key: float(value) for key, value in weights.items()})
    if any(value < 0 for value in raw.values()):
        raise InvalidInput(_("Weights: a weight cannot be negative."), field="weights")
    total = sum(raw.values())
    if total <= 0:
        raise InvalidInput(_("Weights: give at least one indicator a weight above 0."))
    return {key: value / total for key, value in raw.items()}


def _ancestors(code: str, hierarchy: Mapping[str, str | None]) -> list[str]:
    chain, seen = [], {code}
    parent = hierarchy.get(code)
    while parent and parent not in seen:
        chain.append(parent)
        seen.add(parent)
        parent = hierarchy.get(parent)
    return chain


def effective_readings(
    area: AreaInput,
    readings_by_area: Mapping[str, Mapping[str, Reading]],
    hierarchy: Mapping[str, str | None],
) -> dict[str, Reading]:
    """The area's own need readings, completed by its nearest ancestor's (flagged)."""
    own = dict(readings_by_area.get(area.code, area.readings))
    result: dict[str, Reading] = {}
    for key in NEED_INDICATORS:
        if key in own:
            result[key] = own[key]
            continue
        for ancestor in _ancestors(area.code, hierarchy):
            inherited = readings_by_area.get(ancestor, {}).get(key)
            if inherited is not None:
                result[key] = Reading(
                    key,
                    inherited.value,
                    inherited.source,
                    inherited.year,
                    inherited.is_demo,
                    inherited_from=ancestor,
                )
                break
    if POPULATION_INDICATOR in own:
        result[POPULATION_INDICATOR] = own[POPULATION_INDICATOR]
    return result


def units_inside(units: Iterable[str], hierarchy: Mapping[str, str | None]) -> dict[str, set[str]]:
    """For each larger area, the units inside it (computed once per scoring)."""
    inside: dict[str, set[str]] = defaultdict(set)
    for unit in units:
        for ancestor in _ancestors(unit, hierarchy):
            inside[ancestor].add(unit)
    return inside


def units_of_initiative(
    area_codes: Iterable[str],
    units: set[str],
    hierarchy: Mapping[str, str | None],
    inside: Mapping[str, set[str]] | None = None,
) -> set[str]:
    """The areas at this level an initiative acts in (F): its own codes at this level,
    every unit inside a larger area it names, and the unit containing a smaller one."""
    if inside is None:
        inside = units_inside(units, hierarchy)
    found: set[str] = set()
    for code in area_codes:
        if code in units:
            found.add(code)
        elif code in inside:
            found |= inside[code]
        else:
            found |= {a for a in _ancestors(code, hierarchy) if a in units}
    return found


def capacity_of(initiative: InitiativeReach) -> int | None:
    if initiative.people_reached is not None:
        return initiative.people_reached
    return initiative.people_targeted


def compute_gaps(
    areas: Sequence[AreaInput],
    initiatives: Sequence[InitiativeReach],
    *,
    weights: Mapping[str, float] | None = None,
    hierarchy: Mapping[str, str | None] | None = None,
    ancestor_readings: Mapping[str, Mapping[str, Reading]] | None = None,
) -> list[AreaGap]:
    """Score every area; known gaps first, largest unmet people first, unknown last.

    ``hierarchy`` maps each code to its parent (for inheritance and for initiatives
    that name a larger or smaller area); ``ancestor_readings`` holds the readings of
    areas above this level (e.g. districts when scoring municipalities).
    """
    w = normalise_weights(weights)
    hierarchy = dict(hierarchy or {})
    for area in areas:
        hierarchy.setdefault(area.code, area.parent_code)
    readings_by_area: dict[str, Mapping[str, Reading]] = dict(ancestor_readings or {})
    readings_by_area.update({area.code: area.readings for area in areas})
    units = {area.code for area in areas}

    # Need, base and people affected per area.
    prepared: dict[str, dict[str, Any]] = {}
    for area in areas:
        readings = effective_readings(area, readings_by_area, hierarchy)
        known_weight = sum(w[k] for k in NEED_INDICATORS if k in readings)
        need: float | None = None
        if known_weight > 0 and 1 - known_weight <= UNKNOWN_IF_MISSING_WEIGHT_ABOVE + 1e-12:
            need = sum(w[k] * readings[k].value for k in NEED_INDICATORS if k in readings)
            need /= known_weight
        population_reading = readings.get(POPULATION_INDICATOR)
        if population_reading is not None:
            base: float | None = population_reading.value
            base_source = population_reading.source
        else:
            base = float(area.population) if area.population is not None else None
            base_source = area.population_source
        affected = need * base if need is not None and base is not None else None
        prepared[area.code] = {
            "readings": readings,
            "need": need,
            "base": base,
            "base_source": base_source,
            "affected": affected,
        }

    # Each initiative's reach, split over its areas in proportion to A.
    shares: dict[str, list[InitiativeShare]] = defaultdict(list)
    inside = units_inside(units, hierarchy)
    for initiative in initiatives:
        footprint = units_of_initiative(initiative.area_codes, units, hierarchy, inside)
        if not footprint:
            continue
        s = STATUS_WEIGHTS.get(initiative.status, 0.0)
        capacity = capacity_of(initiative)
        known = [u for u in footprint if prepared[u]["affected"] is not None]
        total_affected = sum(prepared[u]["affected"] for u in known)
        for unit in sorted(footprint):
            affected = prepared[unit]["affected"]
            reach = 0.0
            if capacity is not None and affected is not None and s > 0:
                if total_affected > 0:
                    reach = s * capacity * affected / total_affected
                else:  # every area's need is zero: split evenly
                    reach = s * capacity / len(known)
            shares[unit].append(
                InitiativeShare(
                    initiative_id=initiative.initiative_id,
                    title=initiative.title,
                    organisation=initiative.organisation,
                    status=initiative.status,
                    status_weight=s,
                    capacity=capacity,
                    areas=len(footprint),
                    reach=reach,
                )
            )

    results = []
    for area in areas:
        p = prepared[area.code]
        area_shares = tuple(sorted(shares[area.code], key=lambda x: -x.reach))
        total_reach = sum(x.reach for x in area_shares)
        acting = [x for x in area_shares if x.status_weight > 0]
        need, affected = p["need"], p["affected"]
        coverage = gap = intensity = None
        if need is None or affected is None:
            gap_class = GapClass.UNKNOWN
        else:
            coverage = 1.0 if affected <= 0 else min(1.0, total_reach / affected)
            gap = affected * (1 - coverage)
            intensity = need * (1 - coverage)
            if not acting:
                gap_class = GapClass.UNCOVERED
            elif len(acting) >= 2 and total_reach > affected:
                gap_class = GapClass.OVER_COVERED
            elif coverage >= 1.0:
                gap_class = GapClass.COVERED
            else:
                gap_class = GapClass.PARTLY_COVERED
        readings = p["readings"]
        used = [readings[k] for k in INDICATOR_LABELS if k in readings]
        if gap_class is GapClass.UNKNOWN:
            status = DataStatus.UNKNOWN
        elif any(r.is_demo for r in used):
            status = DataStatus.DEMO
        elif any(k not in readings or readings[k].inherited_from for k in NEED_INDICATORS):
            status = DataStatus.PARTIAL
        else:
            status = DataStatus.COMPLETE
        results.append(
            AreaGap(
                code=area.code,
                name=area.name,
                level=area.level,
                need=need,
                base=p["base"],
                base_source=p["base_source"],
                people_affected=affected,
                coverage=coverage,
                gap=gap,
                intensity=intensity,
                gap_class=gap_class,
                data_status=status,
                total_reach=total_reach,
                readings=tuple(WeightedReading(k, w[k], readings.get(k)) for k in NEED_INDICATORS),
                initiatives=area_shares,
                lat=area.lat,
                lon=area.lon,
            )
        )
    return rank(results)


def rank(gaps: Iterable[AreaGap]) -> list[AreaGap]:
    return sorted(gaps, key=lambda g: (not g.known, -(g.gap or 0.0), g.code))


# --- the target list (CLI and page export) -------------------------------------------

TARGET_COLUMNS = (
    "area_code",
    "area_name",
    "level",
    "need",
    "people_affected",
    "coverage",
    "gap",
    "class",
    "data_status",
)


def _fmt(value: float | None, digits: int) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}" if digits else str(round(value))


def target_rows(gaps: Iterable[AreaGap]) -> list[dict[str, str]]:
    """The ranked list as text cells; unknown figures stay empty, never 0."""
    return [
        {
            "area_code": g.code,
            "area_name": g.name,
            "level": g.level,
            "need": _fmt(g.need, 4),
            "people_affected": _fmt(g.people_affected, 0),
            "coverage": _fmt(g.coverage, 4),
            "gap": _fmt(g.gap, 0),
            "class": g.gap_class.value,
            "data_status": g.data_status.value,
        }
        for g in gaps
    ]


def targets_csv(gaps: Iterable[AreaGap]) -> str:
    """The ranked list as CSV: BOM and CRLF, the hub's one convention for every CSV."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TARGET_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in target_rows(gaps):  # names come from imported files: formulas stay text
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return "\ufeff" + buffer.getvalue()


# --- reading the database -------------------------------------------------------------


def readings_by_area(*, session: Session) -> dict[str, dict[str, Reading]]:
    result: dict[str, dict[str, Reading]] = defaultdict(dict)
    for row in session.exec(select(IndicatorValue)).all():
        result[row.area_code][row.indicator] = Reading(
            row.indicator, row.value, row.source, row.year, row.is_demo
        )
    return dict(result)


def area_inputs(*, session: Session, level: str) -> list[AreaInput]:
    readings = readings_by_area(session=session)
    return [
        AreaInput(
            code=area.code,
            name=area.name,
            level=area.level.value,
            parent_code=area.parent_code,
            population=area.population,
            population_source=area.source if area.population is not None else "",
            readings=readings.get(area.code, {}),
            lat=area.lat,
            lon=area.lon,
        )
        for area in areas_by_level(session=session, level=level)
    ]


def area_gaps(
    *,
    session: Session,
    level: str,
    initiatives: Sequence[InitiativeReach],
    weights: Mapping[str, float] | None = None,
) -> list[AreaGap]:
    """The ranked gaps of every area of ``level``, from the database, given the
    published initiatives' reach (``initiatives.queries.published_reach(session)``)."""
    if level not in {"district", "municipality"}:
        raise InvalidInput(_("Level: use district or municipality."), field="level")
    hierarchy = area_hierarchy(session=session)
    return compute_gaps(
        area_inputs(session=session, level=level),
        initiatives,
        weights=weights,
        hierarchy=hierarchy,
        ancestor_readings=readings_by_area(session=session),
    )


# --- the breakdown shown when an area is picked ----------------------------------------


def breakdown(gap: AreaGap) -> dict[str, list[dict[str, Any]]]:
    """Every figure behind one area's score, as table rows (labels translated)."""
    readings = []
    for item in gap.readings:
        reading = item.reading
        readings.append(
            {
                _("Indicator"): _(NEED_INDICATORS[item.indicator]),
                _("Share"): None if reading is None else round(reading.value, 4),
                _("Weight"): round(item.weight, 4),
                _("Source"): "" if reading is None else reading.source,
                _("Year"): None if reading is None else reading.year,
                _("Note"): _missing_or_inherited(reading),
            }
        )
    initiatives = [
        {
            _("Initiative"): share.title,
            _("Organisation"): share.organisation,
            _("Status"): share.status,
            _("Counts as"): share.status_weight,
            _("Reach or target (R)"): share.capacity,
            _("Areas it covers"): share.areas,
            _("Reach here (r)"): round(share.reach),
        }
        for share in gap.initiatives
    ]
    summary = [
        {_("Figure"): _("Need N"), _("Value"): _num(gap.need, 4)},
        {_("Figure"): _("Base population B"), _("Value"): _num(gap.base, 0)},
        {_("Figure"): _("Source of B"), _("Value"): gap.base_source or _("unknown")},
        {_("Figure"): _("People affected A = N × B"), _("Value"): _num(gap.people_affected, 0)},
        {_("Figure"): _("Total reach Σr"), _("Value"): _num(gap.total_reach, 0)},
        {_("Figure"): _("Coverage C = min(1, Σr / A)"), _("Value"): _num(gap.coverage, 4)},
        {_("Figure"): _("Gap G = A × (1 − C)"), _("Value"): _num(gap.gap, 0)},
        {_("Figure"): _("Class"), _("Value"): _(GAP_CLASS_LABELS[gap.gap_class])},
        {_("Figure"): _("Data status"), _("Value"): gap.data_status.value},
    ]
    return {"readings": readings, "initiatives": initiatives, "summary": summary}


def _num(value: float | None, digits: int) -> str:
    return _("unknown") if value is None else _fmt(value, digits)


def _missing_or_inherited(reading: Reading | None) -> str:
    if reading is None:
        return _("missing: unknown, not zero")
    notes = []
    if reading.inherited_from:
        notes.append(_("inherited from {code}").format(code=reading.inherited_from))
    if reading.is_demo:
        notes.append(_("demo value"))
    return "; ".join(notes)
