"""The gap map draws in a real browser, from local files only (closed network).

Starts its own ``streamlit run`` server with demo data (the module-scoped fixtures
of tests/browser/conftest.py), signs in as staff and opens the gap map. Needs Debian's
Chromium at /usr/bin/chromium; never ``playwright install``.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Frame, Page, expect

from tests.browser.conftest import (
    DEMO_PASSWORD,
    RENDER_TIMEOUT_MS,
    OpenPage,
    assert_no_exception,
    nav_link,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

STAFF_EMAIL = "staff@demo.example"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def sign_in(page: Page) -> None:
    expect(nav_link(page, "Sign in")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    nav_link(page, "Sign in").click()
    page.get_by_role("link", name="Go to the sign-in page").click()  # the /signin form
    email = page.get_by_label("E-mail", exact=True)
    expect(email).to_be_editable(timeout=RENDER_TIMEOUT_MS)
    email.fill(STAFF_EMAIL)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(nav_link(page, "Gap map")).to_be_visible(timeout=RENDER_TIMEOUT_MS)


def map_frame(page: Page) -> Frame:
    page.locator("iframe[title*='streamlit_folium']").first.wait_for(
        state="attached", timeout=RENDER_TIMEOUT_MS
    )
    # The iframe element is attached before its document starts loading (its frame's
    # URL is still empty then): wait for the component's page itself.
    deadline = time.monotonic() + RENDER_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "streamlit_folium" in frame.url:
                return frame
        page.wait_for_timeout(100)
    raise AssertionError(f"no streamlit_folium frame among {[f.url for f in page.frames]}")


def test_gap_map_draws_from_local_files_only(open_page: OpenPage) -> None:
    page = open_page("/app/?lang=en")
    requested: list[str] = []  # by the map's frame (its scripts, styles and images)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.context.on(
        "request",
        lambda request: (
            requested.append(request.url) if "streamlit_folium" in request.frame.url else None
        ),
    )

    sign_in(page)
    nav_link(page, "Gap map").click()
    expect(page.get_by_role("heading", name="Connectivity gap map")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    frame = map_frame(page)
    frame.locator(".leaflet-container").wait_for(timeout=RENDER_TIMEOUT_MS)
    frame.wait_for_function(
        "() => window.map_div && Object.values(map_div._layers)"
        ".filter(l => l instanceof L.Path).length >= 320",
        timeout=RENDER_TIMEOUT_MS,
    )
    paths = frame.evaluate(
        "() => Object.values(map_div._layers).filter(l => l instanceof L.Path).length"
    )
    assert paths >= 320  # 20 district polygons + 300 municipality symbols
    expect(frame.locator(".leaflet-overlay-pane canvas")).to_have_count(1)
    wait_until_idle(page)
    assert_no_exception(page)

    foreign = [
        url
        for url in requested
        if urlsplit(url).scheme in {"http", "https", "ws", "wss"}
        and urlsplit(url).hostname not in LOCAL_HOSTS
    ]
    assert not foreign, f"requests left the machine: {foreign}"
    assert any("/assets/vendor/leaflet-1.9.4/leaflet.js" in url for url in requested)
    assert not errors, errors
