"""Taking a report's snapshot: one INSERT ... SELECT per snapshot table.

What "as of the cut-off" means here (docs/reports.md): the registry keeps each
initiative's versions as JSON, which SQL cannot aggregate at 100k rows, so the snapshot
copies the records as they stand when the report is created, for a cut-off that is not
in the future; records first created after the cut-off are left out. From then on the
report reads only its snapshot, so later edits never change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, insert, literal, or_, select
from sqlmodel import Session, col

from answers.models import Measure, Question, QuestionState
from connectivity.gaps import area_gaps
from feeds.models import FeedItem, ItemStatus
from geo.models import Area, AreaLevel
from initiatives.models import (
    Initiative,
    InitiativeArea,
    InitiativeChannel,
    InitiativeTargetGroup,
    ReviewState,
)
from initiatives.overlap_models import Decision, OverlapDecision
from initiatives.queries import LIVE_STATUSES, end_date, in_force, published_reach, unconfirmed_days
from reports.models import (
    Report,
    ReportArea,
    ReportChannel,
    ReportGap,
    ReportInitiative,
    ReportTargetGroup,
)

TOP_GAPS = 5


@dataclass(frozen=True)
class Period:
    start: date
    cutoff: datetime

    @property
    def end(self) -> date:
        return self.cutoff.date()

    @property
    def start_at(self) -> datetime:
        """The period's first moment (UTC midnight), for comparing with timestamps."""
        return datetime.combine(self.start, time.min, tzinfo=UTC)


def _table(model: type) -> object:
    return model.__table__  # type: ignore[attr-defined]


def copy_initiatives(*, session: Session, report_id: int, period: Period) -> None:
    """The published initiatives (and those withdrawn in the period) with their flags."""
    day = period.end
    start = func.coalesce(col(Initiative.actual_start), col(Initiative.planned_start))
    ends = end_date()
    published = col(Initiative.review_state) == ReviewState.PUBLISHED
    in_period = and_(
        col(Initiative.updated_at) >= period.start_at, col(Initiative.updated_at) <= period.cutoff
    )
    withdrawn = and_(col(Initiative.review_state) == ReviewState.WITHDRAWN, in_period)
    live = col(Initiative.status).in_(LIVE_STATUSES)
    # The freshness rule of initiatives.queries (reminders, the staff flag), at the cut-off.
    stale_before = period.cutoff - timedelta(days=unconfirmed_days())
    overdue = and_(
        published,
        live,
        or_(
            and_(col(Initiative.planned_end).is_not(None), col(Initiative.planned_end) < day),
            col(Initiative.last_confirmed_at).is_(None),
            col(Initiative.last_confirmed_at) < stale_before,
        ),
    )
    active = and_(published, in_force(day), or_(start.is_(None), start <= day))

    def flag(condition: ColumnElement[bool]) -> ColumnElement[bool]:
        return case((condition, True), else_=False)

    source = select(
        literal(report_id),
        col(Initiative.id),
        col(Initiative.code),
        col(Initiative.title),
        col(Initiative.lead_organisation_id),
        col(Initiative.category),
        col(Initiative.status),
        col(Initiative.review_state),
        col(Initiative.is_national),
        start,
        ends,
        col(Initiative.people_targeted),
        col(Initiative.people_reached),
        col(Initiative.published_at),
        col(Initiative.last_confirmed_at),
        col(Initiative.updated_at),
        flag(active),
        flag(
            and_(
                published,
                col(Initiative.published_at) >= period.start_at,
                col(Initiative.published_at) <= period.cutoff,
            )
        ),
        flag(and_(published, ends >= period.start, ends <= day)),
        flag(overdue),
        flag(withdrawn),
    ).where(or_(published, withdrawn), col(Initiative.created_at) <= period.cutoff)
    columns = [
        "report_id",
        "initiative_id",
        "code",
        "title",
        "organisation_id",
        "category",
        "status",
        "review_state",
        "is_national",
        "start",
        "end",
        "people_targeted",
        "people_reached",
        "published_at",
        "last_confirmed_at",
        "updated_at",
        "is_active",
        "is_new",
        "is_ended",
        "is_overdue",
        "is_withdrawn",
    ]
    session.execute(insert(_table(ReportInitiative)).from_select(columns, source))  # type: ignore[arg-type]


def _in_snapshot(report_id: int, initiative_id: Any) -> ColumnElement[bool]:
    return and_(
        col(ReportInitiative.report_id) == report_id,
        col(ReportInitiative.initiative_id) == initiative_id,
    )


