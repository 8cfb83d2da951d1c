"""org_identifier: an organisation's optional org-id.guide identifier (issue 16), written
as the IATI export's participating-org/@ref.

Revision ID: 0009_org_identifier
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009_org_identifier"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not batch mode: SQLite adds and drops a column in place, and a batch
# copy of the table would lose the functional index uq_organisation_name_lower.
def upgrade() -> None:
    op.add_column(
        "organisation",
        sa.Column("org_identifier", sa.String(length=120), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_column("organisation", "org_identifier")
