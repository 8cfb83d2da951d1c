"""Official boundaries (GeoJSON) into geo.models.Area outlines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shapely.errors import GEOSException
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from sqlmodel import Session, select

from connectivity.imports.report import (
    ImportRejected,
    ImportReport,
    decode_text,
)
from geo.areas import area_hierarchy
from geo.models import Area, AreaLevel
from hub.audit import record_change
from hub.auth import Principal, require_staff
from hub.errors import InvalidInput
from hub.i18n import _
from hub.records import utcnow

MAX_BOUNDARY_BYTES = 100 * 1024 * 1024
MAX_FEATURE_VERTICES = 500_000  # before simplification; more is a mistake, not a map
MAX_SIMPLIFIED_VERTICES = 20_000  # per feature after simplification
SIMPLIFY_DEGREES = {AreaLevel.DISTRICT: 0.005, AreaLevel.MUNICIPALITY: 0.001}
DECIMALS = 5
MAX_CODE_CHARS = 32  # geo.models.Area.code
MAX_NAME_CHARS = 200  # geo.models.Area.name


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
        collection = json.loads(decode_text(data))
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
