"""The weekly report walked in a real browser (issue 20): staff create this week's report
on the Reports page, sign it off and publish it; a citizen finds it from the public
front page, opens it, and the page passes axe-core with no violation. Needs Debian's
Chromium at /usr/bin/chromium; never ``playwright install``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    RENDER_TIMEOUT_MS,
    HubServer,
    OpenPage,
    assert_no_exception,
    axe_violations,
    sign_in,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

STAFF_EMAIL = "staff@demo.example"


def test_staff_publish_a_report_and_a_citizen_opens_it(
    hub_server: HubServer, open_page: OpenPage
) -> None:
    year, number, _day = datetime.now(UTC).isocalendar()
    week = f"{year}-W{number:02d}"

    staff = open_page("/app/?lang=en")
    sign_in(staff, STAFF_EMAIL, then_see="Review")
    staff.goto(hub_server.url("/app/staff_reports?lang=en"))
    expect(staff.get_by_role("heading", name="Reports")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    wait_until_idle(staff)
    staff.get_by_label("Week (ISO, e.g. 2026-W49)").fill(week)
    staff.get_by_role("button", name="Create the report", exact=True).click()
    expect(staff.get_by_text("Report created from the snapshot.", exact=True)).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    wait_until_idle(staff)
    staff.get_by_role("button", name="Sign off", exact=True).click()
    expect(
        staff.get_by_text("Signed off: publish it or keep it internal.", exact=True)
    ).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    wait_until_idle(staff)
    staff.get_by_role("button", name="Publish", exact=True).click()
    expect(staff.get_by_text("Published on the public site.", exact=True)).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    assert_no_exception(staff)

    citizen = open_page("/?lang=en")
    citizen.get_by_role("link", name="Situation reports", exact=True).click()
    expect(citizen).to_have_url(re.compile(r"/reports\?lang=en$"))
    citizen.get_by_role("link", name=re.compile(re.escape(f"Situation report {week}"))).click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text(
        f"Situation report {week}: who does what where"
    )
    expect(citizen.get_by_role("heading", name="Key figures")).to_be_visible()
    expect(citizen.locator("figure.map svg path")).to_have_count(20)
    assert axe_violations(citizen) == []
    pdf = citizen.request.get(hub_server.url(f"/reports/{week}.pdf?lang=en"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")
