"""The published reports on the public site: only published ones, in both languages."""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.testclient import TestClient

import portal.reports_site
import portal.routes
from initiatives.models import Status
from reports.models import Report
from reports.service import create_report, release, sign_off
from tests.factories import World, make_initiative
from tests.unit.test_open_data import frictionless_report

TODAY = datetime.now(UTC).date()


@pytest.fixture
def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(portal.reports_site, "_engine", engine)
    monkeypatch.setattr(portal.reports_site, "_rendered", OrderedDict())
    monkeypatch.setattr(portal.routes, "_cache", portal.routes.PublicCache(engine))
    routes = [*portal.reports_site.ROUTES, *portal.routes.ROUTES]
    return TestClient(Starlette(routes=routes), follow_redirects=False)


def _draft(session: Session, world: World) -> Report:
    """A draft report over one active initiative for 4321 people."""
    make_initiative(
        session,
        world.own,
        publish=True,
        people_targeted=4321,
        planned_start=TODAY - timedelta(days=3),
        planned_end=TODAY + timedelta(days=3),
        status=Status.ACTIVE,
    )
    return create_report(
        session=session,
        actor=world.staff,
        period_start=TODAY - timedelta(days=6),
        cutoff=datetime.now(UTC),
        slug="2026-W49",
    )


def test_only_a_published_report_is_served(
    session: Session, world: World, client: TestClient
) -> None:
    rid = _draft(session, world).id or 0
    assert client.get("/reports/2026-W49").status_code == 404
    sign_off(session=session, actor=world.staff, report_id=rid)
    assert client.get("/reports/2026-W49.pdf").status_code == 404
    assert "2026-W49" not in client.get("/reports").text
    release(session=session, actor=world.staff, report_id=rid, public=True)

    page = client.get("/reports/2026-W49?lang=en")
    assert page.status_code == 200 and "<script" not in page.text
    assert "Situation report 2026-W49" in page.text and "4,321" in page.text
    again = client.get("/reports/2026-W49?lang=en", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304
    portuguese = client.get("/reports/2026-W49?lang=pt")
    flat = portuguese.text.replace("\u00a0", "").replace(" ", "")
    assert "Relatóriodesituação2026-W49" in flat and "4321" in flat
    pdf = client.get("/reports/2026-W49.pdf?lang=en")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    csv = client.get("/reports/2026-W49.csv")
    assert csv.text.splitlines()[1].startswith("#meta+report,#activity+code")
    assert client.get("/reports/2026-W49.json").json()["key_figures"]["people_targeted"] == 4321
    archive = client.get("/reports?lang=en")
    assert 'href="/reports/2026-W49?lang=en"' in archive.text
    assert 'href="/reports?lang=en"' in client.get("/?lang=en").text  # linked from the front page
    assert client.get("/reports/nothing").status_code == 404


def test_a_published_report_is_in_the_data_package_and_frictionless_reads_it(
    session: Session,
    world: World,
    client: TestClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_PUBLIC_CACHE_SECONDS", "1")
    report = _draft(session, world)
    sign_off(session=session, actor=world.staff, report_id=report.id or 0)
    before = client.get("/datapackage.json").json()  # cached until the data changes
    assert not [r for r in before["resources"] if r["path"].startswith("reports/")]
    release(session=session, actor=world.staff, report_id=report.id or 0, public=True)
    time.sleep(1.1)  # the cache looks at the data version at most once a second here
    descriptor = client.get("/datapackage.json").json()
    mine = [r for r in descriptor["resources"] if r["path"].startswith("reports/")]
    assert [r["path"] for r in mine] == ["reports/2026-W49.csv", "reports/2026-W49.json"]
    (tmp_path / "reports").mkdir()
    for resource in mine:
        (tmp_path / resource["path"]).write_bytes(client.get("/" + resource["path"]).content)
    (tmp_path / "datapackage.json").write_text(
        json.dumps({**descriptor, "resources": mine[:1]}), encoding="utf-8"
    )
    checked = frictionless_report(tmp_path)
    errors = [e for task in checked["tasks"] for e in task["errors"]] + checked.get("errors", [])
    assert checked["valid"] and not errors, errors[:5]
