"""The workspace walked as a new user meets it (issue 15), in a real browser.

A partner signs in through the form, describes an initiative much like a published one
and presses Submit: the check runs first and the draft is held beside the similar
initiatives; the partner explains the difference and submits. Staff, in another
context, pick it in the review queue and publish it. A Portuguese page says
``lang="pt"``; the gap map's legend swatches are painted in the map's colours. Every
step leaves a screenshot under tests/browser/artifacts/ (git-ignored) for a person to
look at.

The server runs with low overlap thresholds (the page is under test here, not the
engine's calibration, which its own tests cover). Needs Debian's Chromium at
/usr/bin/chromium; never ``playwright install``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from connectivity.maps import legend as legend_items
from initiatives.models import ReviewState
from tests.browser import conftest as browser
from tests.browser.conftest import (
    RENDER_TIMEOUT_MS,
    HubServer,
    OpenPage,
    assert_no_exception,
    nav_link,
    sign_in,
    wait_until_idle,
)
from tests.browser.test_registry_browser import choose, stored_initiative

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PARTNER_EMAIL = "dgs@demo.example"
STAFF_EMAIL = "staff@demo.example"
DIFFERENCE = "Ours is for pharmacists and their staff, not hospital teams."


@pytest.fixture(scope="module", autouse=True)
def warn_on_any_likeness() -> Iterator[None]:
    """Before the module's server starts: any comparable initiative warns."""
    patch = pytest.MonkeyPatch()
    original = browser._hub_env
    patch.setattr(
        browser,
        "_hub_env",
        lambda url: {**original(url), "HUB_OVERLAP_WARN_THRESHOLD": "0.01"},
    )
    yield
    patch.undo()


