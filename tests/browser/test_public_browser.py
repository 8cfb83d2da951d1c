"""The plain public HTML page in a real browser: accessible (axe-core reports zero
violations), light (one document under 100 KB, nothing else fetched), no JavaScript.

axe-core comes bundled in the axe-playwright-python wheel (from PyPI), so nothing is
fetched at test time. Needs Debian's Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.browser.conftest import HubServer, OpenPage

pytestmark = pytest.mark.browser

MAX_BYTES = 100_000


def violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in results.response["violations"]
    ]


@pytest.mark.parametrize("language", ["pt", "en"])
def test_public_html_page_has_no_accessibility_violations(
    open_page: OpenPage,
    language: str,
) -> None:
    page = open_page(f"/public/?lang={language}")
    page.get_by_role("heading", level=1).wait_for()
    assert page.locator("html").get_attribute("lang") == language
    assert violations(page) == []


def test_public_html_page_with_results_and_filters_is_accessible(
    open_page: OpenPage,
) -> None:
    page = open_page("/public/?lang=en&area=1106&q=dados&audience=health_professionals")
    page.get_by_role("heading", level=1).wait_for()
    assert violations(page) == []


def test_public_html_page_is_one_light_document_without_javascript(
    browser: Browser,
    hub_server: HubServer,
) -> None:
    context = browser.new_context()
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    response = page.goto(hub_server.url("/public/?lang=pt"))
    assert response is not None and response.status == 200
    body = response.body()
    assert len(body) < MAX_BYTES, f"{len(body)} bytes"
    assert b"<script" not in body
    assert requests == [hub_server.url("/public/?lang=pt")], "nothing else may be fetched"
    assert response.headers.get("etag") and response.headers.get("last-modified")
    context.close()
