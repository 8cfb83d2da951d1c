"""``python -m hub report --week ... --out DIR`` on the demo data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wiring import app

runner = CliRunner()


def test_report_command_writes_every_file_and_reuses_the_week(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "en")
    monkeypatch.setenv("HUB_DEMO_MODE", "1")
    year, number, _day = datetime.now(UTC).isocalendar()
    week = f"{year}-W{number:02d}"
    out = tmp_path / "out"
    first = runner.invoke(app, ["report", "--week", week, "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert f"Report {week} created" in first.output
    names = sorted(p.name for p in out.iterdir())
    stem = f"report-{week}"
    assert names == sorted(
        [
            f"{stem}.csv",
            f"{stem}.json",
            *(f"{stem}-{lang}.{kind}" for lang in ("pt", "en") for kind in ("html", "pdf")),
        ]
    )
    data = json.loads((out / f"{stem}.json").read_text())
    assert data["demo"] is True and data["key_figures"]["active"] > 0
    assert (out / f"{stem}-pt.pdf").read_bytes().startswith(b"%PDF")
    again = runner.invoke(app, ["report", "--week", week, "--out", str(out), "--compare", week])
    assert again.exit_code == 0 and "created" not in again.output
    bad = runner.invoke(app, ["report", "--week", "49", "--out", str(out)])
    assert bad.exit_code == 1 and "Week: write it as 2026-W49." in bad.output
