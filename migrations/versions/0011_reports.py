"""reports: the weekly situation report and its snapshot tables

Revision ID: 0011_reports
Revises: 0001
Create Date: 2026-12-02

A branch of its own from 0001 (``hub.db.migrate`` upgrades every head): the snapshot
tables copy initiative fields and refer to no other capability's table. Issue 20.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_reports"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = ("draft", "signed_off", "published", "internal")


def _report_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["report_id"], ["report.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(*_STATES, name="reportstate", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("highlights_md", sa.Text(), nullable=False),
        sa.Column("highlights_html", sa.Text(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("questions_answered", sa.Integer(), nullable=False),
        sa.Column("measures_in_force", sa.Integer(), nullable=False),
        sa.Column("feed_items_published", sa.Integer(), nullable=False),
        sa.Column("overlap_decisions", sa.Integer(), nullable=False),
        sa.Column("overlap_duplicates", sa.Integer(), nullable=False),
        sa.Column("signed_off_by", sa.String(), nullable=False),
        sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_report_slug", "report", ["slug"], unique=True)
    op.create_index("ix_report_cutoff", "report", ["cutoff"])
    op.create_index("ix_report_state", "report", ["state"])
    op.create_table(
        "report_initiative",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("review_state", sa.String(length=20), nullable=False),
        sa.Column("is_national", sa.Boolean(), nullable=False),
        sa.Column("start", sa.Date(), nullable=True),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("people_targeted", sa.Integer(), nullable=True),
        sa.Column("people_reached", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_new", sa.Boolean(), nullable=False),
        sa.Column("is_ended", sa.Boolean(), nullable=False),
        sa.Column("is_overdue", sa.Boolean(), nullable=False),
        sa.Column("is_withdrawn", sa.Boolean(), nullable=False),
        _report_fk(),
        sa.PrimaryKeyConstraint("report_id", "initiative_id"),
    )
    op.create_index(
        "ix_report_initiative_active", "report_initiative", ["report_id", "is_active", "category"]
    )
    op.create_table(
        "report_area",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("district_code", sa.String(length=32), nullable=True),
        _report_fk(),
        sa.PrimaryKeyConstraint("report_id", "initiative_id", "area_code"),
    )
    op.create_index("ix_report_area_district", "report_area", ["report_id", "district_code"])
    op.create_table(
        "report_channel",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        _report_fk(),
        sa.PrimaryKeyConstraint("report_id", "initiative_id", "channel"),
    )
    op.create_table(
        "report_target_group",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        _report_fk(),
        sa.PrimaryKeyConstraint("report_id", "initiative_id", "code"),
    )
    op.create_table(
        "report_gap",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("area_name", sa.String(length=200), nullable=False),
        sa.Column("gap", sa.Float(), nullable=True),
        sa.Column("people_affected", sa.Float(), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        _report_fk(),
        sa.PrimaryKeyConstraint("report_id", "rank"),
    )


def downgrade() -> None:
    op.drop_table("report_gap")
    op.drop_table("report_target_group")
    op.drop_table("report_channel")
    op.drop_index("ix_report_area_district", "report_area")
    op.drop_table("report_area")
    op.drop_index("ix_report_initiative_active", "report_initiative")
    op.drop_table("report_initiative")
    op.drop_index("ix_report_state", "report")
    op.drop_index("ix_report_cutoff", "report")
    op.drop_index("ix_report_slug", "report")
    op.drop_table("report")
