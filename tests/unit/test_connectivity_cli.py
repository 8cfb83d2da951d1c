"""python -m hub import-indicators / import-boundaries / gaps."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from connectivity.models import IndicatorValue
from geo.models import Area
from hub.audit import AuditEntry
from hub.db import make_engine
from wiring import app

runner = CliRunner()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "en")
    return url


def test_import_indicators_then_gaps(sqlite_url: str, tmp_path: Path) -> None:
    source = tmp_path / "ind.csv"
    source.write_text(
        "area_code,indicator,value,source,year\n"
        "PT-11,offline,0.2,INE,2021\nPT-11,no_fast_broadband,0.1,ANACOM,2022\n"
        "PT-11,population,1000000,INE,2021\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import-indicators", str(source)])
    assert result.exit_code == 0, result.output
    assert "3 added" in result.output
    out = tmp_path / "targets.csv"
    result = runner.invoke(app, ["gaps", "--out", str(out), "--level", "district"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert list(rows[0]) == ["area_code", "area_name", "level", "need", "people_affected",
                             "coverage", "gap", "class", "data_status"]  # fmt: skip
    assert rows[0]["area_code"] == "PT-11" and rows[0]["class"] == "uncovered"
    assert rows[0]["need"] == "0.1500" and rows[0]["gap"] == "150000"
    assert rows[0]["data_status"] == "partial" and len(rows) == 20
    assert rows[1]["class"] == "unknown" and rows[1]["gap"] == ""
    with Session(make_engine(sqlite_url)) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "import")).one()
        assert entry.actor_label.endswith("<system@hub.local>")


def test_bad_file_lists_every_problem_and_imports_nothing(sqlite_url: str, tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(
        "area_code,indicator,value,source,year\nPT-11,offline,45,INE,2021\n"
        "ZZ,offline,0.1,INE,2021\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import-indicators", str(source)])
    assert result.exit_code == 1
    assert "row 2, value: 45 is out of range" in result.output
    assert "row 3, area_code: unknown area code 'ZZ'" in result.output
    assert "nothing was imported" in result.output
    with Session(make_engine(sqlite_url)) as session:
        assert session.exec(select(IndicatorValue)).all() == []


def test_import_boundaries_and_missing_file(sqlite_url: str, tmp_path: Path) -> None:
    ring = [[-9.2, 38.7], [-9.1, 38.7], [-9.1, 38.8], [-9.2, 38.8], [-9.2, 38.7]]
    geojson = tmp_path / "caop.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"DICO": "1106", "Concelho": "Lisboa"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))  # fmt: skip
    args = ["import-boundaries", str(geojson), "--level", "municipality",
            "--code-field", "DICO", "--name-field", "Concelho"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "1 updated" in result.output
    with Session(make_engine(sqlite_url)) as session:
        lisboa = session.get(Area, "1106")
        assert lisboa is not None and lisboa.geometry and lisboa.source == "caop.geojson"
    result = runner.invoke(
        app,
        [
            "import-boundaries",
            str(tmp_path / "none.geojson"),
            "--level",
            "district",
            "--code-field",
            "a",
            "--name-field",
            "b",
        ],
    )
    assert result.exit_code == 1 and "Cannot read" in result.output
