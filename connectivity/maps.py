"""Map building: pure functions from gap results to a folium map (tested without a browser).

Measured limits (shared notes, 2-core machine) shape every choice here:
- colours travel in each feature's properties and one JavaScript callback applies them
  (folium's ``style_function`` emits one ``case`` per feature: ~21 s to draw 30k);
- points go through ``FastMarkerCluster`` or one GeoJSON layer, never one folium
  object each;
- coordinates are rounded, there are no base-map tiles, and Leaflet's files come from
  ``static/`` (served at /assets by wiring.py), never from a public CDN.
"""

from __future__ import annotations

import functools
import html
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import h3
from folium.plugins import FastMarkerCluster
from folium.utilities import JsCode
from shapely.geometry import Point, shape

from connectivity.gaps import (
    GAP_CLASS_LABELS,
    AreaGap,
    GapClass,
    InitiativeReach,
)
from hub.i18n import _

STATIC_BASE = "/assets/vendor"
LEAFLET_JS = f"{STATIC_BASE}/leaflet-1.9.4/leaflet.js"
LEAFLET_CSS = f"{STATIC_BASE}/leaflet-1.9.4/leaflet.css"
CLUSTER_JS = f"{STATIC_BASE}/leaflet.markercluster-1.5.3/leaflet.markercluster.js"
CLUSTER_CSS = f"{STATIC_BASE}/leaflet.markercluster-1.5.3/MarkerCluster.css"
CLUSTER_DEFAULT_CSS = f"{STATIC_BASE}/leaflet.markercluster-1.5.3/MarkerCluster.Default.css"

DECIMALS = 4
UNKNOWN_COLOUR = "#bdbdbd"
COVERED_COLOUR = "#1a9641"
OVER_COVERED_COLOUR = "#7b3294"
# Sequential reds for unmet intensity g = N (1 - C) (or for need N).
BREAKS = (0.05, 0.10, 0.20, 0.30)
REDS = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")
ATTRIBUTION = "Areas: Natural Earth (public domain), GeoNames (CC BY 4.0) or imported boundaries"

# One callback for every feature: style and tooltip come from the feature's properties.
STYLE_FROM_PROPERTIES = JsCode(
    """
function(feature, layer) {
    var p = feature.properties;
    if (p.style && layer.setStyle) { layer.setStyle(p.style); }
    if (p.radius && layer.setRadius) { layer.setRadius(p.radius); }
    if (p.tooltip) { layer.bindTooltip(p.tooltip, {sticky: true}); }
}
"""
)
INITIATIVE_MARKER = """
function (row) {
    window.hubDot = window.hubDot || L.divIcon({iconSize: [10, 10]});
    return L.marker([row[0], row[1]], {icon: window.hubDot, title: row[2]});
}
"""


def localise(element: Any, js: Sequence[tuple[str, str]], css: Sequence[tuple[str, str]]) -> Any:
    """Point an element's scripts and styles at our static files (instance attributes:
    folium's class defaults, which name public CDNs, stay untouched)."""
    element.default_js = list(js)
    element.default_css = list(css)
    return element


def asset_urls(m: folium.Map) -> list[str]:
    """Every script and stylesheet URL the map (and its children) will load."""
    urls: list[str] = []

    def walk(element: Any) -> None:
        urls.extend(url for _name, url in getattr(element, "default_js", []))
        urls.extend(url for _name, url in getattr(element, "default_css", []))
        for child in getattr(element, "_children", {}).values():
            walk(child)

    walk(m)
    return list(dict.fromkeys(urls))


def colour_for(value: float | None, gap_class: GapClass | None = None) -> str:
    if gap_class is GapClass.UNKNOWN or value is None:
        return UNKNOWN_COLOUR
    if gap_class is GapClass.OVER_COVERED:
        return OVER_COVERED_COLOUR
    if gap_class is GapClass.COVERED:
        return COVERED_COLOUR
    for limit, colour in zip(BREAKS, REDS, strict=False):
        if value < limit:
            return colour
    return REDS[-1]


def legend() -> list[tuple[str, str]]:
    """(colour, label) pairs for the page to show under the map."""
    bands = [f"< {BREAKS[0]:.0%}"]
    bands += [f"{low:.0%}–{high:.0%}" for low, high in itertools.pairwise(BREAKS)]
    bands.append(f"≥ {BREAKS[-1]:.0%}")
    return [
        *zip(REDS, bands, strict=True),
        (COVERED_COLOUR, _(GAP_CLASS_LABELS[GapClass.COVERED])),
        (OVER_COVERED_COLOUR, _(GAP_CLASS_LABELS[GapClass.OVER_COVERED])),
        (UNKNOWN_COLOUR, _(GAP_CLASS_LABELS[GapClass.UNKNOWN])),
    ]


