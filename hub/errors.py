"""Errors the domain raises. Each message is meant for the user and names the fix."""

from __future__ import annotations


class HubError(Exception):
    """Base of every error whose message may be shown to a user as it is."""


class PermissionDenied(HubError):
    """The acting principal may not do this."""


class NotFound(HubError):
    """The record does not exist (or the actor may not know it exists)."""


class Gone(NotFound):
    """The record was public once and is no longer (withdrawn or unpublished): HTTP 410."""


class InvalidInput(HubError):
    """Input failed validation; ``field`` names the offending field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class StaleRecord(HubError):
    """Someone else saved the record since it was read; nothing was overwritten."""


class AuthenticationFailed(HubError):
    """Sign-in refused. The message is deliberately the same for every cause."""


class DatabaseUnavailable(HubError):
    """The database cannot be reached, opened or written."""


class BackupError(HubError):
    """A backup could not be written or a restore file was refused."""


class ExportError(HubError):
    """Files could not be written where the operator asked."""
