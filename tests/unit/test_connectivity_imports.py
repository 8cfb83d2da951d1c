"""Reference areas, indicator CSVs, Ookla tiles and boundaries: good and bad input.

Runs on SQLite and PostgreSQL (the ``session`` fixture)."""

from __future__ import annotations

import json
from pathlib import Path

import mercantile
import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from connectivity import imports
from connectivity.demo import load_demo_indicators
from connectivity.gaps import area_gaps
from connectivity.imports import (
    ImportRejected,
    boundaries,
    import_boundaries,
    import_indicators,
    import_ookla_tiles,
    quadkey_center,
)
from connectivity.models import IndicatorValue
from geo.areas import (
    area_names,
    areas_by_level,
    known_area_codes,
    load_reference_areas,
)
from geo.models import Area
from hub.audit import AuditEntry
from hub.auth import Role
from hub.db import make_engine
from hub.errors import PermissionDenied
from initiatives.queries import published_reach
from tests.factories import make_principal
from wiring import app


@pytest.fixture
def areas(session: Session) -> Session:
    load_reference_areas(session=session)
    return session


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_reference_areas_load_once(session: Session) -> None:
    added = load_reference_areas(session=session)
    assert added == 1 + 20 + 300
    assert load_reference_areas(session=session) == 0
    codes = known_area_codes(session=session)
    assert {"PT", "PT-01", "PT-18", "PT-20", "PT-30", "1106"} <= codes
    assert area_names(session=session)["PT-11"] == "Lisboa"
    districts = areas_by_level(session=session, level="district")
    assert len(districts) == 20 and all(d.geometry and d.parent_code == "PT" for d in districts)
    lisboa = session.get(Area, "1106")
    assert lisboa is not None and lisboa.parent_code == "PT-11"
    unknown_population = session.get(Area, "0104")  # GeoNames says 0: unknown, not zero
    assert unknown_population is not None and unknown_population.population is None


