"""A report and the snapshot tables it is drafted from.

The snapshot copies, at creation, what the report needs from the registry into tables
keyed by ``report_id`` (one INSERT ... SELECT each, see ``reports.snapshot``). Every
figure is then aggregated in SQL from those tables, so a report never changes when the
records change later, and two reports compare by SQL.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from hub.i18n import N_
from hub.records import UTCDateTime, Versioned, enum_type, utcnow


class ReportState(enum.StrEnum):
    DRAFT = "draft"  # staff edit the highlights
    SIGNED_OFF = "signed_off"  # content frozen; waiting to be published or kept internal
    PUBLISHED = "published"  # on the public site and in the open-data package
    INTERNAL = "internal"  # final, for the office and government only


REPORT_STATE_LABELS = {
    ReportState.DRAFT: N_("Draft"),
    ReportState.SIGNED_OFF: N_("Signed off"),
    ReportState.PUBLISHED: N_("Published"),
    ReportState.INTERNAL: N_("Internal"),
}


class Report(Versioned, SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=40, unique=True, index=True)  # "2026-W49": its address
    period_start: date
    period_end: date  # the cut-off's day
    cutoff: datetime = Field(sa_type=UTCDateTime, index=True)
    state: ReportState = Field(
        default=ReportState.DRAFT, sa_type=enum_type(ReportState), index=True
    )
    highlights_md: str = Field(default="", sa_type=Text)  # what staff write (Markdown)
    highlights_html: str = Field(default="", sa_type=Text)  # sanitized, what pages show
    demo: bool = False  # drafted from demo data: every page says so
    # Counts taken from live tables at the snapshot (not per-initiative): answers,
    # measures, feed items, overlap decisions in the period.
    questions_answered: int = 0
    measures_in_force: int = 0
    feed_items_published: int = 0
    overlap_decisions: int = 0
    overlap_duplicates: int = 0
    signed_off_by: str = ""
    signed_off_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = ""
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str = ""


class ReportInitiative(SQLModel, table=True):
    """One initiative as it stood at the report's snapshot, with its flags decided then."""

    __tablename__ = "report_initiative"
    __table_args__ = (Index("ix_report_initiative_active", "report_id", "is_active", "category"),)

    report_id: int = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    initiative_id: int = Field(primary_key=True)
    code: str = Field(max_length=80)
    title: str = Field(max_length=200)
    organisation_id: int
    category: str = Field(max_length=40)
    status: str = Field(max_length=20)
    review_state: str = Field(max_length=20)
    is_national: bool = False
    start: date | None = None
    end: date | None = None
    people_targeted: int | None = None
    people_reached: int | None = None
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    is_active: bool = False  # in force on the cut-off day (see docs/reports.md)
    is_new: bool = False  # published in the period
    is_ended: bool = False  # its end fell in the period
    is_overdue: bool = False  # live but not confirmed for HUB_CONFIRM_AFTER_DAYS
    is_withdrawn: bool = False  # withdrawn in the period


class ReportArea(SQLModel, table=True):
    """Where a snapshot initiative acts, with the district each area lies in."""

    __tablename__ = "report_area"
    __table_args__ = (Index("ix_report_area_district", "report_id", "district_code"),)

    report_id: int = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    initiative_id: int = Field(primary_key=True)
    area_code: str = Field(max_length=32, primary_key=True)
    district_code: str | None = Field(default=None, max_length=32)


class ReportChannel(SQLModel, table=True):
    __tablename__ = "report_channel"

    report_id: int = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    initiative_id: int = Field(primary_key=True)
    channel: str = Field(max_length=20, primary_key=True)


class ReportTargetGroup(SQLModel, table=True):
    __tablename__ = "report_target_group"

    report_id: int = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    initiative_id: int = Field(primary_key=True)
    code: str = Field(max_length=40, primary_key=True)


class ReportGap(SQLModel, table=True):
    """The largest connectivity gaps at the snapshot (the gap map's ranking)."""

    __tablename__ = "report_gap"

    report_id: int = Field(foreign_key="report.id", primary_key=True, ondelete="CASCADE")
    rank: int = Field(primary_key=True)
    area_code: str = Field(max_length=32)
    area_name: str = Field(max_length=200)
    gap: float | None = None
    people_affected: float | None = None
    coverage: float | None = None
    is_demo: bool = False
