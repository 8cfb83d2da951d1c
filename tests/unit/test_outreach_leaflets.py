"""Printed leaflets: content in reading order, fonts embedded, tagged, nothing expired."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlmodel import Session
from typer.testing import CliRunner

from answers.directory import create_contact, create_measure
from answers.models import ContactDraft, MeasureDraft, Topic
from connectivity.demo import load_demo_indicators
from hub.errors import InvalidInput, NotFound
from initiatives.models import Channel
from outreach.leaflets import (
    gather_leaflet,
    largest_gap_areas,
    leaflet_pdf,
    leaflets_zip,
    render_html,
)
from tests.factories import World, make_initiative
from wiring import app

TODAY = date.today()


def publish_offers(session: Session, world: World) -> None:
    make_initiative(
        session,
        world.own,
        publish=True,
        title="Linha de apoio a idosos isolados",
        description="Chamadas diárias a pessoas idosas que vivem sós. Inscrição por telefone.",
        areas=["1106"],
        channels=[Channel.PHONE],
        planned_start=TODAY - timedelta(days=10),
        planned_end=TODAY + timedelta(days=40),
    )
    make_initiative(
        session,
        world.other,
        publish=True,
        title="Aulas na televisão",
        description="Aulas para todos os anos na RTP Memória.",
        areas=["PT"],
        channels=[Channel.BROADCAST],
        planned_start=TODAY - timedelta(days=10),
        planned_end=None,
    )
    make_initiative(
        session,
        world.own,
        publish=True,
        title="Entrega de cabazes que já terminou",
        areas=["1106"],
        channels=[Channel.IN_PERSON],
        planned_start=TODAY - timedelta(days=60),
        planned_end=TODAY - timedelta(days=1),
    )
    make_initiative(
        session,
        world.joint,
        publish=True,
        title="Portal só online",
        areas=["1106"],
        channels=[Channel.ONLINE],
        planned_start=TODAY - timedelta(days=5),
        planned_end=TODAY + timedelta(days=5),
    )


def publish_directory(session: Session, world: World) -> None:
    create_contact(
        session=session,
        actor=world.staff,
        draft=ContactDraft(
            name="SNS 24", phone="808 24 24 24", emergency=True, published=True, position=1
        ),
    )
    create_contact(
        session=session,
        actor=world.staff,
        draft=ContactDraft(
            name="Linha municipal de Lisboa", phone="800 910 112", area_code="1106", published=True
        ),
    )
    create_contact(
        session=session,
        actor=world.staff,
        draft=ContactDraft(
            name="Linha municipal do Porto", phone="800 203 250", area_code="1312", published=True
        ),
    )
    create_measure(
        session=session,
        actor=world.staff,
        draft=MeasureDraft(
            area=Topic.LABOUR,
            title="Apoio excecional à família",
            summary="Pais com filhos em casa pedem o apoio à Segurança Social.",
            documents=["Formulário GF88"],
            in_force_from=TODAY - timedelta(days=30),
            in_force_to=TODAY + timedelta(days=20),
            published=True,
        ),
    )


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def flat(text: str) -> str:
    return " ".join(text.split())


def fonts_of(pdf: bytes) -> list[Any]:
    fonts = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if "/DescendantFonts" in font:
                font = font["/DescendantFonts"][0].get_object()
            fonts.append(font)
    return fonts


def test_a_municipality_leaflet_lists_lines_offers_and_measures_in_reading_order(
    session: Session, world: World
) -> None:
    publish_offers(session, world)
    publish_directory(session, world)
    name, pdf = leaflet_pdf(session=session, area_code="1106", language="pt")
    assert name == "leaflet-1106-pt.pdf"
    text = flat(pdf_text(pdf))
    order = [
        "SNS 24",
        "808 24 24 24",
        "Linha municipal de Lisboa",
        "Aulas na televisão",  # offline offers, in title order
        "Linha de apoio a idosos isolados",
        "Apoio excecional à família",
        "Formulário GF88",
    ]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions), text
    assert "Porto" not in text  # another municipality's line
    assert "já terminou" not in text  # expired offer
    assert "Portal só online" not in text  # online-only omitted by default
    assert "Gabinete de coordenação" in text
    assert "Válido até" in text


def test_the_leaflet_pdf_is_tagged_and_embeds_its_fonts(session: Session, world: World) -> None:
    publish_offers(session, world)
    publish_directory(session, world)
    _name, pdf = leaflet_pdf(session=session, area_code="1106", language="en")
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en"
    assert reader.pages[0].mediabox.width == pytest.approx(595, abs=1)  # A4
    fonts = fonts_of(pdf)
    assert fonts
    for font in fonts:
        descriptor = font["/FontDescriptor"].get_object()
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.keys()), font
        assert "DejaVu" in str(font["/BaseFont"])
    assert "Emergency and support lines" in pdf_text(pdf)


def test_online_offers_can_be_included_last(session: Session, world: World) -> None:
    publish_offers(session, world)
    leaflet = gather_leaflet(session=session, area_code="1106", include_online=True)
    titles = [o.title for o in leaflet.offers]
    assert titles[-1] == "Portal só online"
    assert "Entrega de cabazes que já terminou" not in titles


def test_the_leaflet_is_valid_until_the_first_end_of_what_it_lists(
    session: Session, world: World
) -> None:
    publish_offers(session, world)
    publish_directory(session, world)
    leaflet = gather_leaflet(session=session, area_code="1106", include_online=True)
    assert leaflet.valid_until == TODAY + timedelta(days=5)
    html = render_html(leaflet)
    assert "svg" in html and "?area=1106" in html  # the QR code to the area's page


def test_a_leaflet_with_nothing_available_says_so_and_lists_the_national_lines(
    session: Session, world: World
) -> None:
    publish_directory(session, world)
    _name, pdf = leaflet_pdf(session=session, area_code="0101", language="en")
    text = flat(pdf_text(pdf))
    assert "Nothing is available in" in text
    assert "SNS 24" in text
    assert "Linha municipal de Lisboa" not in text  # not national, not of this area
    assert "Linha municipal do Porto" not in text


def easy_read_sizes(pdf: bytes) -> list[float]:
    sizes: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text.strip():
            sizes.append(abs(size * tm[3] * cm[3]) or size)

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    return sizes


def test_the_easy_read_variant_uses_large_type_and_short_lines(
    session: Session, world: World
) -> None:
    publish_offers(session, world)
    publish_directory(session, world)
    name, pdf = leaflet_pdf(session=session, area_code="1106", language="en", easy_read=True)
    assert name == "leaflet-1106-en-easy-read.pdf"
    sizes = easy_read_sizes(pdf)
    assert sizes and min(sizes) >= 14 - 0.01, sorted(sizes)[:5]
    text = flat(pdf_text(pdf))
    assert "Phone numbers for help" in text
    assert "Call 808 24 24 24." in text
    assert "You need: Formulário GF88." in text
    reader = PdfReader(io.BytesIO(pdf))
    assert "/StructTreeRoot" in reader.trailer["/Root"]


def test_unknown_area_and_the_country_are_refused(session: Session, world: World) -> None:
    with pytest.raises(NotFound, match="9999"):
        gather_leaflet(session=session, area_code="9999")
    with pytest.raises(InvalidInput):
        gather_leaflet(session=session, area_code="PT")


def test_leaflets_for_the_largest_gaps_come_as_one_zip(session: Session, world: World) -> None:
    load_demo_indicators(session=session)
    session.commit()
    codes = largest_gap_areas(session=session, count=3)
    assert len(codes) == 3 and len(set(codes)) == 3
    archive = zipfile.ZipFile(io.BytesIO(leaflets_zip(session=session, area_codes=codes)))
    assert archive.namelist() == [f"leaflet-{code}-pt.pdf" for code in codes]
    assert all(archive.read(n).startswith(b"%PDF-") for n in archive.namelist())
    with pytest.raises(InvalidInput):
        largest_gap_areas(session=session, count=0)


def test_the_cli_prints_leaflets_and_names_bad_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "en")
    out = tmp_path / "leaflets"
    done = CliRunner().invoke(
        app, ["leaflets", "--area", "1106", "--area", "PT-11", "--out", str(out), "--easy-read"]
    )
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == [
        "leaflet-1106-pt-easy-read.pdf",
        "leaflet-PT-11-pt-easy-read.pdf",
    ]
    zipped = CliRunner().invoke(app, ["leaflets", "--top", "2", "--out", str(out), "--zip"])
    assert zipped.exit_code == 0, zipped.output
    assert len(zipfile.ZipFile(out / "leaflets-pt.zip").namelist()) == 2
    both = CliRunner().invoke(app, ["leaflets", "--area", "1106", "--top", "2", "--out", str(out)])
    assert both.exit_code == 1 and "--area CODE or --top N" in both.output
    unknown = CliRunner().invoke(app, ["leaflets", "--area", "9999", "--out", str(out)])
    assert unknown.exit_code == 1 and "9999" in unknown.output
