"""The Atom feed as feed readers take it (RFC 4287, read with feedparser) and the static
export as a web server running as another user reads it (issue 16, first part)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from geo.areas import load_reference_areas
from portal.content import PublicQuery
from portal.export import OUTPUTS, export_public
from portal.items import KINDS
from portal.render import text_paragraphs
from portal.site import build
from tests.factories import make_initiative, make_organisation

BASE = "https://hub.example.pt/public/"


@pytest.fixture
def published(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_PUBLIC_BASE_URL", BASE)
    load_reference_areas(session=session)
    organisation = make_organisation(session, name="Operadora")
    make_initiative(
        session,
        organisation,
        publish=True,
        code="OPM/2020/001",
        title="Dados móveis para médicos",
        description="Primeiro parágrafo sobre a televisão.\n\nTexto ilustrativo seguinte.",
        link="https://operadora.example.pt/saude",
        status="active",
        planned_end=None,
    )
    make_initiative(
        session,
        organisation,
        publish=True,
        title="Cartões SIM",
        link="",
        status="active",
        planned_end=None,
    )


def feed_of(engine: Engine, language: str, *, static: bool = False) -> feedparser.FeedParserDict:
    body = build(engine, "feed.xml", language=language, query=PublicQuery(), static=static)
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


@pytest.mark.parametrize("language", ["pt", "en"])
def test_ids_are_absolute_and_every_entry_links_to_a_page(
    engine: Engine, published: None, language: str
) -> None:
    parsed = feed_of(engine, language)
    assert parsed.feed.id == f"tag:hub.example.pt,2020:feed:{language}"
    assert parsed.feed.language == language
    rels = {link.rel: link.href for link in parsed.feed.links}
    assert rels["self"].startswith(BASE + "feed.xml") and rels["alternate"].startswith(BASE)
    assert len(parsed.entries) == 2
    for entry in parsed.entries:
        assert entry.id.startswith(("tag:hub.example.pt,2020:", "https://"))
        alternate = [link.href for link in entry.links if link.rel == "alternate"]
        assert alternate and alternate[0].startswith(BASE), entry.links
    codes = {entry.id for entry in parsed.entries}
    assert "tag:hub.example.pt,2020:initiative:OPM%2F2020%2F001" in codes


def test_an_initiative_entry_links_to_its_page_and_its_own_site(
    engine: Engine, published: None
) -> None:
    parsed = feed_of(engine, "pt")
    entry = next(e for e in parsed.entries if e.title == "Dados móveis para médicos")
    links = {link.rel: link.href for link in entry.links}
    assert links["alternate"] == BASE + "initiatives/OPM%2F2020%2F001"
    assert links["related"] == "https://operadora.example.pt/saude"
    page = build(engine, "initiatives/OPM/2020/001", language="pt", query=PublicQuery()).decode()
    assert "Dados móveis para médicos" in page
    assert "televisão.\n\nTexto ilustrativo" in entry.summary  # paragraphs kept
    english = feed_of(engine, "en").entries
    assert any(
        link.href == BASE + "initiatives/OPM%2F2020%2F001?lang=en"
        for e in english
        for link in e.links
    )


def test_two_deployments_never_share_ids(
    engine: Engine, published: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = {e.id for e in feed_of(engine, "pt").entries}
    monkeypatch.setenv("HUB_PUBLIC_BASE_URL", "https://outro.example.org/")
    second = {e.id for e in feed_of(engine, "pt").entries}
    assert not first & second


def test_html_summaries_keep_their_paragraphs() -> None:
    html = "<p>Fecho das escolas: aulas na televisão.</p><p>Texto <b>ilustrativo</b>.</p>"
    assert text_paragraphs(html) == "Fecho das escolas: aulas na televisão.\n\nTexto ilustrativo."
    assert text_paragraphs("uma<br>duas") == "uma\n\nduas"


@pytest.fixture
def strict_umask() -> Iterator[None]:
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def test_static_export_is_readable_by_another_user_and_has_a_feed_per_language(
    engine: Engine, published: None, tmp_path: Path, strict_umask: None
) -> None:
    site = tmp_path / "site"
    export_public(engine, site)
    assert stat.S_IMODE(site.stat().st_mode) == 0o755
    # no staging left
    assert sorted(p.name for p in site.iterdir()) == sorted([*OUTPUTS, *KINDS])
    for path in site.rglob("*"):
        mode = 0o755 if path.is_dir() else 0o644
        assert stat.S_IMODE(path.stat().st_mode) == mode, path.name
    english = feedparser.parse((site / "feed.en.xml").read_bytes())
    assert english.feed.language == "en"
    assert {link.rel: link.href for link in english.feed.links}["self"] == BASE + "feed.en.xml"
    assert 'href="feed.en.xml"' in (site / "index.en.html").read_text()
    assert 'href="feed.xml"' in (site / "index.html").read_text()


def test_a_failed_export_leaves_the_previous_one(
    engine: Engine, published: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    export_public(engine, site)
    before = (site / "index.html").read_bytes()

    def broken(*_args: object, **_kwargs: object) -> bytes:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("portal.export.build", broken)
    with pytest.raises(Exception, match="No space left"):
        export_public(engine, site)
    assert (site / "index.html").read_bytes() == before
    assert sorted(p.name for p in site.iterdir()) == sorted([*OUTPUTS, *KINDS])
