"""The public site at the root in a real browser (issue 14): a citizen's first load of
``/`` is one light document (under 100 KB, nothing fetched from another host or at all,
no JavaScript needed), axe-core reports zero violations on the page, an initiative page
and an answer page in both languages, an ended offer is out of the default list and its
own page says it ended, and on a 390 px phone nothing scrolls sideways.

axe-core comes bundled in the axe-playwright-python wheel (from PyPI), so nothing is
fetched at test time. Needs Debian's Chromium at /usr/bin/chromium. The server runs the
demo data: DEMO-006 is in force (no end date), DEMO-007 ended on 2020-08-31.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import STEP_TIMEOUT_MS, HubServer, OpenPage, axe_violations

pytestmark = pytest.mark.browser

MAX_BYTES = 100_000
PHONE = {"width": 390, "height": 844}
LIVE = "DEMO-006"
ENDED = "DEMO-007"
ENDED_TITLE = "Teleconsultas para pessoas idosas em Lisboa"


def first_item_path(page: Page, kind: str) -> str:
    href = page.locator(f'a[href^="/{kind}/"]').first.get_attribute("href")
    assert href, f"the demo has published {kind}"
    return urlsplit(href).path


@pytest.mark.parametrize("language", ["pt", "en"])
def test_page_initiative_and_answer_have_no_accessibility_violations(
    open_page: OpenPage, language: str
) -> None:
    page = open_page(f"/?lang={language}")
    page.get_by_role("heading", level=1).wait_for()
    assert page.locator("html").get_attribute("lang") == language
    assert axe_violations(page) == []
    answer = first_item_path(page, "answers")
    measure = first_item_path(page, "measures")
    for path in (
        f"/initiatives/{LIVE}?lang={language}",
        f"{answer}?lang={language}",
        f"{measure}?lang={language}",
    ):
        item = open_page(path)
        item.get_by_role("heading", level=1).wait_for()
        assert item.locator("html").get_attribute("lang") == language
        assert axe_violations(item) == [], path


def test_page_with_results_filters_and_ended_is_accessible(open_page: OpenPage) -> None:
    page = open_page("/?lang=en&area=1106&q=idosos&ended=1&audience=health_professionals")
    page.get_by_role("heading", level=1).wait_for()
    assert axe_violations(page) == []


def test_first_load_is_one_light_document_that_needs_no_javascript(
    browser: Browser, hub_server: HubServer
) -> None:
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    response = page.goto(hub_server.url("/"))
    assert response is not None and response.status == 200
    body = response.body()
    assert len(body) <= MAX_BYTES, f"{len(body)} bytes"
    assert b"<script" not in body
    assert requests == [hub_server.url("/")], "nothing else may be fetched, from any host"
    assert response.headers.get("etag") and response.headers.get("last-modified")
    # Rendered without JavaScript: the sections and the sign-in link are there.
    assert page.get_by_role("heading", level=1).is_visible()
    signin = page.get_by_role("link", name="Área reservada")
    assert signin.get_attribute("href") == "/signin?next=/app/"
    assert page.locator("section[aria-labelledby=support] article").count() > 0
    context.close()


def test_old_public_address_lands_on_the_root(open_page: OpenPage, hub_server: HubServer) -> None:
    page = open_page("/public/?lang=en")
    page.get_by_role("heading", level=1).wait_for()
    assert page.url == hub_server.url("/?lang=en")


def test_an_ended_offer_is_not_listed_by_default_and_its_page_says_it_ended(
    open_page: OpenPage,
) -> None:
    page = open_page("/")
    page.get_by_role("heading", level=1).wait_for()
    assert page.get_by_role("link", name=ENDED_TITLE).count() == 0
    assert page.get_by_role("link", name="Linha SNS 24 reforçada", exact=True).count() >= 1
    page.get_by_label("Mostrar também o que terminou").check()
    page.get_by_role("button", name="Mostrar apoios").click()
    page.wait_for_url(re.compile(r"ended=1"))
    card = page.locator("article", has=page.get_by_role("link", name=ENDED_TITLE))
    assert card.locator(".status.ended").inner_text() == "Terminou"
    card.get_by_role("link", name=ENDED_TITLE).click()
    page.wait_for_url(re.compile(f"/initiatives/{ENDED}"))
    assert "Esta oferta terminou" in page.locator("main").inner_text()


@pytest.mark.parametrize("path", ["/", f"/initiatives/{LIVE}", "/?ended=1&lang=en"])
def test_nothing_scrolls_sideways_on_a_390_px_phone(
    browser: Browser, hub_server: HubServer, path: str
) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=True)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    page.goto(hub_server.url(path))
    page.get_by_role("heading", level=1).wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path}: {width} px wide"
    if path == "/":
        # The contacts table is read as a list: one block per row, labels before values.
        row = page.locator("table.contacts tbody tr").first
        if row.count():
            assert row.evaluate("r => getComputedStyle(r).display") == "block"
            caption = page.locator("table.contacts caption").bounding_box()
            assert caption is not None and caption["width"] > PHONE["width"] / 2, caption
    context.close()
