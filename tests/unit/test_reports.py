"""The weekly situation report: snapshot, figures from SQL, workflow and permissions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session, col

from hub.audit import AuditEntry
from hub.auth import Role
from hub.errors import InvalidInput, NotFound, PermissionDenied
from initiatives.models import Initiative, Status
from initiatives.service import withdraw_initiative
from reports.draft import NATIONAL, compare_reports, report_figures
from reports.models import Report, ReportArea, ReportInitiative, ReportState
from reports.service import (
    create_report,
    edit_highlights,
    published_report,
    release,
    sign_off,
    week_bounds,
)
from tests.factories import World, make_initiative, make_principal

TODAY = datetime.now(UTC).date()


def _publish(session: Session, world: World, **overrides: object) -> Initiative:
    values: dict[str, object] = {
        "planned_start": TODAY - timedelta(days=20),
        "planned_end": TODAY + timedelta(days=60),
        "status": Status.ACTIVE,
    }
    values.update(overrides)
    return make_initiative(session, world.own, publish=True, **values)


def _registry(session: Session, world: World) -> list[Initiative]:
    return [
        _publish(session, world, areas=["PT-11", "1106"], people_targeted=1000),
        _publish(session, world, areas=["PT-13"], category="health", people_targeted=250),
        make_initiative(
            session,
            world.other,
            publish=True,
            areas=["1106"],
            planned_start=TODAY - timedelta(days=3),
            planned_end=TODAY + timedelta(days=10),
            status=Status.ACTIVE,
            people_targeted=40,
            people_reached=12,
        ),
        # ended before the cut-off: in the snapshot, not active
        _publish(
            session,
            world,
            areas=["PT-11"],
            planned_start=TODAY - timedelta(days=60),
            planned_end=TODAY - timedelta(days=2),
        ),
        # a draft: not in the report at all
        make_initiative(session, world.own, areas=["PT-11"]),
    ]


def _report(session: Session, world: World, slug: str = "2026-W49", **kw: object) -> Report:
    values: dict[str, object] = {
        "period_start": TODAY - timedelta(days=6),
        "cutoff": datetime.now(UTC),
        "slug": slug,
    }
    values.update(kw)
    return create_report(session=session, actor=world.staff, **values)  # type: ignore[arg-type]


def _active_count(session: Session, report_id: int) -> int:
    return int(
        session.execute(
            select(func.count()).where(
                col(ReportInitiative.report_id) == report_id, col(ReportInitiative.is_active)
            )
        ).scalar_one()
    )


def test_figures_equal_counts_taken_directly_from_the_snapshot(
    session: Session, world: World
) -> None:
    _registry(session, world)
    report = _report(session, world)
    assert report.id is not None
    figures = report_figures(session=session, report=report)

    rid = report.id
    snap = session.exec(select(ReportInitiative).where(col(ReportInitiative.report_id) == rid))
    rows = [row[0] for row in snap.all()]
    assert len(rows) == 4  # the draft is not copied
    active = [row for row in rows if row.is_active]
    assert figures.key.active == _active_count(session, rid) == 3
    assert figures.key.partners == len({row.organisation_id for row in active}) == 2
    assert figures.key.people_targeted == sum(row.people_targeted or 0 for row in active) == 1290
    assert figures.key.people_reached == 12
    active_ids = {row.initiative_id for row in active}
    areas = session.exec(select(ReportArea).where(col(ReportArea.report_id) == rid)).all()
    active_areas = {a[0].area_code for a in areas if a[0].initiative_id in active_ids}
    assert figures.key.areas == len(active_areas) == 3  # PT-11, 1106, PT-13
    # presence: 1106 lies in PT-11, so PT-11 holds the first and third initiatives once each
    assert figures.by_district["PT-11"] == 2
    assert figures.by_district["PT-13"] == 1
    assert NATIONAL not in figures.by_district
    assert figures.by_category == {"connectivity": 2, "health": 1}
    assert figures.category_district[("connectivity", "PT-11")] == 2
    assert figures.changes.new == 4  # all published today, inside the period
    assert figures.changes.ended == 1


def test_records_changed_after_the_cut_off_do_not_change_the_report(
    session: Session, world: World
) -> None:
    initiatives = _registry(session, world)
    report = _report(session, world)
    report = sign_off(session=session, actor=world.staff, report_id=report.id or 0)
    report = release(session=session, actor=world.staff, report_id=report.id or 0, public=True)
    before = report_figures(session=session, report=report)

    first = initiatives[0]
    session.execute(
        update(Initiative).where(col(Initiative.id) == first.id).values(people_targeted=99_999)
    )
    session.commit()
    session.refresh(first)
    withdraw_initiative(
        session=session,
        actor=world.staff,
        initiative_id=initiatives[1].id or 0,
        expected_version=initiatives[1].version,
    )
    _publish(session, world, areas=["PT-13"])  # a new one

    again = published_report(session=session, slug=report.slug)
    after = report_figures(session=session, report=again)
    assert after.key == before.key
    assert after.by_district == before.by_district
    assert after.category_district == before.category_district
    # while a new report sees the changes
    later = report_figures(session=session, report=_report(session, world, slug="later"))
    assert later.key.people_targeted == 99_999 + 40 + 1000  # the health one is withdrawn
    assert later.changes.withdrawn == 1
    assert later.previous_slug == report.slug
    assert later.change("active") == 0  # one withdrawn, one new
    assert later.change("people_targeted") == 99_999 + 40 + 1000 - 1290


def test_two_reports_compare_by_category_and_district(session: Session, world: World) -> None:
    _registry(session, world)
    first = _report(session, world, slug="first")
    _publish(session, world, areas=["PT-13"], category="health")
    _publish(session, world, areas=["PT-13"], category="health")
    second = _report(session, world, slug="second")
    by_category, by_district = compare_reports(session=session, before=first, after=second)
    assert [(m.key, m.before, m.after) for m in by_category] == [("health", 1, 3)]
    assert [(m.key, m.change) for m in by_district] == [("PT-13", 2)]


def test_workflow_sanitizes_highlights_and_audits_every_step(
    session: Session, world: World
) -> None:
    report = _report(session, world)
    rid = report.id or 0
    report = edit_highlights(
        session=session,
        actor=world.staff,
        report_id=rid,
        markdown="**Food** [ok](https://example.pt/a) [bad](javascript:x()) <script>x()</script>",
        expected_version=report.version,
    )
    assert "<strong>Food</strong>" in report.highlights_html
    assert '<a href="https://example.pt/a"' in report.highlights_html
    assert 'href="javascript' not in report.highlights_html
    assert "<script" not in report.highlights_html
    with pytest.raises(InvalidInput):
        release(session=session, actor=world.staff, report_id=rid, public=True)
    sign_off(session=session, actor=world.staff, report_id=rid)
    with pytest.raises(InvalidInput):
        edit_highlights(session=session, actor=world.staff, report_id=rid, markdown="late")
    with pytest.raises(NotFound):
        published_report(session=session, slug=report.slug)
    report = release(session=session, actor=world.staff, report_id=rid, public=False)
    assert report.state is ReportState.INTERNAL
    with pytest.raises(NotFound):  # internal reports never reach the public
        published_report(session=session, slug=report.slug)
    actions = session.exec(
        select(AuditEntry.action).where(
            col(AuditEntry.entity_type) == "report", col(AuditEntry.entity_id) == str(rid)
        )
    ).all()
    assert sorted(a[0] for a in actions) == ["create", "edit", "keep_internal", "sign_off"]


def test_partners_and_the_public_are_refused(session: Session, world: World) -> None:
    report = _report(session, world)
    rid = report.id or 0
    admin = make_principal(session, role=Role.ADMIN)
    for actor in (world.partner, None):
        with pytest.raises(PermissionDenied):
            create_report(
                session=session,
                actor=actor,
                period_start=TODAY,
                cutoff=datetime.now(UTC),
                slug="x",
            )
        with pytest.raises(PermissionDenied):
            edit_highlights(session=session, actor=actor, report_id=rid, markdown="x")
        with pytest.raises(PermissionDenied):
            sign_off(session=session, actor=actor, report_id=rid)
        with pytest.raises(PermissionDenied):
            release(session=session, actor=actor, report_id=rid, public=True)
    assert sign_off(session=session, actor=admin, report_id=rid).state is ReportState.SIGNED_OFF
    assert session.get(Report, rid) is not None


def test_week_bounds_and_input_checks(session: Session, world: World) -> None:
    assert week_bounds("2026-W49") == (
        date(2026, 11, 30),
        datetime(2026, 12, 6, 23, 59, 59, tzinfo=UTC),
    )
    for bad in ("2026-49", "2026-W54", ""):
        with pytest.raises(InvalidInput):
            week_bounds(bad)
    _report(session, world, slug="same")
    with pytest.raises(InvalidInput):
        _report(session, world, slug="same")
    with pytest.raises(InvalidInput):
        _report(session, world, slug="no spaces")
    future = _report(session, world, slug="future", cutoff=datetime.now(UTC) + timedelta(days=3))
    assert future.cutoff <= datetime.now(UTC)  # a week still running is cut off now
