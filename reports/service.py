"""The report workflow: create (snapshot) → edit highlights → sign off → publish or keep
internal. Staff only: every function checks the actor and audits its write."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from markdown_it import MarkdownIt
from sqlmodel import Session, col, select

from feeds.sanitize import clean_html
from hub import settings
from hub.audit import record_change, snapshot
from hub.auth import Principal, require_staff
from hub.errors import InvalidInput, NotFound
from hub.i18n import _
from hub.records import check_version, utcnow
from reports.models import Report, ReportState
from reports.snapshot import take_snapshot

ENTITY = "report"
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_SLUG = re.compile(r"^[A-Za-z0-9-]{1,40}$")
# Raw HTML in the Markdown is not passed through; nh3 cleans what Markdown makes.
_markdown = MarkdownIt("commonmark", {"html": False})


def week_bounds(week: str) -> tuple[date, datetime]:
    """``2026-W49`` -> (its Monday, the end of its Sunday in UTC)."""
    match = _WEEK.match(week.strip())
    if not match:
        raise InvalidInput(_("Week: write it as 2026-W49."), field="week")
    try:
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as err:
        raise InvalidInput(_("Week: write it as 2026-W49."), field="week") from err
    sunday_end = datetime.combine(monday + timedelta(days=6), datetime.max.time(), tzinfo=UTC)
    return monday, sunday_end.replace(microsecond=0)


def highlights_html(markdown: str) -> str:
    """Staff's Markdown as sanitized HTML (the feeds' allowlist, through nh3)."""
    return clean_html(_markdown.render(markdown or ""))


def create_report(
    *,
    session: Session,
    actor: Principal | None,
    period_start: date,
    cutoff: datetime,
    slug: str,
    now: datetime | None = None,
) -> Report:
    """A draft report for the period, with its snapshot taken now (see reports.snapshot:
    the cut-off may not be in the future)."""
    actor = require_staff(actor)
    now = now or utcnow()
    slug = slug.strip()
    if not _SLUG.match(slug):
        raise InvalidInput(_("Address: use letters, digits and hyphens only."), field="slug")
    if cutoff.tzinfo is None:
        cutoff = cutoff.replace(tzinfo=UTC)
    cutoff = min(cutoff, now)  # a week still running is cut off now
    if period_start > cutoff.date():
        raise InvalidInput(_("The period starts after its cut-off."), field="period_start")
    if session.exec(select(Report.id).where(col(Report.slug) == slug)).first() is not None:
        raise InvalidInput(
            _("A report with the address {slug} exists already.").format(slug=slug), field="slug"
        )
    report = Report(
        slug=slug,
        period_start=period_start,
        period_end=cutoff.date(),
        cutoff=cutoff,
        demo=settings.demo_mode(),
        created_by=actor.label,
        updated_by=actor.label,
    )
    session.add(report)
    session.flush()
    take_snapshot(session=session, report=report)
    record_change(
        session=session,
        actor=actor,
        action="create",
        entity_type=ENTITY,
        entity_id=report.id,
        after=snapshot(report),
        summary=f"report {slug}, cut-off {cutoff.isoformat()}",
    )
    session.commit()
    session.refresh(report)
    return report


def create_weekly_report(
    *, session: Session, actor: Principal | None, week: str, now: datetime | None = None
) -> Report:
    monday, cutoff = week_bounds(week)
    return create_report(
        session=session, actor=actor, period_start=monday, cutoff=cutoff, slug=week, now=now
    )


def get_report(*, session: Session, actor: Principal | None, report_id: int) -> Report:
    require_staff(actor)
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound(_("No such report."))
    return report


def list_reports(*, session: Session, actor: Principal | None) -> list[Report]:
    require_staff(actor)
    return list(session.exec(select(Report).order_by(col(Report.cutoff).desc())).all())


def _save(
    *, session: Session, actor: Principal, report: Report, action: str, before: dict[str, Any]
) -> Report:
    report.updated_at = utcnow()
    report.updated_by = actor.label
    session.add(report)
    record_change(
        session=session,
        actor=actor,
        action=action,
        entity_type=ENTITY,
        entity_id=report.id,
        before=before,
        after=snapshot(report),
    )
    session.commit()
    session.refresh(report)
    return report


def _editable(
    session: Session, actor: Principal | None, report_id: int, expected_version: int | None
) -> tuple[Principal, Report]:
    actor = require_staff(actor)
    report = get_report(session=session, actor=actor, report_id=report_id)
    check_version(report, expected_version)
    return actor, report


def edit_highlights(
    *,
    session: Session,
    actor: Principal | None,
    report_id: int,
    markdown: str,
    expected_version: int | None = None,
) -> Report:
    actor, report = _editable(session, actor, report_id, expected_version)
    if report.state is not ReportState.DRAFT:
        raise InvalidInput(_("Only a draft's highlights can be edited."), field="highlights")
    before = snapshot(report)
    report.highlights_md = markdown.strip()
    report.highlights_html = highlights_html(report.highlights_md)
    return _save(session=session, actor=actor, report=report, action="edit", before=before)


def sign_off(
    *,
    session: Session,
    actor: Principal | None,
    report_id: int,
    expected_version: int | None = None,
) -> Report:
    actor, report = _editable(session, actor, report_id, expected_version)
    if report.state is not ReportState.DRAFT:
        raise InvalidInput(_("This report is signed off already."), field="state")
    before = snapshot(report)
    report.state = ReportState.SIGNED_OFF
    report.signed_off_by = actor.label
    report.signed_off_at = utcnow()
    return _save(session=session, actor=actor, report=report, action="sign_off", before=before)


def release(
    *,
    session: Session,
    actor: Principal | None,
    report_id: int,
    public: bool,
    expected_version: int | None = None,
) -> Report:
    """Publish a signed-off report on the public site, or keep it internal."""
    actor, report = _editable(session, actor, report_id, expected_version)
    if report.state is not ReportState.SIGNED_OFF:
        raise InvalidInput(_("Sign the report off before releasing it."), field="state")
    before = snapshot(report)
    report.state = ReportState.PUBLISHED if public else ReportState.INTERNAL
    if public:
        report.published_at = utcnow()
    return _save(
        session=session,
        actor=actor,
        report=report,
        action="publish" if public else "keep_internal",
        before=before,
    )


# --- the public side: published reports only, no actor -------------------------------


def published_reports(*, session: Session) -> list[Report]:
    return list(
        session.exec(
            select(Report)
            .where(col(Report.state) == ReportState.PUBLISHED)
            .order_by(col(Report.cutoff).desc())
        ).all()
    )


def published_report(*, session: Session, slug: str) -> Report:
    report = session.exec(
        select(Report).where(col(Report.slug) == slug, col(Report.state) == ReportState.PUBLISHED)
    ).first()
    if report is None:
        raise NotFound(_("No published report at this address."))
    return report
