"""A report's outputs: the PDF's text in both languages, the SVG map, HXL CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

from lxml import etree
from pypdf import PdfReader
from sqlmodel import Session

from hub.i18n import set_language
from initiatives.models import Status
from reports.render import build_view, render_body, render_pdf, snapshot_csv, snapshot_json
from reports.service import create_report, edit_highlights
from tests.factories import World, make_initiative

TODAY = datetime.now(UTC).date()


def _view(session: Session, world: World):  # type: ignore[no-untyped-def]
    for areas, targeted in ((["PT-11", "1106"], 1234), (["PT-13"], 250), (["PT-20"], 7)):
        make_initiative(
            session,
            world.own,
            publish=True,
            areas=areas,
            people_targeted=targeted,
            planned_start=TODAY - timedelta(days=5),
            planned_end=TODAY + timedelta(days=30),
            status=Status.ACTIVE,
            title=f'=HYPERLINK("x") offer {targeted}',
        )
    report = create_report(
        session=session,
        actor=world.staff,
        period_start=TODAY - timedelta(days=6),
        cutoff=datetime.now(UTC),
        slug="2026-W49",
    )
    report = edit_highlights(
        session=session, actor=world.staff, report_id=report.id or 0, markdown="Food **first**"
    )
    return build_view(session=session, report=report)


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " "))


def test_the_pdf_carries_the_key_figures_in_both_languages(session: Session, world: World) -> None:
    view = _view(session, world)
    assert view.figures.key.active == 3
    assert view.figures.key.people_targeted == 1491
    english = _text(render_pdf(view, language="en"))
    portuguese = _text(render_pdf(view, language="pt"))
    assert "Active initiatives" in english and "People targeted" in english
    assert "1,491" in english and "3 initiatives were active" in english
    assert "Iniciativas ativas" in portuguese and "Pessoas a abranger" in portuguese
    assert "1 491" in portuguese and "3 iniciativas estavam ativas" in portuguese
    assert "Food first" in english
    set_language("en")


def test_the_map_is_svg_with_a_colour_per_district(session: Session, world: World) -> None:
    view = _view(session, world)
    body = render_body(view, language="en")
    svg = body[body.index("<svg") : body.index("</svg>") + 6]
    root = etree.fromstring(svg.encode())
    paths = root.findall("{http://www.w3.org/2000/svg}path")
    assert len(paths) == 20  # 18 districts and the two autonomous regions
    titles = {p.find("{http://www.w3.org/2000/svg}title").text for p in paths}  # type: ignore[union-attr]
    assert "Lisboa: 1" in titles and "Beja: 0" in titles
    fills = {p.find("{http://www.w3.org/2000/svg}title").text: p.get("fill") for p in paths}  # type: ignore[union-attr]
    assert fills["Beja: 0"] != fills["Lisboa: 1"]


def test_snapshot_as_hxl_csv_and_json(session: Session, world: World) -> None:
    view = _view(session, world)
    rows = list(csv.reader(io.StringIO(snapshot_csv(session=session, report=view.report))))
    assert rows[1][:3] == ["#meta+report", "#activity+code", "#activity+name"]
    assert len(rows) == 2 + 3
    assert all(row[2].startswith("'=") for row in rows[2:])  # formulas neutralised
    data = json.loads(snapshot_json(session=session, report=view.report, figures=view.figures))
    assert data["key_figures"]["people_targeted"] == 1491
    assert sorted(data["initiatives"][0]) == sorted(
        [
            "report",
            "code",
            "title",
            "organisation_id",
            "category",
            "status",
            "start_date",
            "end_date",
            "people_targeted",
            "people_reached",
            "active",
            "areas",
        ]
    )
