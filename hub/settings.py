"""Every setting of the hub, listed once.

Values come from ``HUB_*`` environment variables. The README's settings table is
checked against this registry by ``tests/unit/test_settings.py``, so a setting
cannot be added without being documented.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "instance" / "hub.db"


class SettingsError(ValueError):
    """A setting has a value the hub cannot use; the message names it and the fix."""


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected one of 1/0, true/false, yes/no, on/off")


def _parse_positive_int(raw: str) -> int:
    value = int(raw.strip())
    if value <= 0:
        raise ValueError("expected a whole number above zero")
    return value


def _parse_language(raw: str) -> str:
    value = raw.strip().lower()
    if value not in {"pt", "en"}:
        raise ValueError("expected pt or en")
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "HUB_DATABASE_URL",
        "",
        "SQLAlchemy URL of the database. Empty means a SQLite file at instance/hub.db. "
        "For PostgreSQL: postgresql+psycopg://user:password@host:5432/dbname",
    ),
    Setting(
        "HUB_DEMO_MODE",
        "false",
        "Load the illustrative demo data on first start, list the demo accounts on the "
        "login screen and show a 'demo data' banner on every page. `make run` turns it on.",
        _parse_bool,
    ),
    Setting(
        "HUB_DEFAULT_LANGUAGE",
        "pt",
        "Language of a new visitor: pt (Portuguese) or en (English).",
        _parse_language,
    ),
    Setting(
        "HUB_LOGIN_MAX_FAILURES",
        "5",
        "Wrong passwords in a row after which an account is locked.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_LOGIN_LOCKOUT_MINUTES",
        "15",
        "How long a locked account stays locked.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_SESSION_IDLE_MINUTES",
        "60",
        "A signed-in user idle for longer than this is signed out.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_SESSION_MAX_HOURS",
        "12",
        "A sign-in lasts at most this long, active or not.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_SQLITE_BUSY_TIMEOUT_MS",
        "5000",
        "How long a SQLite writer waits for another writer before giving up.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_AUTH_MODE",
        "local",
        "local: accounts with passwords in our database. oidc: sign in through the "
        "identity provider configured under [auth] in .streamlit/secrets.toml; the role "
        "still comes from our accounts table (see 'Single sign-on').",
        lambda raw: _choice(raw, {"local", "oidc"}),
    ),
)


def _choice(raw: str, allowed: set[str]) -> str:
    value = raw.strip().lower()
    if value not in allowed:
        raise ValueError("expected one of " + ", ".join(sorted(allowed)))
    return value


_BY_NAME = {setting.name: setting for setting in SETTINGS}


def get(name: str) -> Any:
    """Read one setting now (not at import time, so tests and the CLI can change it)."""
    setting = _BY_NAME[name]
    raw = os.environ.get(name, setting.default)
    try:
        return setting.parse(raw)
    except ValueError as err:
        raise SettingsError(f"{name}={raw!r} is not valid: {err}.") from None


def database_url() -> str:
    url: str = get("HUB_DATABASE_URL").strip()
    if url:
        return url
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def demo_mode() -> bool:
    return bool(get("HUB_DEMO_MODE"))


def default_language() -> str:
    return str(get("HUB_DEFAULT_LANGUAGE"))
