"""A report's figures, aggregated in SQL from its snapshot tables (GROUP BY, never a
loop over rows), and the comparison of two reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func
from sqlmodel import Session, col, select

from reports.models import Report, ReportArea, ReportChannel, ReportGap, ReportInitiative

# Channels that reach people without the web (the gap's "offline reach").
OFFLINE_CHANNELS = ("phone", "sms", "in_person", "broadcast")
NATIONAL = "national"  # the district key of initiatives that act country-wide


@dataclass(frozen=True)
class KeyFigures:
    active: int
    partners: int
    areas: int
    people_targeted: int
    people_reached: int

    def as_dict(self) -> dict[str, int]:
        return {
            "active": self.active,
            "partners": self.partners,
            "areas": self.areas,
            "people_targeted": self.people_targeted,
            "people_reached": self.people_reached,
        }


@dataclass(frozen=True)
class Changes:
    new: int
    ended: int
    overdue: int
    withdrawn: int


@dataclass(frozen=True)
class GapRow:
    rank: int
    area_code: str
    area_name: str
    gap: float | None
    people_affected: float | None
    offline_offers: int  # active initiatives reaching the area by an offline channel
    is_demo: bool


@dataclass
class Figures:
    report_id: int
    key: KeyFigures
    previous: KeyFigures | None
    previous_slug: str | None
    changes: Changes
    by_district: dict[str, int]  # district code (or "national") -> active initiatives
    by_category: dict[str, int]
    category_district: dict[tuple[str, str], int]
    gaps: list[GapRow] = field(default_factory=list)

    def change(self, name: str) -> int | None:
        if self.previous is None:
            return None
        return self.key.as_dict()[name] - self.previous.as_dict()[name]


def _active(report_id: int) -> ColumnElement[bool]:
    return and_(col(ReportInitiative.report_id) == report_id, col(ReportInitiative.is_active))


def key_figures(*, session: Session, report_id: int) -> KeyFigures:
    row = session.execute(
        select(
            func.count(),
            func.count(func.distinct(col(ReportInitiative.organisation_id))),
            func.coalesce(func.sum(col(ReportInitiative.people_targeted)), 0),
            func.coalesce(func.sum(col(ReportInitiative.people_reached)), 0),
        ).where(_active(report_id))
    ).one()
    areas = session.execute(
        select(func.count(func.distinct(col(ReportArea.area_code))))
        .select_from(ReportArea)
        .join(
            ReportInitiative,
            and_(
                col(ReportInitiative.report_id) == col(ReportArea.report_id),
                col(ReportInitiative.initiative_id) == col(ReportArea.initiative_id),
            ),
        )
        .where(_active(report_id))
    ).scalar_one()
    return KeyFigures(
        active=int(row[0]),
        partners=int(row[1]),
        areas=int(areas),
        people_targeted=int(row[2]),
        people_reached=int(row[3]),
    )


def changes(*, session: Session, report_id: int) -> Changes:
    def total(flag: Any) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((flag, 1), else_=0)), 0)

    row = session.execute(
        select(
            total(col(ReportInitiative.is_new)),
            total(col(ReportInitiative.is_ended)),
            total(col(ReportInitiative.is_overdue)),
            total(col(ReportInitiative.is_withdrawn)),
        ).where(col(ReportInitiative.report_id) == report_id)
    ).one()
    return Changes(new=int(row[0]), ended=int(row[1]), overdue=int(row[2]), withdrawn=int(row[3]))


def _district_key() -> object:
    return func.coalesce(col(ReportArea.district_code), NATIONAL)


def presence(
    *, session: Session, report_id: int
) -> tuple[dict[str, int], dict[str, int], dict[tuple[str, str], int]]:
    """Active initiatives per district, per category, and per category × district (an
    initiative in two municipalities of one district counts once there)."""
    joined = and_(
        col(ReportArea.report_id) == col(ReportInitiative.report_id),
        col(ReportArea.initiative_id) == col(ReportInitiative.initiative_id),
        col(ReportArea.district_code).is_not(None),
    )
    pairs = session.execute(
        select(
            col(ReportInitiative.category),
            col(ReportArea.district_code),
            func.count(func.distinct(col(ReportInitiative.initiative_id))),
        )
        .select_from(ReportInitiative)
        .join(ReportArea, joined)
        .where(_active(report_id))
        .group_by(col(ReportInitiative.category), col(ReportArea.district_code))
    ).all()
    districts = session.execute(
        select(
            col(ReportArea.district_code),
            func.count(func.distinct(col(ReportInitiative.initiative_id))),
        )
        .select_from(ReportInitiative)
        .join(ReportArea, joined)
        .where(_active(report_id))
        .group_by(col(ReportArea.district_code))
    ).all()
    national = session.execute(
        select(func.count()).where(_active(report_id), col(ReportInitiative.is_national))
    ).scalar_one()
    categories = session.execute(
        select(col(ReportInitiative.category), func.count())
        .where(_active(report_id))
        .group_by(col(ReportInitiative.category))
    ).all()
    by_district = {str(code): int(n) for code, n in districts}
    if national:
        by_district[NATIONAL] = int(national)
    return (
        by_district,
        {str(code): int(n) for code, n in categories},
        {(str(cat), str(code)): int(n) for cat, code, n in pairs},
    )


def gap_rows(*, session: Session, report_id: int) -> list[GapRow]:
    gaps = session.exec(
        select(ReportGap).where(col(ReportGap.report_id) == report_id).order_by(col(ReportGap.rank))
    ).all()
    if not gaps:
        return []
    codes = [gap.area_code for gap in gaps]
    offline = dict(
        session.execute(
            select(
                col(ReportArea.district_code),
                func.count(func.distinct(col(ReportChannel.initiative_id))),
            )
            .select_from(ReportArea)
            .join(
                ReportChannel,
                and_(
                    col(ReportChannel.report_id) == col(ReportArea.report_id),
                    col(ReportChannel.initiative_id) == col(ReportArea.initiative_id),
                ),
            )
            .join(
                ReportInitiative,
                and_(
                    col(ReportInitiative.report_id) == col(ReportArea.report_id),
                    col(ReportInitiative.initiative_id) == col(ReportArea.initiative_id),
                ),
            )
            .where(
                col(ReportArea.report_id) == report_id,
                col(ReportArea.district_code).in_(codes),
                col(ReportChannel.channel).in_(OFFLINE_CHANNELS),
                col(ReportInitiative.is_active),
            )
            .group_by(col(ReportArea.district_code))
        ).all()
    )
    return [
        GapRow(
            rank=gap.rank,
            area_code=gap.area_code,
            area_name=gap.area_name,
            gap=gap.gap,
            people_affected=gap.people_affected,
            offline_offers=int(offline.get(gap.area_code, 0)),
            is_demo=gap.is_demo,
        )
        for gap in gaps
    ]


def previous_report(*, session: Session, report: Report) -> Report | None:
    """The report with the latest cut-off before this one's (any state but draft)."""
    return session.exec(
        select(Report)
        .where(
            col(Report.cutoff) < report.cutoff,
            col(Report.id) != report.id,
            col(Report.state) != "draft",
        )
        .order_by(col(Report.cutoff).desc())
        .limit(1)
    ).first()