def snap(page: Page, name: str, focus: Locator | None = None) -> None:
    """A screenshot for a person to look at (Streamlit scrolls inside its own container,
    so ``focus`` is scrolled into view first)."""
    ARTIFACTS.mkdir(exist_ok=True)
    wait_until_idle(page)
    if focus is not None:
        focus.first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_partner_is_warned_at_submit_and_staff_publish(
    hub_server: HubServer, open_page: OpenPage
) -> None:
    title = f"Dados móveis para farmácias {uuid.uuid4().hex[:6]}"

    # 1. The partner signs in and fills in the form.
    partner = open_page("/app/?lang=en")
    snap(partner, "01-partner-start")
    sign_in(partner, PARTNER_EMAIL, then_see="Our initiatives")
    nav_link(partner, "Our initiatives").click()
    expect(partner.get_by_role("heading", name="Our initiatives")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    wait_until_idle(partner)
    form = partner.get_by_test_id("stForm").filter(has_text="Save as draft")
    form.get_by_label("Title", exact=True).fill(title)
    form.get_by_label("Description: what is offered, to whom, and how to get it", exact=True).fill(
        "Dados móveis gratuitos para profissionais de saúde durante a emergência."
    )
    choose(
        partner,
        form.get_by_role("combobox", name="Category", exact=True),
        "Comm",
        re.compile("Communications"),
    )
    groups = form.get_by_test_id("stMultiSelect").filter(has_text="For whom (target groups)")
    choose(partner, groups.get_by_role("combobox"), "Health prof", "Health professionals")
    snap(partner, "02-partner-form")

    # 2. Submit runs the check first: the draft is held beside the similar ones.
    form.get_by_role("button", name="Submit for review", exact=True).click()
    expect(partner.get_by_text("Before it is sent: similar initiatives", exact=True)).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    expect(partner.get_by_text(re.compile("^Why: "))).not_to_have_count(0)
    assert_no_exception(partner)
    snap(partner, "03-partner-warned", partner.get_by_text(re.compile("^Why: ")))
    with pytest.raises(AssertionError):
        stored_initiative(hub_server, title)  # nothing was sent yet

    # 3. The partner explains the difference and submits.
    partner.get_by_label("How ours differs from them (optional)", exact=True).fill(DIFFERENCE)
    partner.get_by_role("button", name="Explain the difference and submit", exact=True).click()
    expect(
        partner.get_by_text("Submitted. The coordination office will review it.", exact=True)
    ).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    assert_no_exception(partner)
    snap(partner, "04-partner-submitted")
    assert stored_initiative(hub_server, title).review_state is ReviewState.SUBMITTED

    # 4. Staff review it and publish it.
    staff = open_page("/app/?lang=en")
    sign_in(staff, STAFF_EMAIL, then_see="Review")
    nav_link(staff, "Review").click()
    expect(staff.get_by_role("heading", name="Review queue")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    wait_until_idle(staff)
    pick = staff.get_by_role("combobox", name="Review", exact=True)
    choose(staff, pick, title, re.compile(re.escape(title)))
    expect(
        staff.get_by_test_id("stMarkdownContainer").get_by_text(title, exact=True)
    ).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    snap(staff, "05-staff-review")
    staff.get_by_role("button", name="Approve and publish", exact=True).click()
    expect(staff.get_by_text("Approved and published.", exact=True)).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    assert_no_exception(staff)
    snap(staff, "06-staff-published", staff.get_by_text("Approved and published.", exact=True))
    assert stored_initiative(hub_server, title).review_state is ReviewState.PUBLISHED


def test_a_portuguese_page_says_lang_pt(open_page: OpenPage) -> None:
    page = open_page("/app/?lang=pt")
    expect(page.locator("html")).to_have_attribute("lang", "pt", timeout=RENDER_TIMEOUT_MS)
    snap(page, "07-portuguese-start")
    english = open_page("/app/?lang=en")
    expect(english.locator("html")).to_have_attribute("lang", "en", timeout=RENDER_TIMEOUT_MS)


def test_the_gap_map_legend_swatches_are_painted(open_page: OpenPage) -> None:
    staff = open_page("/app/?lang=en")
    sign_in(staff, STAFF_EMAIL, then_see="Gap map")
    nav_link(staff, "Gap map").click()
    legend = staff.locator("ul.hub-legend")
    expect(legend).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    legend.scroll_into_view_if_needed()
    painted = legend.locator("li > span").evaluate_all(
        "spans => spans.map(s => getComputedStyle(s).backgroundColor)"
    )
    expected = [
        f"rgb({int(c[1:3], 16)}, {int(c[3:5], 16)}, {int(c[5:7], 16)})" for c, _l in legend_items()
    ]
    assert painted == expected
    assert_no_exception(staff)
    snap(staff, "08-gap-map-legend", legend)


def test_partner_renewing_an_own_initiative_is_offered_to_update_it_instead(
    open_page: OpenPage,
) -> None:
    """The issue's case: DGS ran "Teleconsultas para pessoas idosas em Lisboa" (DEMO-007)
    in 2020; a near-identical title is named as its own earlier initiative at Submit, and
    "Update that one instead" opens the update tab on it."""
    partner = open_page("/app/?lang=en")
    sign_in(partner, PARTNER_EMAIL, then_see="Our initiatives")
    nav_link(partner, "Our initiatives").click()
    expect(partner.get_by_role("heading", name="Our initiatives")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    wait_until_idle(partner)
    form = partner.get_by_test_id("stForm").filter(has_text="Save as draft")
    form.get_by_label("Title", exact=True).fill("Teleconsultas para pessoas idosas em Lisboa 2021")
    choose(partner, form.get_by_role("combobox", name="Category", exact=True), "Health", "Health")
    form.get_by_role("button", name="Submit for review", exact=True).click()
    note = partner.get_by_text(
        "Your own earlier initiative: is this a renewal or an update of it?", exact=True
    )
    expect(note).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    assert_no_exception(partner)
    snap(partner, "09-partner-own-earlier", note)

    partner.get_by_role("button", name="Update that one instead").click()
    expect(partner.get_by_role("tab", name="Update an initiative")).to_have_attribute(
        "aria-selected", "true", timeout=RENDER_TIMEOUT_MS
    )
    picked = partner.get_by_role("combobox", name="Initiative", exact=True)
    expect(picked).to_have_value(re.compile("^DEMO-007 "), timeout=RENDER_TIMEOUT_MS)
    assert_no_exception(partner)
    snap(partner, "10-partner-updates-the-earlier-one", picked)
