"""Sign-in and page guards in a real browser, against a real ``streamlit run`` server.

Order matters in this module. On a freshly started server Streamlit serves the files in
``pages/`` by URL until some session has called ``st.navigation`` (ui/guards.py explains
why every page guards itself). The first test therefore deep-links to a staff page
before anything else has opened a page, so it exercises exactly that window; the later
tests sign in (which runs hub_app.py and so ``st.navigation``) and check that anonymous
visitors are still kept out afterwards.

The server, browser and helpers are in conftest.py: a freshly started server per test
module. Needs Debian's Chromium at /usr/bin/chromium (never ``playwright install``).
Without it the tests skip locally and fail under CI=true.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    DEMO_PASSWORD,
    RENDER_TIMEOUT_MS,
    HubServer,
    OpenPage,
    assert_no_exception,
    nav_link,
    nav_offers,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "admin@demo.example"

REFUSED = "Please sign in to see this page."
PAGE_NOT_FOUND = "Page not found"


# --- tests (module order matters: see the docstring) ---------------------------------


def test_anonymous_deep_link_to_staff_page_is_refused_on_fresh_server(
    hub_server: HubServer, open_page: OpenPage
) -> None:
    if hub_server.pages_opened:
        pytest.fail(
            "This test must open the first page on a freshly started server (it checks "
            "the window before any session has called st.navigation); another test ran "
            "first. Run the module in file order."
        )
    page = open_page("/app/staff_accounts?lang=en")

    # Seeing the guard's refusal proves Streamlit served pages/staff_accounts.py itself
    # (the pages-directory router); hub_app.py's navigation would have shown public_home.
    expect(page.get_by_text(REFUSED)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(page.get_by_role("link", name="Go to the start page")).to_be_visible()
    sign_in_link = page.get_by_role("link", name="Sign in", exact=True)
    expect(sign_in_link).to_have_attribute("href", "/signin?lang=en&next=%2Fapp%2Fstaff_accounts")
    wait_until_idle(page)

    expect(page.get_by_role("heading", name="Accounts")).to_have_count(0)
    expect(page.get_by_text("Create an account")).to_have_count(0)
    expect(page.get_by_text("Change an account")).to_have_count(0)
    expect(page.get_by_text("Search by e-mail or name")).to_have_count(0)
    expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
    # Nor may the pages-directory sidebar list the staff pages' names to a visitor.
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(page.get_by_text("staff audit")).to_have_count(0)
    assert_no_exception(page)


def test_admin_signs_in_through_the_form_and_gets_staff_navigation(
    open_page: OpenPage,
) -> None:
    page = open_page("/app/?lang=en")
    expect(nav_link(page, "Public information")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    for staff_page in ("Overview", "Partners", "Accounts", "Audit log"):
        expect(nav_offers(page, staff_page)).to_have_count(0)

    nav_link(page, "Sign in").click()
    expect(page).to_have_url(re.compile(r"/login(\?|$)"), timeout=RENDER_TIMEOUT_MS)
    page.get_by_role("link", name="Go to the sign-in page").click()
    # The plain HTML form (portal/signin.py), not a Streamlit widget.
    expect(page).to_have_url(re.compile(r"/signin\?lang=en"), timeout=RENDER_TIMEOUT_MS)
    email = page.get_by_label("E-mail", exact=True)
    expect(email).to_be_editable(timeout=RENDER_TIMEOUT_MS)
    email.fill(ADMIN_EMAIL)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    # Offered, though maybe folded into the navigation's "N more" menu (see nav_offers).
    for staff_page in ("Overview", "Partners", "Accounts", "Audit log"):
        expect(nav_offers(page, staff_page)).to_have_count(1, timeout=RENDER_TIMEOUT_MS)
    expect(nav_link(page, "Sign in")).to_have_count(0)
    expect(page.get_by_text("Signed in as Ana Administradora (administrator)")).to_be_visible()
    wait_until_idle(page)
    assert_no_exception(page)


def test_anonymous_visitor_is_still_refused_after_a_staff_sign_in(
    open_page: OpenPage,
) -> None:
    page = open_page("/app/staff_audit?lang=en")

    # Once st.navigation has run, an anonymous visitor's navigation has no staff_audit:
    # Streamlit says "Page not found" and runs the default public page. (Run alone on a
    # fresh server, the page's own guard refuses instead.) Either way: no audit log.
    refused_or_not_found = page.get_by_text(REFUSED).or_(
        page.get_by_text(PAGE_NOT_FOUND, exact=True)
    )
    expect(refused_or_not_found.first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    wait_until_idle(page)

    expect(page.get_by_role("heading", name="Audit log")).to_have_count(0)
    expect(page.get_by_text("Every change by anyone, newest first.")).to_have_count(0)
    expect(page.get_by_text("Who (name or e-mail contains)")).to_have_count(0)
    for staff_page in ("Overview", "Partners", "Accounts", "Audit log"):
        expect(nav_offers(page, staff_page)).to_have_count(0)
    expect(page.get_by_text("Signed in as", exact=False)).to_have_count(0)
    assert_no_exception(page)
