"""Postal codes -> municipality: Portuguese codes are ``NNNN-NNN``, the 4-digit prefix
belongs to a locality and so, nearly always, to one municipality.

The embedded default (data/geo/postal_codes.csv, GeoNames, CC BY 4.0; see
data/README.md) is loaded on start when the table is empty; an office with CTT's own
file (licensed to it) loads it with ``python -m hub postal-codes load FILE`` (a CSV
with ``postal_code`` and ``municipality_code`` columns, full codes or prefixes).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from sqlalchemy import delete, func, insert
from sqlmodel import Session, col, select

from geo.areas import GEO_DIR, known_area_codes
from geo.models import PostalCode
from hub.audit import record_change
from hub.errors import InvalidInput
from hub.i18n import _

POSTAL_CODES_FILE = GEO_DIR / "postal_codes.csv"
_POSTAL_CODE = re.compile(r"^(\d{4})(?:[-\s]?(\d{3}))?$")


def parse_postal_code(text: str) -> tuple[str, str | None] | None:
    """(prefix, full code or None) of ``1000-001``, ``1000 001``, ``1000001`` or ``1000``;
    None when the text is not a postal code."""
    match = _POSTAL_CODE.match(text.strip())
    if match is None:
        return None
    prefix, rest = match.groups()
    return prefix, f"{prefix}-{rest}" if rest else None


def read_postal_codes(path: Path) -> dict[str, str]:
    """code -> municipality code from a CSV; InvalidInput naming the line at fault."""
    codes: dict[str, str] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"postal_code", "municipality_code"} - set(reader.fieldnames or [])
            if missing:
                raise InvalidInput(
                    _("{file}: the columns postal_code and municipality_code are needed.").format(
                        file=path.name
                    )
                )
            for line, row in enumerate(reader, start=2):
                parsed = parse_postal_code(row["postal_code"] or "")
                area = (row["municipality_code"] or "").strip()
                if parsed is None or not area:
                    raise InvalidInput(
                        _(
                            "{file}, line {line}: expected a postal code such as 1000-001 "
                            "and a municipality code."
                        ).format(file=path.name, line=line)
                    )
                codes[parsed[1] or parsed[0]] = area
    except OSError as err:
        raise InvalidInput(
            _("Cannot read {file}: {reason}.").format(file=path, reason=err.strerror)
        ) from None
    return codes


def load_postal_codes(
    *, session: Session, path: Path = POSTAL_CODES_FILE, replace: bool = False
) -> int:
    """Load ``path`` into the table (only codes of known areas); without ``replace`` a
    table already holding codes is left alone, so it runs on every start. Audited;
    commits. Returns how many rows were loaded."""
    if not replace and session.exec(select(func.count()).select_from(PostalCode)).one():
        return 0
    codes = read_postal_codes(path)
    known = known_area_codes(session=session)
    rows = [{"code": c, "area_code": a} for c, a in codes.items() if a in known]
    session.execute(delete(PostalCode))
    if rows:
        session.execute(insert(PostalCode), rows)
    record_change(
        session=session,
        actor=None,
        action="load_postal_codes",
        entity_type="postal_code",
        summary=f"{len(rows)} postal codes from {path.name}",
        after={"count": len(rows), "skipped_unknown_areas": len(codes) - len(rows)},
    )
    session.commit()
    return len(rows)


def area_for_postal_code(*, session: Session, text: str) -> str | None:
    """The municipality code of a postal code (the full code's row, else its prefix's);
    None when unknown or not a postal code."""
    parsed = parse_postal_code(text)
    if parsed is None:
        return None
    prefix, full = parsed
    wanted = [c for c in (full, prefix) if c]
    found = dict(
        session.exec(
            select(PostalCode.code, PostalCode.area_code).where(col(PostalCode.code).in_(wanted))
        ).all()
    )
    return next((found[c] for c in wanted if c in found), None)
