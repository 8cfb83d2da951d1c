"""outreach: SMS conversations and counts, subscriptions and the digests sent

Revision ID: 0010_outreach
Revises: 0001
Create Date: 2026-12-02

A branch of its own from 0001 (``hub.db.migrate`` upgrades every head): the tables refer
to no other capability's. Issue 19.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_outreach"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(*values: str, name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "outreach_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", _enum("email", "sms", name="subscriptionchannel"), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column(
            "topic", _enum("all", "offers", "measures", name="subscriptiontopic"), nullable=False
        ),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("state", _enum("pending", "active", name="subscriptionstate"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("covered_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "address_hash", "area_code", "topic"),
    )
    with op.batch_alter_table("outreach_subscription") as batch:
        batch.create_index("ix_outreach_subscription_address_hash", ["address_hash"])
        batch.create_index("ix_outreach_subscription_area_code", ["area_code"])
        batch.create_index("ix_outreach_subscription_state", ["state"])
        batch.create_index("ix_outreach_subscription_last_activity_at", ["last_activity_at"])
    op.create_table(
        "outreach_digest_sent",
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["outreach_subscription.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("subscription_id", "digest"),
    )
    op.create_table(
        "outreach_sms_conversation",
        sa.Column("sender_hash", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("pages", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sender_hash"),
    )
    op.create_index(
        "ix_outreach_sms_conversation_updated_at", "outreach_sms_conversation", ["updated_at"]
    )
    op.create_table(
        "outreach_sms_count",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("keyword", sa.String(length=20), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "keyword", "area_code"),
    )


def downgrade() -> None:
    op.drop_table("outreach_sms_count")
    op.drop_index("ix_outreach_sms_conversation_updated_at", "outreach_sms_conversation")
    op.drop_table("outreach_sms_conversation")
    op.drop_table("outreach_digest_sent")
    op.drop_table("outreach_subscription")
