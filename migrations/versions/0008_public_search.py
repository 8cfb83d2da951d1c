"""public search in Portuguese: stems of every initiative's search text (SQLite) and a
`portuguese` text search index (PostgreSQL)

Revision ID: 0008_public_search
Revises: 0005_overlaps
Create Date: 2026-12-02

The public list finds "pessoas idosas" for "idosos" (issue 14). SQLite has no stemmer:
``initiative.search_stems`` holds the Portuguese Snowball stems of ``search_text``
(``hub.text.stems_column``, filled on every save; filled here for the rows already
there). PostgreSQL stems with its own ``portuguese`` configuration over the folded
``search_text``; the expression index makes that an index search. The index is not in
the models (an expression over a function SQLite lacks), so the drift check skips it
by name (``answers.search.DATABASE_ONLY_NAMES``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.text import stems_column

revision: str = "0008_public_search"
down_revision: str | None = "0005_overlaps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite allows it with a default): no table rebuild.
    op.add_column(
        "initiative", sa.Column("search_stems", sa.Text(), nullable=False, server_default="")
    )
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, search_text FROM initiative")).all()
    update = sa.text("UPDATE initiative SET search_stems = :stems WHERE id = :id")
    for start in range(0, len(rows), BATCH):
        connection.execute(
            update,
            [
                {"id": row[0], "stems": stems_column(row[1] or "")}
                for row in rows[start : start + BATCH]
            ],
        )
    if connection.dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_initiative_search_pt ON initiative "
            "USING gin (to_tsvector('portuguese', search_text))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_initiative_search_pt")
    op.drop_column("initiative", "search_stems")
