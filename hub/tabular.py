"""The one guard for every CSV and XLSX cell the hub writes (formula injection).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula,
and a leading tab or carriage return can hide such a start. Following OWASP ("CSV
Injection"), ``safe_cell`` prefixes such text with a single quote, which spreadsheets
show as text and the hub's own importers take off again.

Decision on numbers: text that is only a signed number, with digits, spaces, dots and
commas after the sign (``-12.5``, ``+351 213 000 000``, ``-1 000,5``), is left intact.
It cannot call a function or reach a link, and quoting it would spoil phone numbers and
negative values in every export. Anything else after the sign (``-1+1``, ``+1+1``,
``=1+HYPERLINK(...)``) is quoted. Values that are not text (numbers, dates, None) are
returned unchanged: the writer formats them and they are never formulas.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]\d[\d \u00a0.,]*")


def is_plain_number(text: str) -> bool:
    """True for a signed number such as ``-12.5`` or ``+351 213 000 000``."""
    return _PLAIN_NUMBER.fullmatch(text) is not None


def safe_cell(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell (see the module docstring)."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS) and not is_plain_number(value):
        return "'" + value
    return value
