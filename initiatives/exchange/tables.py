"""Reading CSV and XLSX files into rows, and parsing their cells.

Shared by the registry import (``importing``) and the overlap batch check
(``initiatives.overlap``); it imports nothing from the rest of ``initiatives``, so any
module may use it without an import cycle.

Limits (issue 13): a file is refused, with a message naming the limit and before
anything is written, when it has more than ``MAX_ROWS`` rows, when a CSV decodes to
more than ``MAX_TEXT_CHARS`` characters or holds a cell longer than
``MAX_FIELD_CHARS``, or when an XLSX declares more than ``MAX_XLSX_UNCOMPRESSED``
bytes inside or compresses one member more than ``MAX_XLSX_RATIO`` times (a
decompression bomb). Rows are read one at a time and reading stops at the limit.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Generator
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook

from hub.errors import InvalidInput
from hub.i18n import _
from hub.tabular import FORMULA_STARTS

SEPARATOR = ";"
MAX_ROWS = 100_000
MAX_FIELD_CHARS = 128 * 1024
MAX_TEXT_CHARS = 100 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_XLSX_RATIO = 100
_RATIO_FLOOR = 1024 * 1024  # members smaller than this may compress as well as they like

Rows = list[tuple[int, list[Any]]]


def is_xlsx(data: bytes, filename: str) -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04"


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 (Excel's CSV on Portuguese Windows)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def normalise_header(name: Any) -> str:
    text = "" if name is None else str(name)
    return re.sub(r"[\s\-]+", "_", text.strip().strip("\ufeff").lower())


def _too_many_rows(max_rows: int) -> InvalidInput:
    return InvalidInput(
        _("The file has more than {max} rows; import at most {max} at a time.").format(max=max_rows)
    )


def read_table(
    data: bytes, *, filename: str = "", max_rows: int = MAX_ROWS
) -> tuple[list[str], Rows]:
    """The header (normalised) and the rows with their spreadsheet row numbers.

    CSV in UTF-8 (with or without BOM) or Windows-1252, separated by commas, semicolons
    or tabs; or the first sheet of an XLSX workbook. A second row of HXL hashtags is
    skipped; empty rows are dropped. Reading stops as soon as the file has more than
    ``max_rows`` rows (InvalidInput naming the limit).
    """
    records = xlsx_records(data) if is_xlsx(data, filename) else csv_records(data)
    try:
        first = next(records, None)
        if first is None or not any(cell_text(v) for v in first):
            raise InvalidInput(_("The file is empty: the first row must name the columns."))
        header = [normalise_header(h) for h in first]
        rows: Rows = []
        for number, record in enumerate(records, start=2):
            cells = [cell_text(v) for v in record]
            if not any(cells):
                continue
            if number == 2 and all(c.startswith("#") for c in cells if c):
                continue  # HXL hashtag row
            if len(rows) >= max_rows:
                raise _too_many_rows(max_rows)
            rows.append((number, list(record)))
    finally:
        records.close()
    return header, rows


def csv_records(data: bytes) -> Generator[list[Any], None, None]:
    """The CSV's records one at a time; refused when too large or a cell is too long."""
    if len(data) > MAX_TEXT_CHARS * 4:  # no encoding takes more than 4 bytes a character
        raise _text_too_large()
    text = decode_text(data)
    if len(text) > MAX_TEXT_CHARS:
        raise _text_too_large()
    return _csv_rows(text)


def _text_too_large() -> InvalidInput:
    return InvalidInput(
        _("The file is larger than {size} MB of text; split it into smaller files.").format(
            size=MAX_TEXT_CHARS // (1024 * 1024)
        )
    )


