"""geo: postal codes -> municipality (issue 19, SMS ``INFO <postal code>``)

Revision ID: 0011_postal_codes
Revises: 0004_connectivity
Create Date: 2026-12-02

On the geography branch (after the area table); rows are loaded from
data/geo/postal_codes.csv on start, or an office's own file by
``python -m hub postal-codes load FILE``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_postal_codes"
down_revision: str | None = "0004_connectivity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "geo_postal_code",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("geo_postal_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_geo_postal_code_area_code"), ["area_code"])


def downgrade() -> None:
    with op.batch_alter_table("geo_postal_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_geo_postal_code_area_code"))
    op.drop_table("geo_postal_code")
