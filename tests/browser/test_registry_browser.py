"""Submit, review and publish an initiative through the real UI, in a real browser.

A partner signs in through the form, describes a new initiative on "Our initiatives"
and submits it for review; a staff member, in a separate browser context, picks it in
the review queue and approves it; an anonymous visitor then finds it on the public
page, and the database holds it as published. Uses the server and browser of
conftest.py (a freshly started server with demo data for this module). Needs Debian's
Chromium at /usr/bin/chromium; never ``playwright install``.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session, create_engine, select

from initiatives.models import Initiative, ReviewState
from tests.browser.conftest import (
    RENDER_TIMEOUT_MS,
    HubServer,
    OpenPage,
    assert_no_exception,
    nav_link,
    sign_in,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

PARTNER_EMAIL = "dgs@demo.example"
PARTNER_ORGANISATION = "Direção-Geral da Saúde"
STAFF_EMAIL = "staff@demo.example"

TITLE_LABEL = "Title"
DESCRIPTION_LABEL = "Description: what is offered, to whom, and how to get it"
CATEGORY_LABEL = "Category"
GROUPS_LABEL = "For whom (target groups)"
AREAS_LABEL = "Where: the whole country, districts or municipalities"

CATEGORY = "Health"
TARGET_GROUP = "Health professionals"
AREA = "Portugal (PT)"

SUBMITTED = "Submitted. The coordination office will review it."
APPROVED = "Approved and published."


def choose(page: Page, combobox: Locator, typed: str, option: str | re.Pattern[str]) -> None:
    """Pick ``option`` in a Streamlit selectbox or multiselect: click, type, click it.

    While the list is open the rest of the page is hidden from the accessibility tree,
    so type with the keyboard (the focus is in the combobox) and close a multiselect's
    list with Escape before looking for anything else by role.
    """
    combobox.click()
    page.keyboard.type(typed)
    choice = page.get_by_role("option", name=option, exact=isinstance(option, str))
    expect(choice).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    choice.click()
    if page.get_by_role("listbox").count():
        page.keyboard.press("Escape")
    expect(page.get_by_role("listbox")).to_have_count(0)


def stored_initiative(server: HubServer, title: str) -> Initiative:
    """The one initiative titled ``title``, read straight from the server's database."""
    engine = create_engine(server.database_url)
    try:
        with Session(engine) as session:
            found = session.exec(select(Initiative).where(Initiative.title == title)).all()
    finally:
        engine.dispose()
    assert len(found) == 1, f"expected one initiative titled {title!r}, found {len(found)}"
    return found[0]


def test_partner_submits_staff_approves_and_it_is_published(
    hub_server: HubServer, open_page: OpenPage
) -> None:
    title = f"Browser test helpline {uuid.uuid4().hex[:10]}"

    # 1. The partner describes a new initiative and submits it for review.
    partner = open_page("/app/?lang=en")
    sign_in(partner, PARTNER_EMAIL, then_see="Our initiatives")
    nav_link(partner, "Our initiatives").click()
    expect(partner.get_by_role("heading", name="Our initiatives")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    # Both tabs' forms are in the page; this is the "New initiative" one.
    form = partner.get_by_test_id("stForm").filter(has_text="Save as draft")
    expect(form.get_by_label("Lead organisation", exact=True)).to_have_value(
        PARTNER_ORGANISATION, timeout=RENDER_TIMEOUT_MS
    )
    wait_until_idle(partner)

    form.get_by_label(TITLE_LABEL, exact=True).fill(title)
    form.get_by_label(DESCRIPTION_LABEL, exact=True).fill(
        "A free phone line for health workers: call and ask; open every day."
    )
    category = form.get_by_role("combobox", name=CATEGORY_LABEL, exact=True)
    choose(partner, category, "Heal", CATEGORY)
    expect(category).to_have_value(CATEGORY)
    groups = form.get_by_test_id("stMultiSelect").filter(has_text=GROUPS_LABEL)
    choose(partner, groups.get_by_role("combobox"), "Health prof", TARGET_GROUP)
    expect(groups).to_contain_text(TARGET_GROUP)
    areas = form.get_by_test_id("stMultiSelect").filter(has_text=AREAS_LABEL)
    choose(partner, areas.get_by_role("combobox"), "Portugal", AREA)
    expect(areas).to_contain_text(AREA)

    form.get_by_role("button", name="Submit for review", exact=True).click()
    expect(partner.get_by_text(SUBMITTED, exact=True)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    wait_until_idle(partner)
    expect(partner.get_by_test_id("stAlertContentError")).to_have_count(0)
    assert_no_exception(partner)
    submitted = stored_initiative(hub_server, title)
    assert submitted.review_state is ReviewState.SUBMITTED
    assert submitted.category == "health"

    # 2. Staff, in another browser context, approves it from the review queue.
    staff = open_page("/app/?lang=en")
    sign_in(staff, STAFF_EMAIL, then_see="Review")
    nav_link(staff, "Review").click()
    expect(staff.get_by_role("heading", name="Review queue")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    wait_until_idle(staff)
    # The demo data holds two older submissions, so the new one is not preselected.
    pick = staff.get_by_role("combobox", name="Review", exact=True)
    expect(pick).not_to_have_value(re.compile(re.escape(title)))
    choose(staff, pick, title, re.compile(re.escape(title)))
    expect(pick).to_have_value(re.compile(re.escape(title)))
    expect(staff.get_by_role("heading", name="Submitted initiative")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    summary_title = staff.get_by_test_id("stMarkdownContainer").get_by_text(title, exact=True)
    expect(summary_title).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    wait_until_idle(staff)
    summary = staff.get_by_test_id("stTable")
    for shown in (PARTNER_ORGANISATION, CATEGORY, TARGET_GROUP, AREA):
        expect(summary).to_contain_text(shown)

    staff.get_by_role("button", name="Approve and publish", exact=True).click()
    expect(staff.get_by_text(APPROVED, exact=True)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    wait_until_idle(staff)
    expect(staff.get_by_test_id("stAlertContentError")).to_have_count(0)
    assert_no_exception(staff)

    # 3. An anonymous visitor finds it on the public information page.
    visitor = open_page("/app/?lang=en")
    search = visitor.get_by_role("textbox", name="Search", exact=True)
    expect(search).to_be_editable(timeout=RENDER_TIMEOUT_MS)
    wait_until_idle(visitor)
    search.fill(title)
    search.press("Enter")
    # The search found exactly this one (and has rerun the page with it).
    expect(visitor.get_by_text("1 initiative found", exact=True)).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    listed = visitor.get_by_test_id("stMarkdownContainer").get_by_text(title, exact=True)
    expect(listed).to_be_visible()
    assert_no_exception(visitor)

    # 4. The database holds it as published.
    published = stored_initiative(hub_server, title)
    assert published.id == submitted.id
    assert published.review_state is ReviewState.PUBLISHED