def _csv_rows(text: str) -> Generator[list[Any], None, None]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    previous = csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raise InvalidInput(
                    _(
                        "Row {row}: a cell is longer than {size} KB or its quotes are not "
                        "closed; correct the file and import it again."
                    ).format(row=reader.line_num, size=MAX_FIELD_CHARS // 1024)
                ) from err
            yield record
    finally:
        csv.field_size_limit(previous)


def check_xlsx_size(data: bytes) -> None:
    """Refuse a workbook whose members declare too much data or compress too well."""
    not_readable = InvalidInput(
        _("This is not a readable XLSX workbook. Save it again from your spreadsheet.")
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise not_readable from None
    total = sum(m.file_size for m in members)
    bomb = total > MAX_XLSX_UNCOMPRESSED or any(
        m.file_size > _RATIO_FLOOR and m.file_size > MAX_XLSX_RATIO * max(m.compress_size, 1)
        for m in members
    )
    if bomb:
        raise InvalidInput(
            _(
                "The workbook unpacks to more than {size} MB or is compressed more than "
                "{ratio} times; save it as CSV, or split it into smaller workbooks."
            ).format(size=MAX_XLSX_UNCOMPRESSED // (1024 * 1024), ratio=MAX_XLSX_RATIO)
        )


def xlsx_records(data: bytes) -> Generator[list[Any], None, None]:
    """The first sheet's rows one at a time (openpyxl in read-only mode)."""
    check_xlsx_size(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of error for a damaged file
        raise InvalidInput(
            _("This is not a readable XLSX workbook. Save it again from your spreadsheet.")
        ) from None
    return _sheet_rows(workbook)


def _sheet_rows(workbook: Any) -> Generator[list[Any], None, None]:
    try:
        sheet = workbook.active if workbook.active is not None else workbook.worksheets[0]
        # The declared size is not trusted: A1:XFD1048576 would pad billions of cells.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception:  # a damaged sheet part: openpyxl/lxml raise many kinds
                raise InvalidInput(
                    _("This is not a readable XLSX workbook. Save it again from your spreadsheet.")
                ) from None
            yield list(row)
    finally:
        workbook.close()


# --- cells -----------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as trimmed text; a quote the hub's export put before a formula start goes."""
    if type(value) is str:
        text = value.strip()
        return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_STARTS else text
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if text.startswith("'") and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text


def split_cell(value: Any) -> list[str]:
    """A multi-valued cell (``a;b;c``) as its trimmed, non-empty parts."""
    return [part.strip() for part in cell_text(value).split(SEPARATOR) if part.strip()]


_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")


def parse_date(value: Any) -> date | None:
    """ISO 8601 (2020-03-20, or a date-time), a spreadsheet date cell, or 20/03/2020."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    if not text:
        return None
    match = _DAY_FIRST.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return date.fromisoformat(text)


_GROUPED = re.compile(r"^\d{1,3}([.,]\d{3})+$")


def parse_whole_number(value: Any) -> int | None:
    """A whole number written with or without thousand separators: 1000, 1 000, 1.000,
    1,000; decimal commas or points are accepted when nothing follows but zeros."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        return int(value)
    text = re.sub(r"[\s\u00a0\u202f'_]", "", cell_text(value))
    if not text:
        return None
    if _GROUPED.match(text):  # 1.000 and 1,000 are a thousand people, not one
        return int(re.sub(r"[.,]", "", text))
    last = max(text.rfind("."), text.rfind(","))
    if last >= 0:  # the last separator is the decimal one; the others group thousands
        whole, fraction = re.sub(r"[.,]", "", text[:last]), text[last + 1 :]
        if not whole.isdigit() or (fraction and not fraction.isdigit()) or fraction.strip("0"):
            raise ValueError(value)
        return int(whole)
    if not text.lstrip("-").isdigit():
        raise ValueError(value)
    return int(text)


NATIONAL_WORDS = {"national", "nacional", "país", "pais", "country"}


def area_code(raw: str, country: str) -> str:
    """An area cell as a reference code: 'national' is the country, 101 is 0101."""
    code = raw.strip()
    if code.lower() in NATIONAL_WORDS:
        return country
    if code.isdigit() and len(code) == 3:
        return code.zfill(4)  # a spreadsheet dropped the leading zero of 0101
    return code.upper() if code[:2].lower() == country.lower() else code