def copy_side_tables(*, session: Session, report_id: int) -> None:
    """Areas (with their district), channels and target groups of the copied initiatives."""
    district = case(
        (col(Area.level) == AreaLevel.DISTRICT, col(Area.code)),
        (col(Area.level) == AreaLevel.MUNICIPALITY, col(Area.parent_code)),
        else_=None,
    )
    areas = (
        select(
            literal(report_id),
            col(InitiativeArea.initiative_id),
            col(InitiativeArea.area_code),
            district,
        )
        .join(ReportInitiative, _in_snapshot(report_id, InitiativeArea.initiative_id))
        .outerjoin(Area, col(Area.code) == col(InitiativeArea.area_code))
    )
    session.execute(
        insert(_table(ReportArea)).from_select(  # type: ignore[arg-type]
            ["report_id", "initiative_id", "area_code", "district_code"], areas
        )
    )
    channels = select(
        literal(report_id), col(InitiativeChannel.initiative_id), col(InitiativeChannel.channel)
    ).join(ReportInitiative, _in_snapshot(report_id, InitiativeChannel.initiative_id))
    session.execute(
        insert(_table(ReportChannel)).from_select(  # type: ignore[arg-type]
            ["report_id", "initiative_id", "channel"], channels
        )
    )
    groups = select(
        literal(report_id),
        col(InitiativeTargetGroup.initiative_id),
        col(InitiativeTargetGroup.code),
    ).join(ReportInitiative, _in_snapshot(report_id, InitiativeTargetGroup.initiative_id))
    session.execute(
        insert(_table(ReportTargetGroup)).from_select(  # type: ignore[arg-type]
            ["report_id", "initiative_id", "code"], groups
        )
    )


def copy_gaps(*, session: Session, report_id: int, top: int = TOP_GAPS) -> None:
    """The districts with the largest connectivity gap (the gap map's own ranking)."""
    gaps = [
        gap
        for gap in area_gaps(
            session=session, level="district", initiatives=published_reach(session=session)
        )
        if gap.known
    ][:top]
    rows = [
        {
            "report_id": report_id,
            "rank": rank,
            "area_code": gap.code,
            "area_name": gap.name,
            "gap": gap.gap,
            "people_affected": gap.people_affected,
            "coverage": gap.coverage,
            "is_demo": any(r.reading is not None and r.reading.is_demo for r in gap.readings),
        }
        for rank, gap in enumerate(gaps, start=1)
    ]
    if rows:
        session.execute(insert(_table(ReportGap)), rows)  # type: ignore[arg-type]


def public_counts(*, session: Session, period: Period) -> dict[str, int]:
    """Public information and overlap decisions in the period, counted on the live tables
    once, at the snapshot (these records are not copied)."""
    day = period.end

    def count(*conditions: ColumnElement[bool]) -> int:
        return int(session.execute(select(func.count()).where(*conditions)).scalar_one())

    def within(column: Any) -> ColumnElement[bool]:
        return and_(column >= period.start_at, column <= period.cutoff)

    return {
        "questions_answered": count(
            col(Question.state) == QuestionState.PUBLISHED, within(col(Question.published_at))
        ),
        "measures_in_force": count(
            col(Measure.published).is_(True),
            or_(col(Measure.in_force_from).is_(None), col(Measure.in_force_from) <= day),
            or_(col(Measure.in_force_to).is_(None), col(Measure.in_force_to) >= day),
        ),
        "feed_items_published": count(
            col(FeedItem.status) == ItemStatus.PUBLISHED, within(col(FeedItem.first_seen_at))
        ),
        "overlap_decisions": count(within(col(OverlapDecision.decided_at))),
        "overlap_duplicates": count(
            within(col(OverlapDecision.decided_at)),
            col(OverlapDecision.decision) == Decision.DUPLICATE,
        ),
    }


def take_snapshot(*, session: Session, report: Report) -> None:
    """Fill the snapshot tables of ``report`` (flushed, id set) inside the caller's
    transaction."""
    assert report.id is not None
    period = Period(start=report.period_start, cutoff=report.cutoff)
    copy_initiatives(session=session, report_id=report.id, period=period)
    copy_side_tables(session=session, report_id=report.id)
    copy_gaps(session=session, report_id=report.id)
    for name, value in public_counts(session=session, period=period).items():
        setattr(report, name, value)
