"""Map builders, without a browser: colours in properties, local assets, payload size."""

from __future__ import annotations

import json
import re

from sqlmodel import Session

from connectivity import maps
from connectivity.demo import load_demo_indicators
from connectivity.gaps import AreaGap, GapClass, InitiativeReach, area_gaps
from geo.areas import areas_by_level, geometry_of, load_reference_areas
from initiatives.queries import PublishedReach


def demo_gaps(session: Session) -> tuple[list[AreaGap], list[AreaGap], dict]:
    load_reference_areas(session=session)
    load_demo_indicators(session=session)
    geometries = {a.code: geometry_of(a) for a in areas_by_level(session=session, level="district")}
    return (
        area_gaps(session=session, level="district", initiatives=[]),
        area_gaps(session=session, level="municipality", initiatives=[]),
        geometries,
    )


def reach(n: int, areas: tuple[str, ...]) -> InitiativeReach:
    return PublishedReach(n, f"<b>Title {n}</b>", "Org", "active", "data", ("online",),
                           areas, 100, None)  # fmt: skip


def test_full_map_is_small_local_and_styled_from_properties(session: Session) -> None:
    districts, municipalities, geometries = demo_gaps(session)
    top = [g.code for g in districts[:5]]
    points = maps.initiative_points(
        [reach(1, ("PT-11", "1106")), reach(2, ("PT-11",))],
        {g.code: (g.lat, g.lon) for g in districts + municipalities},
    )
    m = maps.build_gap_map(
        districts=maps.district_features(districts, geometries, top=top),
        municipalities=maps.municipality_features(municipalities),
        initiative_rows=points,
    )
    page = maps.map_html(m)

    assert len(page.encode()) < 1_500_000
    assert not re.findall(r"https?://", page), "the map must not load anything from the web"
    assert all(url.startswith("/assets/vendor/") for url in maps.asset_urls(m))
    assert "/assets/vendor/leaflet-1.9.4/leaflet.js" in page
    assert "markercluster" in page
    # Colour travels in properties; no per-feature style branch (folium's style_function).
    assert "switch(" not in page and "case " not in page
    assert page.count("function(feature, layer)") == 2  # one callback per layer
    assert points[0][2] == "<b>Title 1</b> (Org)"  # a title attribute: plain text
    assert "<b>Title 1" not in page  # and escaped inside the script
    assert len(points) == 3 and points[0][:2] != points[1][:2]  # two in PT-11, spread apart


def test_features_carry_colour_tooltip_and_rank(session: Session) -> None:
    districts, municipalities, geometries = demo_gaps(session)
    collection = maps.district_features(districts, geometries, top=[districts[0].code])
    assert len(collection["features"]) == 20
    first = collection["features"][0]["properties"]
    assert first["colour"].startswith("#") and first["style"]["fillColor"] == first["colour"]
    assert first["tooltip"].startswith(f"<b>#1 {districts[0].code}")
    assert "demo data" in first["tooltip"]
    assert first["style"]["weight"] == 3  # top target highlighted
    symbols = maps.municipality_features(municipalities)
    radii = [f["properties"]["radius"] for f in symbols["features"]]
    assert len(radii) == 300 and max(radii) == 24.0 and min(radii) >= 4
    coords = json.dumps(collection)
    assert not re.search(r"\d\.\d{5,}", coords)  # rounded to 4 decimals


def test_colours_by_class() -> None:
    assert maps.colour_for(None) == maps.UNKNOWN_COLOUR
    assert maps.colour_for(0.5, GapClass.UNKNOWN) == maps.UNKNOWN_COLOUR
    assert maps.colour_for(0.0, GapClass.COVERED) == maps.COVERED_COLOUR
    assert maps.colour_for(0.0, GapClass.OVER_COVERED) == maps.OVER_COVERED_COLOUR
    assert maps.colour_for(0.01) == maps.REDS[0]
    assert maps.colour_for(0.5) == maps.REDS[-1]
    assert len(maps.legend()) == 8


def test_hexagons_and_filters() -> None:
    hexes = maps.hex_features(
        [(38.72, -9.14, 100.0), (38.7201, -9.1401, 50.0), (41.15, -8.61, 10.0)]
    )
    assert len(hexes["features"]) == 2
    assert {f["properties"]["colour"] for f in hexes["features"]} <= set(maps.REDS)
    keep = maps.InitiativeFilter(statuses=frozenset({"planned"}))
    assert maps.filter_initiatives([reach(1, ("PT-11",))], keep) == []


def test_click_is_mapped_to_an_area(session: Session) -> None:
    _districts, municipalities, geometries = demo_gaps(session)
    clicked = {"last_object_clicked": {"lat": 38.75, "lng": -9.15}}
    assert maps.clicked_area(clicked, geometries=geometries, points={}) == "PT-11"
    points = {g.code: (g.lat, g.lon) for g in municipalities}
    assert maps.clicked_area(clicked, geometries={}, points=points) in {"1106", "1115", "1116"}
    assert (
        maps.clicked_area({"last_object_clicked": None}, geometries=geometries, points={}) is None
    )


def test_targets_geojson_says_demo(session: Session) -> None:
    districts, _municipalities, geometries = demo_gaps(session)
    exported = json.loads(maps.targets_geojson(districts, geometries))
    assert "demo" in exported["note"]
    props = exported["features"][0]["properties"]
    assert list(props) == ["area_code", "area_name", "level", "need", "people_affected",
                           "coverage", "gap", "class", "data_status"]  # fmt: skip
    assert props["data_status"] == "demo"


def test_many_initiatives_become_one_symbol_per_area() -> None:
    """Issue 21: past MAX_MARKERS the browser gets one symbol per area, sized by the
    number of initiatives, its tooltip the count and the first titles (escaped)."""
    positions = {"PT-11": (38.72, -9.14), "1106": (38.71, -9.13), "PT-13": (41.15, -8.61)}
    many = [reach(n, ("PT-11", "1106") if n % 2 else ("PT-11",)) for n in range(6_000)]
    many.append(reach(9_999, ("PT-99",)))  # an area without a point is left out
    assert maps.marker_count(many) > maps.MAX_MARKERS

    symbols = maps.initiative_areas(many, positions)

    by_point = {tuple(f["geometry"]["coordinates"]): f["properties"] for f in symbols["features"]}
    assert set(by_point) == {(-9.14, 38.72), (-9.13, 38.71)}
    lisbon, municipality = by_point[(-9.14, 38.72)], by_point[(-9.13, 38.71)]
    assert lisbon["tooltip"].startswith("6000 initiatives: &lt;b&gt;Title 0&lt;/b&gt;;")
    assert lisbon["tooltip"].endswith("…")
    assert municipality["tooltip"].startswith("3000 initiatives")
    assert lisbon["radius"] > municipality["radius"]  # the larger count, the larger symbol
    page = maps.map_html(maps.build_gap_map(initiative_symbols=symbols))
    assert len(page.encode()) < 50_000 and "markercluster" not in page