def _round(coords: Any) -> Any:
    if isinstance(coords, int | float):
        return round(float(coords), DECIMALS)
    return [_round(c) for c in coords]


def _number(value: float | None, pattern: str = "{:,.0f}") -> str:
    return _("unknown") if value is None else pattern.format(value)


def tooltip_text(gap: AreaGap, rank: int | None = None) -> str:
    """Escaped HTML: area names may come from imported files."""
    head = f"{html.escape(gap.code)} · {html.escape(gap.name)}"
    if rank is not None:
        head = f"#{rank} {head}"
    lines = [
        f"<b>{head}</b>",
        f"{_('Need')}: {_number(gap.need, '{:.1%}')}",
        f"{_('People affected')}: {_number(gap.people_affected)}",
        f"{_('Coverage')}: {_number(gap.coverage, '{:.0%}')}",
        f"{_('Gap')}: {_number(gap.gap)}",
        html.escape(_(GAP_CLASS_LABELS[gap.gap_class])),
    ]
    if gap.data_status.value == "demo":
        lines.append(f"<i>{_('demo data')}</i>")
    return "<br>".join(lines)


def _metric(gap: AreaGap, metric: str) -> float | None:
    return gap.need if metric == "need" else gap.intensity


def _style(colour: str, *, highlighted: bool = False, point: bool = False) -> dict[str, Any]:
    return {
        "fillColor": colour,
        "color": "#111111" if highlighted else ("#555555" if point else "#ffffff"),
        "weight": 3 if highlighted else 1,
        "fillOpacity": 0.85 if point else 0.7,
    }


def area_properties(
    gap: AreaGap, *, metric: str, rank: int | None, highlighted: bool, point: bool = False
) -> dict[str, Any]:
    colour = (
        colour_for(_metric(gap, metric), gap.gap_class)
        if metric == "gap"
        else colour_for(gap.need, GapClass.UNKNOWN if gap.need is None else None)
    )
    return {
        "code": gap.code,
        "name": gap.name,
        "class": gap.gap_class.value,
        "data_status": gap.data_status.value,
        "colour": colour,
        "style": _style(colour, highlighted=highlighted, point=point),
        "tooltip": tooltip_text(gap, rank),
    }


def district_features(
    gaps: Iterable[AreaGap],
    geometries: Mapping[str, Mapping[str, Any]],
    *,
    metric: str = "gap",
    top: Iterable[str] = (),
    selected: str | None = None,
) -> dict[str, Any]:
    """A FeatureCollection of area polygons with colour and tooltip in properties."""
    ranks = {code: n for n, code in enumerate(top, start=1)}
    features = []
    for gap in gaps:
        geometry = geometries.get(gap.code)
        if not geometry:
            continue
        props = area_properties(
            gap,
            metric=metric,
            rank=ranks.get(gap.code),
            highlighted=gap.code in ranks or gap.code == selected,
        )
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {
                    "type": geometry["type"],
                    "coordinates": _round(geometry["coordinates"]),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def symbol_radius(people_affected: float | None, largest: float) -> float:
    """Circle radius in pixels, area proportional to people affected (4..24 px)."""
    if not people_affected or largest <= 0:
        return 4.0
    return round(4 + 20 * math.sqrt(people_affected / largest), 1)


def municipality_features(
    gaps: Iterable[AreaGap],
    *,
    metric: str = "gap",
    top: Iterable[str] = (),
    selected: str | None = None,
) -> dict[str, Any]:
    """Proportional symbols at the seats: sized by people affected, coloured by gap."""
    ranks = {code: n for n, code in enumerate(top, start=1)}
    located = [g for g in gaps if g.lat is not None and g.lon is not None]
    largest = max((g.people_affected or 0.0 for g in located), default=0.0)
    features = []
    for gap in located:
        props = area_properties(
            gap,
            metric=metric,
            rank=ranks.get(gap.code),
            highlighted=gap.code in ranks or gap.code == selected,
            point=True,
        )
        props["radius"] = symbol_radius(gap.people_affected, largest)
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(gap.lon or 0.0, DECIMALS), round(gap.lat or 0.0, 4)],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --- initiatives as points ------------------------------------------------------------


@dataclass(frozen=True)
class InitiativeFilter:
    categories: frozenset[str] = frozenset()
    organisations: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    def keeps(self, initiative: InitiativeReach) -> bool:
        return (
            (not self.categories or initiative.category in self.categories)
            and (not self.organisations or initiative.organisation in self.organisations)
            and (not self.statuses or initiative.status in self.statuses)
            and (not self.channels or bool(self.channels & set(initiative.channels)))
        )


