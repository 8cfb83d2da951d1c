"""audit log: refuse REPLACE on SQLite and TRUNCATE on PostgreSQL

Revision ID: 0007_audit_append_only
Revises: 0001
Create Date: 2026-12-01

A branch of its own from 0001 (``hub.db.migrate`` upgrades every head), closing the two
ways round the append-only triggers 0001 created:

- SQLite: ``INSERT OR REPLACE`` (or ``REPLACE``) with an existing id deletes the old
  row as conflict resolution, and that delete fires no DELETE trigger. A BEFORE INSERT
  trigger refuses an insert whose id already exists.
- PostgreSQL: ``TRUNCATE`` fires no row trigger. A BEFORE TRUNCATE statement trigger
  raises.

``hub.audit.APPEND_ONLY_TRIGGERS`` lists every trigger by dialect; ``hub.backup``
checks a restored database has them all.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = "0007_audit_append_only"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER audit_entry_no_replace BEFORE INSERT ON audit_entry "
            "WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit_entry WHERE id = NEW.id) "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_replace")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry")
