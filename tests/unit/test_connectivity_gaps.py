"""The gap score's arithmetic, checked by hand on small numbers."""

from __future__ import annotations

import pytest

from connectivity.gaps import (
    TARGET_COLUMNS,
    AreaInput,
    DataStatus,
    GapClass,
    Reading,
    breakdown,
    compute_gaps,
    normalise_weights,
    targets_csv,
)
from hub.errors import InvalidInput
from initiatives.queries import PublishedReach


def shares(**values: float) -> dict[str, Reading]:
    return {k: Reading(k, v, source="test", year=2021) for k, v in values.items()}


ALL_QUARTER = shares(offline=0.2, no_fast_broadband=0.4, no_4g=0.1, students_without_device=0.3)
ALL_TENTH = shares(offline=0.1, no_fast_broadband=0.1, no_4g=0.1, students_without_device=0.1)


def initiative(n: int, areas: tuple[str, ...], status: str = "active", **kw: int | None):
    return PublishedReach(
        initiative_id=n,
        title=f"I{n}",
        organisation="Org",
        status=status,
        category="data",
        channels=("online",),
        area_codes=areas,
        people_reached=kw.get("reached"),
        people_targeted=kw.get("targeted"),
    )


def by_code(gaps):
    return {g.code: g for g in gaps}


def test_reach_is_split_by_people_affected_and_planned_counts_half() -> None:
    areas = [
        AreaInput("A1", "One", "district", "C", population=1000, readings=ALL_QUARTER),
        AreaInput("A2", "Two", "district", "C", population=2000, readings=ALL_TENTH),
    ]
    initiatives = [
        initiative(1, ("A1", "A2"), reached=90),  # 90 split 250:200 -> 50 and 40
        initiative(2, ("A1",), "planned", targeted=100),  # counts half: 50
        initiative(3, ("A2",), "completed", reached=1000),  # ended: 0
    ]
    gaps = compute_gaps(areas, initiatives)
    one, two = by_code(gaps)["A1"], by_code(gaps)["A2"]

    assert one.need == pytest.approx(0.25)  # (0.2 + 0.4 + 0.1 + 0.3) / 4
    assert one.people_affected == pytest.approx(250)
    assert one.total_reach == pytest.approx(100)  # 50 + 50
    assert one.coverage == pytest.approx(0.4)
    assert one.gap == pytest.approx(150)
    assert one.intensity == pytest.approx(0.15)
    assert one.gap_class is GapClass.PARTLY_COVERED

    assert two.people_affected == pytest.approx(200)
    assert two.coverage == pytest.approx(0.2)  # 40 / 200
    assert two.gap == pytest.approx(160)
    assert [g.code for g in gaps] == ["A2", "A1"]  # ranked by unmet people
    ended = next(s for s in two.initiatives if s.initiative_id == 3)
    assert ended.reach == 0 and ended.status_weight == 0


def test_classes_uncovered_covered_over_covered() -> None:
    tiny = dict(population=100, readings=ALL_TENTH)  # A = 10
    areas = [
        AreaInput("U", "Uncovered", "district", **tiny),
        AreaInput("C", "Covered", "district", **tiny),
        AreaInput("O", "Over", "district", **tiny),
    ]
    initiatives = [
        initiative(1, ("C",), reached=15),  # one initiative above A: covered
        initiative(2, ("O",), reached=10),
        initiative(3, ("O",), reached=10),  # two together above A: duplication?
    ]
    gaps = by_code(compute_gaps(areas, initiatives))
    assert gaps["U"].gap_class is GapClass.UNCOVERED and gaps["U"].gap == pytest.approx(10)
    assert gaps["C"].gap_class is GapClass.COVERED and gaps["C"].coverage == 1
    assert gaps["O"].gap_class is GapClass.OVER_COVERED and gaps["O"].gap == 0


def test_missing_data_is_unknown_never_zero() -> None:
    areas = [
        AreaInput("Q", "One indicator", "district", population=100, readings=shares(offline=0.5)),
        AreaInput("H", "Half", "district", population=100, readings=shares(offline=0.2, no_4g=0.4)),
        AreaInput("P", "No population", "district", readings=ALL_TENTH),
    ]
    gaps = compute_gaps(areas, [])
    q, h, p = by_code(gaps)["Q"], by_code(gaps)["H"], by_code(gaps)["P"]
    assert q.gap_class is GapClass.UNKNOWN and q.need is None and q.gap is None
    assert h.need == pytest.approx(0.3)  # weights re-normalised over the two known
    assert h.data_status is DataStatus.PARTIAL
    assert p.gap_class is GapClass.UNKNOWN and p.data_status is DataStatus.UNKNOWN
    assert gaps[0].code == "H"  # unknown ranked last
    row = next(line for line in targets_csv(gaps).splitlines() if line.startswith("Q,"))
    assert row == "Q,One indicator,district,,,,,unknown,unknown"


def test_weights_change_the_need() -> None:
    area = AreaInput("A", "A", "district", population=1000, readings=ALL_QUARTER)
    (gap,) = compute_gaps(
        [area],
        [],
        weights={"offline": 3, "no_fast_broadband": 1, "no_4g": 0, "students_without_device": 0},
    )
    assert gap.need == pytest.approx((3 * 0.2 + 0.4) / 4)
    with pytest.raises(InvalidInput, match="negative"):
        normalise_weights({"offline": -1})
    with pytest.raises(InvalidInput, match="unknown indicator"):
        normalise_weights({"wifi": 1})


def test_inheritance_and_larger_or_smaller_areas_of_initiatives() -> None:
    hierarchy = {"PT": None, "D1": "PT", "M1": "D1", "M2": "D1"}
    district_readings = {"D1": shares(offline=0.4)}
    own = shares(no_fast_broadband=0.2, no_4g=0.2, students_without_device=0.2,
                 population=1000)  # fmt: skip
    areas = [
        AreaInput("M1", "M1", "municipality", "D1", readings=own),
        AreaInput("M2", "M2", "municipality", "D1", readings=own),
    ]
    initiatives = [initiative(1, ("PT",), reached=50), initiative(2, ("D1",), reached=50)]
    gaps = by_code(
        compute_gaps(areas, initiatives, hierarchy=hierarchy, ancestor_readings=district_readings)
    )
    m1 = gaps["M1"]
    assert m1.need == pytest.approx(0.25)  # (0.4 inherited + 0.2 * 3) / 4
    inherited = next(r.reading for r in m1.readings if r.indicator == "offline")
    assert inherited is not None and inherited.inherited_from == "D1"
    assert m1.data_status is DataStatus.PARTIAL
    assert m1.total_reach == pytest.approx(50)  # each initiative split over M1 and M2
    assert m1.coverage == pytest.approx(0.2)  # 50 / (0.25 * 1000)
    assert m1.gap_class is GapClass.PARTLY_COVERED


def test_breakdown_lists_every_figure() -> None:
    area = AreaInput("A", "A", "district", population=1000, readings=shares(offline=0.3))
    (gap,) = compute_gaps([area], [initiative(1, ("A",), reached=10)])
    parts = breakdown(gap)
    assert len(parts["readings"]) == 4
    notes = [row["Note"] for row in parts["readings"]]
    assert notes.count("missing: unknown, not zero") == 3
    assert parts["initiatives"][0]["Reach here (r)"] == 0  # A unknown: no share
    assert TARGET_COLUMNS[0] == "area_code"