def filter_initiatives(
    initiatives: Iterable[InitiativeReach], keep: InitiativeFilter
) -> list[InitiativeReach]:
    return [i for i in initiatives if keep.keeps(i)]


def initiative_points(
    initiatives: Iterable[InitiativeReach],
    positions: Mapping[str, tuple[float, float]],
) -> list[list[Any]]:
    """[lat, lon, label] per initiative and area it names (at the area's point), spread
    on a small spiral so initiatives in one area stay apart once unclustered. The label
    becomes the marker's title attribute (set as a DOM property, never parsed as HTML)."""
    points: list[list[Any]] = []
    per_area: dict[str, int] = defaultdict(int)
    for initiative in initiatives:
        label = f"{initiative.title} ({initiative.organisation})"
        for code in initiative.area_codes:
            position = positions.get(code)
            if position is None:
                continue
            n = per_area[code]
            per_area[code] += 1
            dy, dx = _spiral(n)
            points.append([round(position[0] + dy, 4), round(position[1] + dx, 4), label])
    return points


# Past this many markers the browser is sent one symbol per area instead (issue 21):
# 50,000 initiatives name ~150,000 places, ~10 MB of markers to parse and cluster.
MAX_MARKERS = 5_000
TITLES_IN_TOOLTIP = 3


def marker_count(initiatives: Iterable[InitiativeReach]) -> int:
    """How many markers ``initiative_points`` would draw (an upper bound)."""
    return sum(len(i.area_codes) for i in initiatives)


def initiative_areas(
    initiatives: Iterable[InitiativeReach],
    positions: Mapping[str, tuple[float, float]],
) -> dict[str, Any]:
    """One symbol per area naming initiatives, sized by their number, its tooltip the
    count and the first titles: what the browser draws when the markers would be too
    many (``MAX_MARKERS``)."""
    counts: dict[str, int] = defaultdict(int)
    titles: dict[str, list[str]] = defaultdict(list)
    for initiative in initiatives:
        for code in initiative.area_codes:
            if code in positions:
                counts[code] += 1
                if len(titles[code]) < TITLES_IN_TOOLTIP:
                    titles[code].append(initiative.title)
    largest = max(counts.values(), default=0)
    features = []
    for code, n in sorted(counts.items()):
        lat, lon = positions[code]
        first = "; ".join(html.escape(t) for t in titles[code])
        more = "…" if n > len(titles[code]) else ""
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "style": {"color": "#2b5fa8", "fillColor": "#4a90d9", "fillOpacity": 0.5,
                              "weight": 1},
                    "radius": round(3 + 12 * math.sqrt(n / largest), 1) if largest else 3,
                    "tooltip": _("{n} initiatives").format(n=n) + f": {first}{more}",
                },
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(lon, DECIMALS), round(lat, DECIMALS)],
                },
            }
        )  # fmt: skip
    return {"type": "FeatureCollection", "features": features}


@functools.cache
def _spiral(n: int) -> tuple[float, float]:
    angle, distance = n * 2.39996, 0.004 * math.sqrt(n)  # golden-angle spiral
    return distance * math.sin(angle), distance * math.cos(angle)


# --- H3 hexagons ----------------------------------------------------------------------


