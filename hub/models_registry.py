"""Import every table model so SQLModel.metadata knows the whole schema (for Alembic)."""

from hub.audit import AuditEntry
from partners.models import Account, Organisation

__all__ = ["Account", "AuditEntry", "Organisation"]