def test_country_code_comes_from_the_setting(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_COUNTRY_CODE", "es")
    load_reference_areas(session=session)
    country = session.get(Area, "ES")
    assert country is not None and country.name == "Spain"


LONG = """area_code,indicator,value,source,year
PT-11,offline,0.21,INE,2021
PT-11,population,2275000,INE,2021
1106,no_4g,0.01,ANACOM,2022
"""


def test_long_csv_imports_and_is_audited(areas: Session) -> None:
    staff = make_principal(areas, role=Role.STAFF)
    report = import_indicators(session=areas, actor=staff, data=LONG.encode())
    assert (report.added, report.updated) == (3, 0)
    again = import_indicators(session=areas, actor=staff, data=LONG.replace("0.21", "0.2"))
    assert (again.added, again.updated, again.unchanged) == (0, 1, 2)
    value = areas.exec(
        select(IndicatorValue).where(
            IndicatorValue.area_code == "PT-11", IndicatorValue.indicator == "offline"
        )
    ).one()
    assert value.value == 0.2 and value.year == 2021 and not value.is_demo
    entries = areas.exec(select(AuditEntry).where(AuditEntry.entity_type == "indicator_value"))
    audits = list(entries)
    assert len(audits) == 2 and audits[-1].after == {"PT-11/offline": 0.2}


def test_wide_csv_treats_empty_cells_as_unknown(areas: Session) -> None:
    staff = make_principal(areas)
    wide = "\ufeffarea_code,offline,no_4g,source,year\nPT-01,0.3,,INE,2021\nPT-02,,0.05,INE,2021\n"
    report = import_indicators(session=areas, actor=staff, data=wide.encode())
    assert report.added == 2
    assert count(areas, IndicatorValue) == 2


@pytest.mark.parametrize(
    ("csv_text", "expected"),
    [
        (
            "area_code,indicator,value,source,year\nXX-99,offline,0.2,INE,2021\n",
            "unknown area code 'XX-99'",
        ),
        (
            "area_code,indicator,value,source,year\nPT-01,offline,35,INE,2021\n",
            "write 0.35 for 35%",
        ),
        ("area_code,indicator,value,source,year\nPT-01,offline,-0.1,INE,2021\n", "out of range"),
        (
            "area_code,indicator,value,source,year\nPT-01,offline,0.2,INE,2021\n"
            "PT-01,offline,0.3,INE,2021\n",
            "duplicate: PT-01 / offline is already given in row 3",
        ),
        (
            'area_code,indicator,value,source,year\nPT-01,offline,"0,35",INE,2021\n',
            "decimal comma; write 0.35",
        ),
        (
            "area_code,indicator,value,source,year\nPT-01,offline,0,35,INE,2021\n",
            "A decimal comma?",
        ),
        ("area_code;indicator;value;source;year\nPT-01;offline;0,35;INE;2021\n", "decimal comma"),
        ("area_code,value\nPT-01,0.2\n", "Missing columns: indicator, source, year"),
        ("code,indicator,value\n", "The column area_code is missing"),
        (
            "area_code,indicator,value,source,year\nPT-01,wifi,0.2,INE,2021\n",
            "unknown indicator 'wifi'",
        ),
        ("area_code,indicator,value,source,year\nPT-01,offline,0.2,,20x1\n", "the source is empty"),
        ("", "The file is empty"),
    ],
)
def test_bad_indicator_files_are_refused_whole(
    areas: Session, csv_text: str, expected: str
) -> None:
    staff = make_principal(areas)
    good_first = csv_text.replace("\nPT-01", "\nPT-02,no_4g,0.1,INE,2021\nPT-01", 1)
    with pytest.raises(ImportRejected) as caught:
        import_indicators(session=areas, actor=staff, data=good_first.encode())
    assert any(expected in str(p) for p in caught.value.report.errors), caught.value.report.errors
    assert count(areas, IndicatorValue) == 0  # nothing imported, not even the good row


def test_only_staff_may_import(areas: Session) -> None:
    partner = make_principal(areas, role=Role.PARTNER)
    with pytest.raises(PermissionDenied):
        import_indicators(session=areas, actor=partner, data=LONG)
    with pytest.raises(PermissionDenied):
        import_indicators(session=areas, actor=None, data=LONG)


@pytest.mark.parametrize("quadkey", ["0", "031", "0331113001", "1202032333313302"])
def test_quadkey_centre_matches_mercantile(quadkey: str) -> None:
    tile = mercantile.quadkey_to_tile(quadkey)
    bounds = mercantile.bounds(tile)
    lat, lon = quadkey_center(quadkey)
    assert bounds.west < lon < bounds.east and bounds.south < lat < bounds.north
    assert imports.quadkey_to_tile(quadkey) == (tile.x, tile.y, tile.z)
    with pytest.raises(ValueError):
        quadkey_center("0124")


def _quadkey(lat: float, lon: float) -> str:
    return str(mercantile.quadkey(mercantile.tile(lon, lat, 16)))


def test_ookla_tiles_are_weighted_by_tests(areas: Session) -> None:
    staff = make_principal(areas)
    lisbon, porto = _quadkey(38.72, -9.14), _quadkey(41.15, -8.61)
    tiles = (
        "quadkey,avg_d_kbps,avg_u_kbps,avg_lat_ms,tests,devices\n"
        f"{lisbon},10000,1000,20,10,5\n{_quadkey(38.75, -9.2)},50000,1000,20,30,9\n"
        f"{porto},100000,1000,20,4,2\n{_quadkey(45.0, 2.0)},1000,100,50,3,1\n"
    )
    report = import_ookla_tiles(session=areas, actor=staff, data=tiles, level="district", year=2024)
    assert report.warnings and "1 tiles fall outside" in str(report.warnings[0])
    values = {(v.area_code, v.indicator): v.value for v in areas.exec(select(IndicatorValue)).all()}
    assert values[("PT-11", "avg_download_kbps")] == pytest.approx(40_000)  # (10*10k+30*50k)/40
    assert values[("PT-11", "no_fast_broadband")] == pytest.approx(0.25)  # 10 of 40 tests slow
    assert values[("PT-11", "speed_tests")] == 40
    assert values[("PT-13", "no_fast_broadband")] == 0
    report = import_ookla_tiles(
        session=areas, actor=staff, data=tiles, level="municipality", year=2024
    )
    municipal = {v.area_code for v in areas.exec(select(IndicatorValue)).all()}
    assert "1106" in municipal or "1111" in municipal  # Lisbon's tiles at the nearest seat


def test_bad_ookla_file_is_refused(areas: Session) -> None:
    staff = make_principal(areas)
    with pytest.raises(ImportRejected, match="not a quadkey"):
        import_ookla_tiles(
            session=areas, actor=staff, year=2024,
            data="quadkey,avg_d_kbps,avg_u_kbps,avg_lat_ms,tests,devices\n0129,1,1,1,1,1\n",
        )  # fmt: skip
    with pytest.raises(ImportRejected, match="Missing columns: tests"):
        import_ookla_tiles(session=areas, actor=staff, year=2024, data="quadkey,avg_d_kbps\n")


def square(x: float, y: float, size: float = 0.1) -> dict:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def collection(*features: dict) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def feature(code: str, name: str, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": {"DICO": code, "NAME": name}, "geometry": geometry}


def test_boundaries_replace_and_add_areas(areas: Session) -> None:
    staff = make_principal(areas)
    data = collection(feature("1106", "Lisboa", square(-9.2, 38.7)),
                      feature("9999", "New", square(-8.0, 40.0)))  # fmt: skip
    report = import_boundaries(
        session=areas, actor=staff, data=data, level="municipality",
        code_field="DICO", name_field="NAME", source="CAOP 2024",
    )  # fmt: skip
    assert (report.added, report.updated) == (1, 1)
    assert report.warnings  # the 299 municipalities not in the file are kept
    lisboa = areas.get(Area, "1106")
    assert lisboa is not None and lisboa.geometry and lisboa.source == "CAOP 2024"
    new = areas.get(Area, "9999")
    assert new is not None and new.parent_code == "PT"
    gaps = area_gaps(
        session=areas, level="municipality", initiatives=published_reach(session=areas)
    )
    assert len(gaps) == 301


def test_boundaries_are_simplified(areas: Session) -> None:
    staff = make_principal(areas)
    import math

    ring = [[-8 + 0.1 * math.cos(t / 500 * 2 * math.pi), 40 + 0.1 * math.sin(t / 500 * 2 * math.pi)]
            for t in range(500)]  # fmt: skip
    ring.append(ring[0])
    data = collection(feature("PT-01", "Aveiro", {"type": "Polygon", "coordinates": [ring]}))
    import_boundaries(session=areas, actor=staff, data=data, level="district",
                      code_field="DICO", name_field="NAME")  # fmt: skip
    aveiro = areas.get(Area, "PT-01")
    assert aveiro is not None and aveiro.geometry
    assert len(json.loads(aveiro.geometry)["coordinates"][0]) < 100


BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (collection(feature("1106", "Lisboa", BOWTIE)), "invalid geometry"),
        (collection(feature("1106", "Lisboa", None)), "the geometry is empty"),
        (
            collection(feature("1106", "Lisboa", {"type": "Polygon", "coordinates": []})),
            "the geometry is empty",
        ),
        (
            collection(feature("1106", "Lisboa", square(480000, 4300000, 1000))),
            "reproject to EPSG:4326",
        ),
        (
            collection(feature("1106", "Lisboa", {"type": "Point", "coordinates": [0, 0]})),
            "expected a Polygon",
        ),
        (collection(feature("", "Nameless", square(0, 0))), "no code in the property 'DICO'"),
        (
            collection(feature("1106", "A", square(0, 0)), feature("1106", "B", square(1, 1))),
            "duplicate code",
        ),
        (collection(feature("PT-11", "Lisboa", square(0, 0))), "already belongs to a district"),
        (b"{not json", "Not valid GeoJSON"),
        (collection(), "no features"),
    ],
)
def test_bad_boundaries_are_refused_whole(areas: Session, data: bytes, expected: str) -> None:
    staff = make_principal(areas)
    good = feature("0101", "Águeda", square(-8.5, 40.5))
    if data.startswith(b'{"type"'):
        parsed = json.loads(data)
        parsed["features"].insert(0, good)
        data = json.dumps(parsed).encode() if parsed["features"][1:] else data
    with pytest.raises(ImportRejected) as caught:
        import_boundaries(session=areas, actor=staff, data=data, level="municipality",
                          code_field="DICO", name_field="NAME")  # fmt: skip
    assert any(expected in str(p) for p in caught.value.report.errors), caught.value.report.errors
    assert areas.get(Area, "0101").geometry is None  # the good feature was not imported


