"""Shared core of the coordination hub: settings, database, auth, audit log, i18n, CLI."""
