"""Text from outside arrives clean: no control characters in any stored field.

A draft titled with ``\\x01`` used to reach the database: the XLSX and IATI exports then
crashed, the Atom feed was no longer well-formed XML, and on PostgreSQL a NUL was a raw
``DataError``. Every input model derives from ``CleanInput``, so the rule holds for
every text field of every package without a line in each service:

- C0 controls, DEL, C1 controls, lone surrogates and the non-characters U+FFFE/U+FFFF
  are removed (nothing a person types or pastes needs them; XML 1.0 forbids most);
- in fields that allow several lines (``MULTILINE_FIELDS``) tab and newline stay and
  ``\\r\\n``/``\\r`` become ``\\n``; in every other field tab and line breaks become a
  space, so a title stays one line.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, model_validator

# Everything below U+0020 but tab/newline/carriage return, DEL and C1, surrogates and the
# two non-characters XML 1.0 excludes.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = re.compile("\r\n?")
_SINGLE_LINE_SPACE = re.compile("[\t\n\r]+")


def strip_controls(text: str, *, multiline: bool = False) -> str:
    """``text`` without control characters; single-line unless ``multiline``."""
    text = _CONTROLS.sub("", text)
    if multiline:
        return _LINE_BREAKS.sub("\n", text)
    return _SINGLE_LINE_SPACE.sub(" ", text)


def clean_value(value: Any, *, multiline: bool) -> Any:
    """Strings, and strings inside lists, tuples and dicts (a participant's name)."""
    if isinstance(value, str):
        return strip_controls(value, multiline=multiline)
    if isinstance(value, list | tuple):
        return type(value)(clean_value(item, multiline=multiline) for item in value)
    if isinstance(value, dict):
        return {key: clean_value(item, multiline=multiline) for key, item in value.items()}
    return value


class CleanInput(BaseModel):
    """Base of every input model (a form's or an import row's draft)."""

    MULTILINE_FIELDS: ClassVar[frozenset[str]] = frozenset()
    # Taken exactly as typed (a password: changing it would lock its owner out).
    RAW_FIELDS: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _strip_controls(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            key: value
            if key in cls.RAW_FIELDS
            else clean_value(value, multiline=key in cls.MULTILINE_FIELDS)
            for key, value in data.items()
        }


M = TypeVar("M", bound=CleanInput)


def cleaned(draft: M) -> M:
    """``draft`` validated again: a copy made with ``model_copy(update=...)`` (which skips
    validation) or built by a caller that bypassed the constructor is cleaned too.
    Every service validator starts with it."""
    return type(draft).model_validate(draft.model_dump())