def test_huge_geometry_is_refused(areas: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boundaries, "MAX_FEATURE_VERTICES", 4)
    with pytest.raises(ImportRejected, match="too large"):
        import_boundaries(session=areas, actor=make_principal(areas), level="municipality",
                          data=collection(feature("0101", "Águeda", square(-8.5, 40.5))),
                          code_field="DICO", name_field="NAME")  # fmt: skip


def test_demo_indicators_are_labelled_and_never_overwrite(areas: Session) -> None:
    staff = make_principal(areas)
    import_indicators(session=areas, actor=staff, data=LONG)
    added = load_demo_indicators(session=areas)
    assert added == 300 * 5 + 20 * 5 - 3  # the three imported values are kept
    assert load_demo_indicators(session=areas) == 0
    real = areas.exec(
        select(IndicatorValue).where(
            IndicatorValue.area_code == "PT-11", IndicatorValue.indicator == "offline"
        )
    ).one()
    assert real.value == 0.21 and not real.is_demo
    gaps = area_gaps(session=areas, level="district", initiatives=published_reach(session=areas))
    assert {g.data_status.value for g in gaps} == {"demo"}
    assert all(g.known for g in gaps)


# --- hardening (issue 13): hostile files are one clear error, nothing written ------------

cli = CliRunner()
LONG_CELL = "y" * 200_000