def report_figures(*, session: Session, report: Report) -> Figures:
    assert report.id is not None
    previous = previous_report(session=session, report=report)
    by_district, by_category, category_district = presence(session=session, report_id=report.id)
    return Figures(
        report_id=report.id,
        key=key_figures(session=session, report_id=report.id),
        previous=None
        if previous is None or previous.id is None
        else key_figures(session=session, report_id=previous.id),
        previous_slug=None if previous is None else previous.slug,
        changes=changes(session=session, report_id=report.id),
        by_district=by_district,
        by_category=by_category,
        category_district=category_district,
        gaps=gap_rows(session=session, report_id=report.id),
    )


@dataclass(frozen=True)
class Moved:
    """Active initiatives per key in report A and report B."""

    key: str
    before: int
    after: int

    @property
    def change(self) -> int:
        return self.after - self.before


def _moved(before: dict[str, int], after: dict[str, int]) -> list[Moved]:
    keys = sorted(set(before) | set(after))
    rows = [Moved(key, before.get(key, 0), after.get(key, 0)) for key in keys]
    return sorted((row for row in rows if row.change), key=lambda row: (-abs(row.change), row.key))


def compare_reports(
    *, session: Session, before: Report, after: Report
) -> tuple[list[Moved], list[Moved]]:
    """What moved between two reports: (by category, by district), largest moves first."""
    assert before.id is not None and after.id is not None
    d_before, c_before, _ = presence(session=session, report_id=before.id)
    d_after, c_after, _ = presence(session=session, report_id=after.id)
    return _moved(c_before, c_after), _moved(d_before, d_after)
