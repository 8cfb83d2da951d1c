"""api indexes: the API's list filters, each in the list's order (updated_at, id)

Revision ID: 0011_api_indexes
Revises: 0002_registry
Create Date: 2026-12-02

``GET /initiatives`` (and the public list) pages by ``(updated_at, id)`` after an exact
filter; an index of ``(filter, updated_at, id)`` gives a page without sorting every
match: a category holds thousands of rows at 100k initiatives. A branch from the
migration that created the table (``hub.db.migrate`` upgrades every head). Issue 17.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011_api_indexes"
down_revision: str | None = "0002_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_initiative_category_updated": ["category", "updated_at", "id"],
    "ix_initiative_status_updated": ["status", "updated_at", "id"],
    "ix_initiative_review_updated": ["review_state", "updated_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "initiative", columns, if_not_exists=True)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="initiative", if_exists=True)