@pytest.fixture
def cli_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "en")
    return url


def refused(args: list[str]) -> str:
    result = cli.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize(
    "content",
    [
        f"area_code,indicator,value,source,year\nPT-11,offline,0.2,{LONG_CELL},2021\n",
        "area_code,indicator,value,source,year\n" + "P" * 5000 + ",offline,0.2,INE,2021\n",
    ],
)
def test_cli_indicators_with_a_huge_cell_or_code(
    cli_url: str, tmp_path: Path, content: str
) -> None:
    source = tmp_path / "ind.csv"
    source.write_text(content, encoding="utf-8")
    refused(["import-indicators", str(source)])
    with Session(make_engine(cli_url)) as session:
        assert session.exec(select(IndicatorValue)).all() == []


def test_cli_ookla_with_a_huge_cell(cli_url: str, tmp_path: Path) -> None:
    source = tmp_path / "tiles.csv"
    source.write_text(f"quadkey,avg_d_kbps,tests\n{LONG_CELL},1000,3\n", encoding="utf-8")
    assert "cannot be read" in refused(["import-ookla", str(source), "--year", "2021"])


RING = [[-9.2, 38.7], [-9.1, 38.7], [-9.1, 38.8], [-9.2, 38.8], [-9.2, 38.7]]


@pytest.mark.parametrize(
    "document",
    [
        '{"type": "FeatureCollection", "features": "abc"}',
        '{"type": "FeatureCollection", "features": 7}',
        json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": ["DICO", "1106"], "geometry": None}]}),
        json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"DICO": "9" * 5000, "Concelho": "X"},
             "geometry": {"type": "Polygon", "coordinates": [RING]}}]}),
        '{"type": "FeatureCollection", "features": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
)  # fmt: skip
def test_cli_boundaries_with_a_malformed_geojson(
    cli_url: str, tmp_path: Path, document: str
) -> None:
    source = tmp_path / "bad.geojson"
    source.write_text(document, encoding="utf-8")
    refused(["import-boundaries", str(source), "--level", "municipality",
             "--code-field", "DICO", "--name-field", "Concelho"])  # fmt: skip
    with Session(make_engine(cli_url)) as session:
        assert all(len(a.code) <= 32 for a in session.exec(select(Area)).all())
