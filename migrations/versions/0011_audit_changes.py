"""audit_changes: the record's version on each audit entry

Revision ID: 0011_audit_changes
Revises: 0007_audit_append_only
Create Date: 2026-12-02

Entries now keep before and after of the changed fields only (hub.audit), so the
record's version, which whole snapshots carried, gets a column of its own. Old entries
keep NULL there (their snapshots hold the version). Adding a column rewrites no row, so
the append-only triggers of 0007 stay as they are. Issue 21.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_audit_changes"
down_revision: str | None = "0007_audit_append_only"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_entry", sa.Column("version", sa.Integer(), nullable=True))


def downgrade() -> None:
    # SQLite drops a column by copying the table, which the triggers would refuse:
    # drop them around it, then put them back as 0007 made them.
    from hub.audit import restore_append_only_triggers

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("audit_entry_no_update", "audit_entry_no_delete", "audit_entry_no_replace"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_column("version")
    restore_append_only_triggers(bind)
