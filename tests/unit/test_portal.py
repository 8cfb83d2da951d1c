"""The public face: only public data, safe with hostile input, small, cacheable."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.testclient import TestClient

import portal.routes
from geo.areas import load_reference_areas
from hub.auth import Role
from initiatives.service import create_initiative
from portal.content import PAGE_SIZE, PublicQuery, gather, where_i_live
from portal.export import export_public
from portal.opendata import OPEN_DATA_FILES
from portal.render import render_index
from portal.routes import ROUTES
from portal.site import build
from tests.factories import initiative_draft, make_initiative, make_organisation, make_principal


def publish(session: Session, **overrides: object) -> None:
    """A published initiative, in force today unless the overrides say otherwise (the
    factory's default dates are 2020's)."""
    name = overrides.pop("org", None)
    overrides.setdefault("planned_end", None)
    overrides.setdefault("status", "active")
    organisation = make_organisation(session, **({"name": name} if name else {}))
    make_initiative(session, organisation, publish=True, **overrides)


@pytest.fixture
def areas(session: Session) -> None:
    load_reference_areas(session=session)


def page(engine: Engine, language: str = "en", **query: str) -> str:
    return build(engine, "index", language=language, query=PublicQuery.from_params(query)).decode()


def test_only_published_initiatives_and_public_fields(
    engine: Engine, session: Session, areas: None
) -> None:
    publish(session, title="Published support", contact_email="secret-contact@example.pt")
    organisation = make_organisation(session, name="Drafting org")
    staff = make_principal(session, role=Role.STAFF)
    create_initiative(
        session=session,
        actor=staff,
        draft=initiative_draft(organisation, title="Unpublished draft"),
    )
    html = page(engine)
    assert "Published support" in html
    assert "Unpublished draft" not in html
    assert "secret-contact" not in html
    data = build(engine, "initiatives.json", language="pt", query=PublicQuery()).decode()
    assert "Published support" in data and "secret-contact" not in data
    assert "Unpublished draft" not in data
    assert (
        "secret-contact"
        not in build(engine, "initiatives.csv", language="pt", query=PublicQuery()).decode()
    )


def test_where_i_live_includes_district_and_country(
    engine: Engine, session: Session, areas: None
) -> None:
    publish(session, title="Lisbon municipality only", areas=["1106"])
    publish(session, title="Whole Lisbon district", areas=["PT-11"])
    publish(session, title="Whole country", areas=["PT"])
    publish(session, title="Porto only", areas=["PT-13"])
    html = page(engine, area="1106")
    for shown in ("Lisbon municipality only", "Whole Lisbon district", "Whole country"):
        assert shown in html
    assert "Porto only" not in html
    assert where_i_live("1106", {"1106": "PT-11", "PT-11": "PT", "PT": None}) == [
        "1106",
        "PT-11",
        "PT",
    ]


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "x" * 10_000,
        "javascript:alert(1)",
        "%00\x00",
    ],
)
def test_hostile_search_text_is_escaped(
    engine: Engine, session: Session, areas: None, hostile: str
) -> None:
    html = page(engine, q=hostile)
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    assert len(html) < 100_000


def test_unknown_area_and_empty_database_have_helpful_messages(engine: Engine, areas: None) -> None:
    html = page(engine, area="PT-99")
    assert "We do not know the area code" in html
    assert "No support published yet" in html
    assert "No official news yet." in html


def test_page_is_small_has_language_and_landmarks(
    engine: Engine, session: Session, areas: None
) -> None:
    for n in range(40):
        publish(session, title=f"Support {n}", org=f"Org {n}")
    html = page(engine, "pt")
    assert len(html.encode()) < 100_000
    assert '<html lang="pt">' in html
    assert "<main" in html and "<header" in html and "<footer" in html
    assert "<script" not in html
    assert 'rel="next"' in html  # 40 initiatives: paginated


def test_links_from_outside_are_scheme_checked_at_render(
    engine: Engine, session: Session, areas: None
) -> None:
    content = gather(session=session, query=PublicQuery(), language="en")
    from feeds.models import StoryPublic, StorySourcePublic

    content.stories_by_topic = [
        (
            "Health",
            [
                StoryPublic(
                    title="Bad link",
                    link="javascript:alert(1)",
                    summary_html="<b>bold</b><script>x</script>",
                    topic="Health",
                    pinned=False,
                    first_seen_at=datetime.now(UTC),
                    published_at=None,
                    sources=[StorySourcePublic(name="Source", attribution="", link="javascript:x")],
                )
            ],
        )
    ]
    html = render_index(content, base="/", demo=False, generated_at=datetime.now(UTC))
    assert "javascript:" not in html
    assert "<b>bold</b>" not in html and "<script>x" not in html
    assert "Bad link" in html


def test_http_routes_send_cache_headers_and_304(
    engine: Engine, session: Session, areas: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(session, title="Cached support")
    monkeypatch.setattr(portal.routes, "_cache", None)
    monkeypatch.setattr(portal.routes, "make_engine", lambda: engine)
    client = TestClient(Starlette(routes=ROUTES))
    first = client.get("/?lang=en")
    assert first.status_code == 200 and "Cached support" in first.text
    assert first.headers["etag"] and first.headers["last-modified"]
    assert "max-age" in first.headers["cache-control"]
    again = client.get("/?lang=en", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    for path, kind in (
        ("/feed.xml", "atom"),
        ("/initiatives.json", "json"),
        ("/initiatives.csv", "csv"),
        ("/contacts.json", "json"),
        ("/answers.json", "json"),
        ("/measures.json", "json"),
    ):
        response = client.get(path)
        assert response.status_code == 200 and kind in response.headers["content-type"]
    assert client.get("/?lang=pt").text != first.text  # Portuguese by default


def test_export_public_writes_every_page_of_the_list(
    engine: Engine, session: Session, areas: None, tmp_path: Path
) -> None:
    """A static host ignores ?page=: the export writes each page of the list as a file,
    links them, and removes the later pages of a longer list exported before."""
    organisation = make_organisation(session, name="Many offers")
    for number in range(PAGE_SIZE * 2 + 1):
        make_initiative(
            session,
            organisation,
            publish=True,
            title=f"Offer number {number:03d}",
            planned_end=None,
            status="active",
        )
    site = tmp_path / "site"
    site.mkdir()
    (site / "index-9.html").write_text("a page of an older, longer export")
    (site / "index-notes.html").write_text("not ours: kept")
    sizes = export_public(engine, site)
    assert {"index-2.html", "index-2.en.html", "index-3.html", "index-3.en.html"} <= set(sizes)
    assert not (site / "index-9.html").exists() and (site / "index-notes.html").exists()
    assert not (site / "index-4.html").exists()
    first = (site / "index.html").read_text()
    second = (site / "index-2.html").read_text()
    third = (site / "index-3.en.html").read_text()
    assert 'href="index-2.html"' in first and "?page=" not in first
    assert 'href="index.html"' in second and 'href="index-3.html"' in second  # prev, next
    assert 'href="index-3.html"' in third  # the other language's same page
    titles = [set(re.findall(r"Offer number \d{3}", text)) for text in (first, second, third)]
    assert sum(len(t) for t in titles) == PAGE_SIZE * 2 + 1
    assert not titles[0] & titles[1] and not titles[1] & titles[2]


def test_export_public_writes_every_file(
    engine: Engine, session: Session, areas: None, tmp_path: Path
) -> None:
    publish(session, title="Exported support")
    sizes = export_public(engine, tmp_path / "site")
    assert set(sizes) - set(OPEN_DATA_FILES) == {
        "index.html",
        "index.en.html",
        "feed.xml",
        "feed.en.xml",
        "initiatives.json",
        "initiatives.csv",
        "contacts.json",  # issue 8: contacts directory, answers, measures
        "contacts.csv",
        "answers.json",
        "measures.json",
        "initiatives/INI-000001.html",  # issue 14: every item's own page, both languages
        "initiatives/INI-000001.en.html",
    }
    index = (tmp_path / "site" / "index.html").read_text()
    assert "Exported support" in index and 'href="index.en.html"' in index
    assert 'href="feed.xml"' in index