def hex_features(
    weights: Iterable[tuple[float, float, float]], *, resolution: int = 6
) -> dict[str, Any]:
    """Hexagons of H3 ``resolution`` summing point weights (lat, lon, weight), coloured
    by their share of the largest cell. Cells without points are not drawn (unknown)."""
    totals: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for lat, lon, weight in weights:
        cell = h3.latlng_to_cell(lat, lon, resolution)
        totals[cell] += weight
        counts[cell] += 1
    largest = max(totals.values(), default=0.0)
    features = []
    for cell, total in sorted(totals.items()):
        share = total / largest if largest else 0.0
        colour = colour_for(share * BREAKS[-1] * 1.2)
        boundary = [
            [round(lon, DECIMALS), round(lat, DECIMALS)] for lat, lon in h3.cell_to_boundary(cell)
        ]
        boundary.append(boundary[0])
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": cell,
                    "colour": colour,
                    "style": _style(colour),
                    "tooltip": _("{total:,.0f} people affected, unmet · {n} places").format(
                        total=total, n=counts[cell]
                    ),
                },
                "geometry": {"type": "Polygon", "coordinates": [boundary]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --- the map --------------------------------------------------------------------------


def _geojson_layer(data: dict[str, Any], name: str, *, points: bool = False) -> folium.GeoJson:
    return folium.GeoJson(
        data,
        name=name,
        on_each_feature=STYLE_FROM_PROPERTIES,
        marker=folium.CircleMarker(radius=4) if points else None,
        attribution=ATTRIBUTION,
    )


def base_map(*, center: tuple[float, float], zoom: int) -> folium.Map:
    m = folium.Map(
        location=list(center),
        zoom_start=zoom,
        tiles=None,  # no base-map tiles: they would come from a public server
        prefer_canvas=True,
        control_scale=True,
        maxZoom=18,  # without tiles Leaflet has none, and marker clustering needs one
        minZoom=4,
    )
    return localise(m, [("leaflet", LEAFLET_JS)], [("leaflet_css", LEAFLET_CSS)])


def build_gap_map(
    *,
    districts: dict[str, Any] | None = None,
    municipalities: dict[str, Any] | None = None,
    hexes: dict[str, Any] | None = None,
    initiative_rows: Sequence[Sequence[Any]] | None = None,
    initiative_symbols: dict[str, Any] | None = None,
    center: tuple[float, float] = (39.6, -8.0),
    zoom: int = 6,
) -> folium.Map:
    """One map with the layers given (FeatureCollections from the builders above)."""
    m = base_map(center=center, zoom=zoom)
    if districts and districts["features"]:
        _geojson_layer(districts, _("Districts")).add_to(m)
    if hexes and hexes["features"]:
        _geojson_layer(hexes, _("Hexagons")).add_to(m)
    if municipalities and municipalities["features"]:
        _geojson_layer(municipalities, _("Municipalities"), points=True).add_to(m)
    if initiative_rows:
        cluster = FastMarkerCluster(
            [list(r) for r in initiative_rows],
            callback=INITIATIVE_MARKER,
            name=_("Initiatives"),
            chunkedLoading=True,  # cluster in slices: the areas paint before 20k points
            spiderfyOnMaxZoom=True,
        )
        localise(
            cluster,
            [("markerclusterjs", CLUSTER_JS)],
            [("markerclustercss", CLUSTER_CSS), ("markerclusterdefaultcss", CLUSTER_DEFAULT_CSS)],
        ).add_to(m)
    if initiative_symbols and initiative_symbols["features"]:
        _geojson_layer(initiative_symbols, _("Initiatives"), points=True).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def map_html(m: folium.Map) -> str:
    """The standalone HTML of the map (what a browser draws; used by tests and benchmarks)."""
    return str(m.get_root().render())


# --- clicks and exports ---------------------------------------------------------------


def clicked_area(
    returned: Mapping[str, Any] | None,
    *,
    geometries: Mapping[str, Mapping[str, Any]],
    points: Mapping[str, tuple[float, float]],
) -> str | None:
    """The area code behind a click returned by st_folium: the polygon containing the
    click, else the nearest point (a municipality symbol)."""
    if not returned:
        return None
    clicked = returned.get("last_object_clicked") or returned.get("last_clicked")
    if not clicked or clicked.get("lat") is None:
        return None
    lat, lon = float(clicked["lat"]), float(clicked["lng"])
    point = Point(lon, lat)
    for code, geometry in geometries.items():
        if shape(geometry).contains(point):
            return code
    if points:
        return min(points, key=lambda c: (points[c][0] - lat) ** 2 + (points[c][1] - lon) ** 2)
    return None


def target_properties(gap: AreaGap) -> dict[str, Any]:
    """One area of the ranked list as GeoJSON properties: figures as JSON numbers (null
    when unknown, never 0), codes and classes as strings."""

    def number(value: float | None, digits: int) -> float | int | None:
        if value is None:
            return None
        return round(value, digits) if digits else round(value)

    return {
        "area_code": gap.code,
        "area_name": gap.name,
        "level": gap.level,
        "need": number(gap.need, 4),
        "people_affected": number(gap.people_affected, 0),
        "coverage": number(gap.coverage, 4),
        "gap": number(gap.gap, 0),
        "class": gap.gap_class.value,
        "data_status": gap.data_status.value,
    }


def targets_geojson(
    gaps: Iterable[AreaGap],
    geometries: Mapping[str, Mapping[str, Any]],
) -> str:
    """The ranked list as GeoJSON: polygons where known, else the area's point."""
    gaps = list(gaps)
    features = []
    for gap in gaps:
        geometry: Mapping[str, Any] | None = geometries.get(gap.code)
        if geometry is None and gap.lat is not None and gap.lon is not None:
            geometry = {"type": "Point", "coordinates": [gap.lon, gap.lat]}
        features.append(
            {"type": "Feature", "properties": target_properties(gap), "geometry": geometry}
        )
    demo = any(g.data_status.value == "demo" for g in gaps)
    collection = {
        "type": "FeatureCollection",
        "note": "data_status 'demo' marks synthetic demo values, not measurements" if demo else "",
        "features": features,
    }
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
