"""Portuguese and English.

Source strings are English and marked with ``_()``; ``locales/pt/LC_MESSAGES/messages.po``
holds the Portuguese. The catalog is read with Babel straight from the ``.po`` file, so
there is no compile step to forget. ``tests/unit/test_i18n.py`` extracts every marked
string with Babel and fails if one has no Portuguese translation.

The current language lives in a context variable: the Streamlit guard sets it at the
top of every script run, the CLI from the settings. Domain errors are translated when
they are raised, so a partner sees "a data de fim é anterior à de início" in Portuguese.
"""

from __future__ import annotations

import contextvars
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from hub.settings import PROJECT_ROOT, time_zone

LOCALES_DIR = PROJECT_ROOT / "locales"
LANGUAGES: dict[str, str] = {"pt": "Português", "en": "English"}
# The Babel locale of each language: the office is in Portugal, its English is British.
LOCALES: dict[str, str] = {"pt": "pt_PT", "en": "en_GB"}
SOURCE_LANGUAGE = "en"

_current_language: contextvars.ContextVar[str] = contextvars.ContextVar(
    "hub_language", default="pt"
)


def catalog_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"


@cache
def _translations(language: str) -> dict[str, str]:
    if language == SOURCE_LANGUAGE:
        return {}
    path = catalog_path(language)
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }


def set_language(language: str) -> None:
    _current_language.set(language if language in LANGUAGES else "pt")


def get_language() -> str:
    return _current_language.get()


def gettext(message: str) -> str:
    """Translate ``message`` into the current language; English is the source text."""
    return _translations(get_language()).get(message, message)


_ = gettext


@cache
def _plurals(language: str) -> dict[str, tuple[str, str]]:
    """Singular msgid -> (singular, plural) msgstr of the catalog's plural entries."""
    if language == SOURCE_LANGUAGE or not catalog_path(language).exists():
        return {}
    with catalog_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {
        str(message.id[0]): (str(message.string[0]), str(message.string[1]))
        for message in catalog
        if isinstance(message.id, tuple)
        and not message.fuzzy
        and isinstance(message.string, tuple)
        and all(message.string[:2])
    }


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or the plural form for ``n`` in the current language (both languages
    served use one form for 1 and the other for every other number, 0 included)."""
    forms = _plurals(get_language()).get(singular, (singular, plural))
    return forms[0] if n == 1 else forms[1]


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a string for extraction without translating it yet (module-level labels)."""
    return message


def babel_locale() -> str:
    return LOCALES.get(get_language(), "pt_PT")


def format_datetime(value: datetime | None, *, format: str = "medium") -> str:
    """A moment in the office's time zone (``HUB_TIME_ZONE``), written the way the page
    language writes it (Babel); a naive value is UTC, as the database stores it. None is
    an empty string."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return babel_format_datetime(
        value, format=format, tzinfo=ZoneInfo(time_zone()), locale=babel_locale()
    )


def format_date(value: date | None, *, format: str = "medium") -> str:
    """A calendar date in the page language (Babel); None is an empty string."""
    if value is None:
        return ""
    return babel_format_date(value, format=format, locale=babel_locale())


def format_number(value: float | None) -> str:
    """A number in the page language (``12 500`` / ``12,500``); None is an empty string."""
    if value is None:
        return ""
    return str(format_decimal(value, locale=babel_locale()))
