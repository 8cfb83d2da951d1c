"""The Review page's bulk action (issue 21): many submissions decided in one click, with
a summary of what was done and what was refused (and why)."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from hub.audit import AuditEntry
from hub.auth import Role
from hub.db import make_engine
from initiatives.models import Initiative, ReviewState
from initiatives.service import approve
from tests.app.conftest import principal_of, texts

Opener = Callable[[Role | None], AppTest]


def _states(url: str) -> dict[str, ReviewState]:
    engine = make_engine(url)
    with Session(engine) as session:
        states = {i.code: i.review_state for i in session.exec(select(Initiative))}
    engine.dispose()
    return states


def _ids(url: str, codes: set[str]) -> set[int]:
    engine = make_engine(url)
    with Session(engine) as session:
        ids = {i.id or 0 for i in session.exec(select(Initiative)) if i.code in codes}
    engine.dispose()
    return ids


def test_staff_approve_every_shown_submission_in_one_action(
    open_app: Opener, demo_url: str
) -> None:
    waiting = {c for c, s in _states(demo_url).items() if s is ReviewState.SUBMITTED}
    staff = open_app(Role.STAFF).run()
    staff.switch_page("pages/staff_review.py").run()
    assert not staff.exception
    assert f"{len(waiting)} records selected." in [c.value for c in staff.caption]
    staff.button(key="bulk_review_apply").click().run()
    assert not staff.exception, staff.exception
    assert f"Approve and publish: {len(waiting)} done, 0 refused." in texts(staff)
    assert "Nothing is waiting for review." in texts(staff)
    states = _states(demo_url)
    assert all(states[code] is ReviewState.PUBLISHED for code in waiting)
    engine = make_engine(demo_url)
    with Session(engine) as session:
        audited = session.exec(select(AuditEntry).where(AuditEntry.action == "publish")).all()
    engine.dispose()
    assert {e.entity_id for e in audited if "staff@demo.example" in e.actor_label} == {
        str(i) for i in _ids(demo_url, waiting)
    }


def test_sending_back_without_a_reason_is_refused_on_the_page(open_app: Opener) -> None:
    staff = open_app(Role.STAFF).run()
    staff.switch_page("pages/staff_review.py").run()
    staff.radio(key="bulk_review_decision").set_value("send-back")
    staff.button(key="bulk_review_apply").click().run()
    assert not staff.exception
    assert "Reason: tell the partner what to change" in texts(staff)
    staff.text_area(key="bulk_review_message").input("Add the areas served")
    staff.button(key="bulk_review_apply").click().run()
    assert "Ask for changes: 2 done, 0 refused." in texts(staff)


def test_a_record_changed_meanwhile_is_refused_and_listed(open_app: Opener, demo_url: str) -> None:
    waiting = sorted(c for c, s in _states(demo_url).items() if s is ReviewState.SUBMITTED)
    staff = open_app(Role.STAFF).run()
    staff.switch_page("pages/staff_review.py").run()
    # Another reviewer approves one of them after this page was shown.
    engine = make_engine(demo_url)
    with Session(engine) as session:
        first = session.exec(select(Initiative).where(Initiative.code == waiting[0])).one()
        approve(
            session=session,
            actor=principal_of(demo_url, Role.ADMIN),
            initiative_id=first.id or 0,
            expected_version=first.version,
        )
    engine.dispose()
    staff.button(key="bulk_review_apply").click().run()
    assert not staff.exception
    shown = texts(staff)
    assert f"Approve and publish: {len(waiting) - 1} done, 1 refused." in shown, shown
    assert "These records were not changed" in shown
    refused = staff.dataframe[0].value
    assert list(refused.iloc[:, 0]) == [waiting[0]]
    assert "changed by" in refused.iloc[0, 1]
    assert staff.get("download_button")
