"""The public site at the root (issue 14): the page at /, old /public links redirected,
every item's own page (200 / 404 / 410), "available" meaning in force today, Portuguese
search as people type it, filters that tell homonyms apart and sort like Portuguese,
plural counts, and item addresses in the feed, the JSON and the static export.

Every test runs on SQLite and on PostgreSQL (the ``session`` fixture)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.testclient import TestClient

import portal.routes
from answers.directory import create_measure, get_measure, update_measure
from answers.models import AnswerDraft, MeasureDraft, Question, Topic
from answers.service import get_question, publish_question, save_answer, unpublish_question
from geo.areas import load_reference_areas
from hub.auth import Principal, Role
from hub.i18n import ngettext, set_language
from hub.records import utcnow
from initiatives.models import Initiative
from initiatives.service import withdraw_initiative
from portal.content import PublicQuery, collation_key
from portal.export import export_public
from portal.routes import ROUTES
from portal.site import build
from tests.factories import make_initiative, make_organisation, make_principal, make_question

BASE = "https://hub.example.pt/"
TODAY = utcnow().date()


@pytest.fixture
def staff(session: Session, monkeypatch: pytest.MonkeyPatch) -> Principal:
    monkeypatch.setenv("HUB_PUBLIC_BASE_URL", BASE)
    load_reference_areas(session=session)
    return make_principal(session, role=Role.STAFF)


@pytest.fixture
def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(portal.routes, "_cache", portal.routes.PublicCache(engine))
    return TestClient(Starlette(routes=ROUTES), follow_redirects=False)


def offer(session: Session, title: str, **overrides: object) -> Initiative:
    """A published offer, in force today unless the overrides say otherwise."""
    overrides.setdefault("status", "active")
    overrides.setdefault("planned_start", TODAY - timedelta(days=30))
    overrides.setdefault("planned_end", None)
    organisation = make_organisation(session)
    return make_initiative(session, organisation, publish=True, title=title, **overrides)


def answer(session: Session, staff: Principal, text: str) -> Question:
    question = make_question(session, text)
    question = save_answer(
        session=session,
        actor=staff,
        question_id=question.id or 0,
        expected_version=question.version,
        draft=AnswerDraft(
            public_text=text,
            topic=Topic.HEALTH,
            authority="DGS",
            answer_text="Sim: ligue para o SNS 24.",
            answered_by="Direção-Geral da Saúde",
        ),
    )
    return publish_question(
        session=session,
        actor=staff,
        question_id=question.id or 0,
        expected_version=question.version,
    )


def page(engine: Engine, language: str = "pt", **query: str) -> str:
    return build(engine, "index", language=language, query=PublicQuery.from_params(query)).decode()


# --- the root and the old addresses ---------------------------------------------------


def test_the_root_is_the_page_and_public_paths_redirect_with_their_query(
    client: TestClient, session: Session, staff: Principal
) -> None:
    root = client.get("/")
    assert root.status_code == 200 and root.headers["content-type"].startswith("text/html")
    assert '<html lang="pt">' in root.text and "<script" not in root.text
    assert 'href="/signin?next=/app/"' in root.text and "Área reservada" in root.text
    assert client.get("/?lang=en").text.count('<html lang="en">') == 1
    for old, new in (
        ("/public", "/"),
        ("/public/", "/"),
        ("/public/?lang=en&q=dados", "/?lang=en&q=dados"),
        ("/public/feed.xml?lang=en", "/feed.xml?lang=en"),
        ("/public/initiatives.json", "/initiatives.json"),
        ("/public//evil.example", "/evil.example"),
        ("/public/%5Cevil.example", "/evil.example"),
        ("/public/a%5Cb", "/a%5Cb"),
    ):
        moved = client.get(old)
        assert moved.status_code == 308, old
        assert moved.headers["location"] == new, old
    again = client.get("/", headers={"If-None-Match": root.headers["etag"]})
    assert again.status_code == 304


# --- item pages -----------------------------------------------------------------------


def test_item_pages_200_404_and_410_once_public(
    client: TestClient, session: Session, staff: Principal
) -> None:
    live = offer(session, "Teleconsultas para pessoas idosas", link="https://example.pt/tele")
    gone = offer(session, "Cartões SIM gratuitos")
    draft = make_initiative(session, make_organisation(session), title="Rascunho")
    withdraw_initiative(
        session=session, actor=staff, initiative_id=gone.id or 0, expected_version=gone.version
    )
    response = client.get(f"/initiatives/{live.code}")
    assert response.status_code == 200, response.text
    html = response.text
    assert "Teleconsultas para pessoas idosas" in html and "<script" not in html
    for shown in ("Ativo", "https://example.pt/tele", "Última atualização", "Promovido por"):
        assert shown in html, shown
    assert response.headers["etag"] and response.headers["last-modified"]
    assert (
        client.get(
            f"/initiatives/{live.code}", headers={"If-None-Match": response.headers["etag"]}
        ).status_code
        == 304
    )
    english = client.get(f"/initiatives/{live.code}?lang=en").text
    assert "Active" in english and "Last updated" in english
    assert client.get(f"/initiatives/{draft.code}").status_code == 404
    assert client.get("/initiatives/NOPE-1").status_code == 404
    withdrawn = client.get(f"/initiatives/{gone.code}")
    assert withdrawn.status_code == 410
    assert "já não está publicada" in withdrawn.text
    assert client.get("/measures/abc").status_code == 404
    assert client.get("/answers/999999").status_code == 404


def test_measure_and_answer_pages_and_410_after_unpublishing(
    client: TestClient, session: Session, staff: Principal
) -> None:
    measure = create_measure(
        session=session,
        actor=staff,
        draft=MeasureDraft(
            area=Topic.LABOUR,
            title="Apoio extraordinário à família",
            summary="Para quem fica em casa com os filhos.",
            in_force_from=TODAY - timedelta(days=10),
            published=True,
        ),
    )
    never = create_measure(
        session=session,
        actor=staff,
        draft=MeasureDraft(area=Topic.HEALTH, title="Rascunho", summary="Ainda não."),
    )
    published = answer(session, staff, "Posso sair de casa para ir ao médico?")
    assert client.get(f"/measures/{measure.id}").status_code == 200
    assert client.get(f"/measures/{never.id}").status_code == 404
    html = client.get(f"/answers/{published.id}?lang=en").text
    for shown in ("DGS", "Direção-Geral da Saúde", "version 1 of", "asked 1 time"):
        assert shown in html, shown
    assert "feita 1 vez" in client.get(f"/answers/{published.id}").text
    current = get_measure(session=session, actor=staff, measure_id=measure.id or 0)
    update_measure(
        session=session,
        actor=staff,
        measure_id=measure.id or 0,
        expected_version=current.version,
        draft=MeasureDraft(
            area=Topic.LABOUR,
            title=current.title,
            summary=current.summary,
            published=False,
        ),
    )
    question = get_question(session=session, actor=staff, question_id=published.id or 0)
    unpublish_question(
        session=session,
        actor=staff,
        question_id=question.id or 0,
        expected_version=question.version,
    )
    portal.routes.public_cache()._checked_at = float("-inf")  # see the change now
    assert client.get(f"/measures/{measure.id}").status_code == 410
    assert client.get(f"/answers/{published.id}").status_code == 410


# --- what "available" means -----------------------------------------------------------


def test_ended_offers_are_hidden_by_default_and_shown_marked_with_ended_1(
    client: TestClient, engine: Engine, session: Session, staff: Principal
) -> None:
    offer(session, "Linha reforçada em vigor")
    offer(
        session,
        "Oferta que acabou em 2020",
        planned_start=date(2020, 3, 1),
        planned_end=date(2020, 6, 30),
    )
    offer(session, "Oferta concluída", status="completed")
    default = page(engine, "pt")
    assert "Linha reforçada em vigor" in default
    assert "Oferta que acabou em 2020" not in default and "Oferta concluída" not in default
    assert "1 iniciativa encontrada" in default
    everything = client.get("/?ended=1").text
    assert "Oferta que acabou em 2020" in everything and "Oferta concluída" in everything
    assert "3 iniciativas encontradas" in everything
    ended_card = everything.split("Oferta que acabou em 2020", 1)[1].split("</article>", 1)[0]
    assert 'class="status ended"' in ended_card and "Terminou" in ended_card
    assert "de 2020-03-01 a 2020-06-30" in ended_card  # its dates
    assert "Última atualização" in ended_card  # its own last update
    ended_code = re.search(r'href="/initiatives/([^"?]+)">Oferta que acabou', everything)
    assert ended_code is not None
    own_page = client.get(f"/initiatives/{ended_code.group(1)}").text
    assert "Esta oferta terminou" in own_page


# --- search, filters, counts ------------------------------------------------------------


def test_idosos_finds_pessoas_idosas_accents_and_case_ignored(
    engine: Engine, session: Session, staff: Principal
) -> None:
    offer(session, "Teleconsultas para pessoas idosas", description="Apoio à saúde")
    offer(session, "Dados móveis para estudantes")
    for typed in ("idosos", "IDOSOS", "idosa", "Saúde idosos", "saude", "teleconsulta"):
        html = page(engine, q=typed)
        assert "Teleconsultas para pessoas idosas" in html, typed
        assert "Dados móveis para estudantes" not in html, typed
    nothing = page(engine, q="bicicletas")
    assert "Nada corresponde à sua pesquisa" in nothing
    assert "Ainda não há apoios publicados" not in nothing


def test_a_search_never_empties_the_other_sections(
    engine: Engine, session: Session, staff: Principal
) -> None:
    offer(session, "Teleconsultas para pessoas idosas")
    answer(session, staff, "Onde compro máscaras?")
    html = page(engine, q="bicicletas")
    assert "Onde compro máscaras?" in html  # the answers are not searched by q
    assert "Ainda não há perguntas respondidas" not in html
    by_answers = page(engine, aq="bicicletas")
    assert "Nenhuma resposta corresponde à sua pesquisa" in by_answers
    assert "Teleconsultas para pessoas idosas" in by_answers  # support not searched by aq


def test_homonym_areas_are_told_apart_and_sorted_in_portuguese(
    engine: Engine, session: Session, staff: Principal
) -> None:
    html = page(engine)
    assert ">Lisboa (distrito)</option>" in html and ">Lisboa (concelho)</option>" in html
    english = page(engine, "en")
    assert ">Lisboa (district)</option>" in english and ">Lisboa (municipality)</option>" in english
    districts = re.findall(r'<option value="PT-\d\d"[^>]*>([^<]+)</option>', html)
    assert districts == sorted(districts, key=collation_key)
    first_e = next(n for n in districts if n.startswith(("E", "É")))
    after = districts[districts.index(first_e) :]
    assert any(n.startswith("Évora") for n in after[:3]), districts  # among the E's
    assert sorted(["Faro", "Évora", "Beja"], key=collation_key) == ["Beja", "Évora", "Faro"]


def test_a_page_past_the_end_says_so(
    engine: Engine, session: Session, staff: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("portal.content.PAGE_SIZE", 2)
    for n in range(3):
        offer(session, f"Oferta {n}")
    html = page(engine, "pt", page="7")
    assert "Não há página 7: os resultados cabem em 2 páginas." in html
    assert "Ir para a última página" in html
    assert "Nada corresponde" not in html
    english = page(engine, "en", page="7")
    assert "There is no page 7: the results fit on 2 pages." in english


def test_counts_use_plural_forms_in_both_languages() -> None:
    for language, one, many in (
        ("pt", "feita 1 vez", "feita 3 vezes"),
        ("en", "asked 1 time", "asked 3 times"),
    ):
        set_language(language)
        assert ngettext("asked {n} time", "asked {n} times", 1).format(n=1) == one
        assert ngettext("asked {n} time", "asked {n} times", 3).format(n=3) == many
    set_language("pt")
    assert ngettext("{n} initiative found", "{n} initiatives found", 0).format(n=0) == (
        "0 iniciativas encontradas"
    )


# --- addresses in the feed, the JSON and the static export -------------------------------


def test_feed_and_json_point_at_the_item_pages(
    engine: Engine, session: Session, staff: Principal
) -> None:
    live = offer(session, "Teleconsultas para pessoas idosas")
    answered = answer(session, staff, "Posso sair de casa?")
    measure = create_measure(
        session=session,
        actor=staff,
        draft=MeasureDraft(area=Topic.HEALTH, title="Uso de máscara", summary="…", published=True),
    )
    feed = feedparser.parse(build(engine, "feed.xml", language="pt", query=PublicQuery()))
    entry = next(e for e in feed.entries if e.title == live.title)
    assert entry.link == f"{BASE}initiatives/{live.code}"
    data = json.loads(build(engine, "initiatives.json", language="pt", query=PublicQuery()))
    assert data["initiatives"][0]["url"] == f"{BASE}initiatives/{live.code}"
    answers = json.loads(build(engine, "answers.json", language="pt", query=PublicQuery()))
    assert answers["answers"][0]["url"] == f"{BASE}answers/{answered.id}"
    measures = json.loads(build(engine, "measures.json", language="pt", query=PublicQuery()))
    assert measures["measures"][0]["url"] == f"{BASE}measures/{measure.id}"


def test_static_export_writes_item_pages_whose_links_resolve(
    engine: Engine, session: Session, staff: Principal, tmp_path: Path
) -> None:
    live = offer(session, "Teleconsultas para pessoas idosas")
    odd = offer(session, "Código com barra", code="OPM/2020:7")
    answered = answer(session, staff, "Posso sair de casa?")
    create_measure(
        session=session,
        actor=staff,
        draft=MeasureDraft(
            area=Topic.HEALTH,
            title="Uso de máscara",
            summary="…",
            published=True,
            initiative_codes=[live.code],
        ),
    )
    site = tmp_path / "site"
    export_public(engine, site)
    assert (site / "initiatives" / f"{live.code}.html").is_file()
    assert (site / "initiatives" / f"{live.code}.en.html").is_file()
    assert (site / "answers" / f"{answered.id}.html").is_file()
    checked = 0
    for html_file in [site / "index.html", site / "index.en.html", *site.glob("*/*.html")]:
        for href in re.findall(r'href="([^"#]+)"', html_file.read_text()):
            if urlsplit(href).scheme or href.startswith(("mailto:", "tel:")):
                continue
            target = urljoin(html_file.as_uri(), href)
            assert Path(urlsplit(target).path).is_file(), f"{html_file.name}: {href}"
            checked += 1
    assert checked > 20
    index = (site / "index.html").read_text()
    assert f'href="initiatives/{live.code}.html"' in index
    odd_pages = [p.name for p in (site / "initiatives").iterdir() if p.name.startswith("OPM")]
    assert len(odd_pages) == 2 and odd.code not in odd_pages[0]


def test_the_answers_search_is_portuguese_as_typed_too(
    engine: Engine, session: Session, staff: Principal
) -> None:
    answer(session, staff, "Há apoio para pessoas idosas que vivem sozinhas?")
    answer(session, staff, "Onde compro máscaras?")
    for typed in ("idosos", "Idosa", "pessoa idosa", "mascara"):
        html = page(engine, aq=typed)
        expected = "Onde compro máscaras?" if typed == "mascara" else "pessoas idosas"
        assert expected in html, typed
    html = page(engine, aq="idosos")
    assert "Onde compro máscaras?" not in html


def test_an_ended_measure_is_shown_only_with_ended_1_and_its_page_says_so(
    client: TestClient, engine: Engine, session: Session, staff: Principal, tmp_path: Path
) -> None:
    ended = create_measure(
        session=session,
        actor=staff,
        draft=MeasureDraft(
            area=Topic.LABOUR,
            title="Lay-off simplificado de 2020",
            summary="Terminou.",
            in_force_from=date(2020, 3, 26),
            in_force_to=date(2020, 7, 31),
            published=True,
        ),
    )
    assert "Lay-off simplificado de 2020" not in page(engine)
    everything = page(engine, ended="1")
    card = everything.split("Lay-off simplificado de 2020", 1)[1].split("</article>", 1)[0]
    assert "Já não está em vigor" in card
    own = client.get(f"/measures/{ended.id}")
    assert own.status_code == 200 and "Esta medida já não está em vigor" in own.text
    export_public(engine, tmp_path / "site")
    assert (tmp_path / "site" / "measures" / f"{ended.id}.html").is_file()
