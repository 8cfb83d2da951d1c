"""Sign-in that lasts, in a real browser against a real server (issue 14).

Staff sign in through the plain /signin form and stay signed in when they press F5,
open a new tab or follow a bookmark; signing out in one tab signs the other out at its
next reload; a deep link to a staff page leads through sign-in back to that page; the
form itself has no accessibility violations (axe-core) in Portuguese and English.

Server, browser and helpers: tests/browser/conftest.py. Needs Debian's Chromium at
/usr/bin/chromium (never ``playwright install``).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    DEMO_PASSWORD,
    RENDER_TIMEOUT_MS,
    HubServer,
    OpenPage,
    assert_no_exception,
    axe_violations,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "admin@demo.example"
STAFF_EMAIL = "staff@demo.example"
ADMIN_SIGNED_IN = "Signed in as Ana Administradora (administrator)"
STAFF_SIGNED_IN = "Signed in as Rui Coordenação (coordination staff)"


def fill_signin_form(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    email_field = page.get_by_label("E-mail", exact=True)
    expect(email_field).to_be_editable(timeout=RENDER_TIMEOUT_MS)
    email_field.fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def expect_signed_in(page: Page, who: str) -> None:
    expect(page.get_by_text(who)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    wait_until_idle(page)
    assert_no_exception(page)


def test_signed_in_staff_stay_signed_in_on_reload_new_tab_and_bookmark(
    open_page: OpenPage, hub_server: HubServer
) -> None:
    page = open_page("/signin?lang=en")
    fill_signin_form(page, ADMIN_EMAIL)
    expect(page).to_have_url(re.compile(r"/app/\?lang=en$"), timeout=RENDER_TIMEOUT_MS)
    expect_signed_in(page, ADMIN_SIGNED_IN)
    cookie = next(c for c in page.context.cookies() if c["name"] == "hub_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"

    page.reload()  # F5
    expect_signed_in(page, ADMIN_SIGNED_IN)

    tab = page.context.new_page()  # a second tab of the same browser
    tab.goto(hub_server.url("/app/?lang=en"))
    expect_signed_in(tab, ADMIN_SIGNED_IN)

    bookmark = page.context.new_page()  # a bookmark of a staff page
    bookmark.goto(hub_server.url("/app/staff_accounts?lang=en"))
    expect(bookmark.get_by_role("heading", name="Accounts")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    expect(bookmark.get_by_text("Please sign in to see this page.")).to_have_count(0)
    expect_signed_in(bookmark, ADMIN_SIGNED_IN)


def test_signing_out_in_one_tab_signs_out_the_other(
    open_page: OpenPage, hub_server: HubServer
) -> None:
    first = open_page("/signin?lang=en")
    fill_signin_form(first, STAFF_EMAIL)
    expect_signed_in(first, STAFF_SIGNED_IN)
    second = first.context.new_page()
    second.goto(hub_server.url("/app/staff_partners?lang=en"))
    expect_signed_in(second, STAFF_SIGNED_IN)

    first.get_by_role("button", name="Sign out").click()
    expect(first.get_by_text("You are signed out.")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(first.get_by_text(STAFF_SIGNED_IN)).to_have_count(0)

    second.reload()
    # Anonymous again: the staff page is not offered (Streamlit's "Page not found" and
    # the public start page) and nobody is named as signed in.
    expect(second.get_by_role("link", name="Sign in", exact=True).first).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    wait_until_idle(second)
    expect(second.get_by_text(STAFF_SIGNED_IN)).to_have_count(0)
    expect(second.get_by_role("heading", name="Partner directory")).to_have_count(0)
    assert_no_exception(second)

    # The browser's cookie still names the ended row; the /signin form drops it.
    first.goto(hub_server.url("/signin?lang=en"))
    expect(first.get_by_role("heading", name="Sign in")).to_be_visible()
    assert not any(c["name"] == "hub_session" for c in first.context.cookies())


def test_a_deep_link_to_a_staff_page_signs_in_and_returns_there(open_page: OpenPage) -> None:
    page = open_page("/app/staff_partners?lang=en")
    expect(page.get_by_text("Please sign in to see this page.")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    refusal = page.get_by_test_id("stMainBlockContainer")  # not the menu's "Sign in"
    refusal.get_by_role("link", name="Sign in", exact=True).click()
    expect(page).to_have_url(
        re.compile(r"/signin\?lang=en&next=%2Fapp%2Fstaff_partners$"), timeout=RENDER_TIMEOUT_MS
    )
    fill_signin_form(page, STAFF_EMAIL)
    expect(page).to_have_url(
        re.compile(r"/app/staff_partners\?lang=en$"), timeout=RENDER_TIMEOUT_MS
    )
    expect(page.get_by_role("heading", name="Partner directory")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    expect_signed_in(page, STAFF_SIGNED_IN)


def test_a_wrong_password_keeps_the_email_and_says_why(open_page: OpenPage) -> None:
    page = open_page("/signin?lang=pt")
    email_field = page.get_by_label("E-mail", exact=True)
    email_field.fill(STAFF_EMAIL)
    page.get_by_label("Palavra-passe", exact=True).fill("not the password")
    page.get_by_role("button", name="Iniciar sessão", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Não foi possível iniciar sessão")
    expect(page.get_by_label("E-mail", exact=True)).to_have_value(STAFF_EMAIL)
    assert axe_violations(page) == []


@pytest.mark.parametrize("language", ["pt", "en"])
def test_the_signin_page_has_no_accessibility_violations(
    open_page: OpenPage, language: str
) -> None:
    page = open_page(f"/signin?lang={language}")
    page.get_by_role("heading", level=1).wait_for()
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("script").count() == 0
    assert axe_violations(page) == []
