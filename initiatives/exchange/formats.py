"""The exchange format: its columns, the HXL tags, the export formats and files.

Documented in docs/exchange-format.md; shared by ``importing``, ``export`` and ``iati``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from initiatives.exchange.tables import SEPARATOR
from initiatives.models import Initiative, InitiativeDraft

COLUMNS: tuple[str, ...] = (
    "id",
    "title",
    "description",
    "organisation",
    "participating_organisations",
    "category",
    "target_groups",
    "areas",
    "channels",
    "start_date",
    "end_date",
    "status",
    "people_targeted",
    "people_reached",
    "link",
    "contact_email",
)
PUBLIC_COLUMNS = tuple(c for c in COLUMNS if c != "contact_email")
REQUIRED_COLUMNS = ("id", "title")
DEFAULT_CATEGORY = "other"

# Draft field (as InvalidInput.field names it) -> exchange column.
FIELD_COLUMNS = {
    "code": "id",
    "lead_organisation_id": "organisation",
    "participants": "participating_organisations",
    "planned_start": "start_date",
    "planned_end": "end_date",
    "actual_start": "start_date",
    "actual_end": "end_date",
}

# HXL: the exchange columns, with areas split by level as HXL tags them. Only core
# hashtags and attributes (HXL 1.1); the participants' roles, and one admin code per
# cell, are in the long tables below (the wide file still imports back unchanged).
HXL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "#activity+code"),
    ("title", "#activity+name"),
    ("description", "#description"),
    ("organisation", "#org+impl+name"),
    ("participating_organisations", "#org+name"),
    ("category", "#sector"),
    ("target_groups", "#beneficiary+type"),
    ("country", "#country+code"),
    ("districts", "#adm1+code"),
    ("municipalities", "#adm2+code"),
    ("channels", "#channel"),
    ("start_date", "#date+start"),
    ("end_date", "#date+end"),
    ("status", "#status"),
    ("people_targeted", "#targeted"),
    ("people_reached", "#reached"),
    ("link", "#meta+url"),
    ("contact_email", "#contact+email"),
)
HXL_AREA_COLUMNS = ("country", "districts", "municipalities")

# The 3W in long form (OCHA practice): one row per initiative and area, one code per
# admin cell (a municipality's row carries its district too). People counts stay in the
# wide file: repeated on every area row they would be summed many times over.
HXL_3W_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "#activity+code"),
    ("title", "#activity+name"),
    ("organisation", "#org+impl+name"),
    ("category", "#sector+code"),
    ("country", "#country+code"),
    ("district", "#adm1+code"),
    ("district_name", "#adm1+name"),
    ("municipality", "#adm2+code"),
    ("municipality_name", "#adm2+name"),
    ("status", "#status"),
    ("start_date", "#date+start"),
    ("end_date", "#date+end"),
)
# One row per initiative and participating organisation, the role as the HXL attribute
# of the one filled column (+prog accountable, +impl implementing, +funder funding).
HXL_ORGANISATION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "#activity+code"),
    ("accountable", "#org+prog+name"),
    ("implementing", "#org+impl+name"),
    ("funding", "#org+funder+name"),
)
HXL_CHANNEL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "#activity+code"),
    ("channel", "#channel+code"),
)
HXL_TARGET_GROUP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "#activity+code"),
    ("target_group", "#beneficiary+type+code"),
)


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    HXL = "hxl"
    IATI = "iati"


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv",
    ExportFormat.HXL: "text/csv",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.IATI: "application/xml",
}
FILE_SUFFIXES = {
    ExportFormat.CSV: ".csv",
    ExportFormat.HXL: ".hxl.csv",
    ExportFormat.XLSX: ".xlsx",
    ExportFormat.IATI: ".iati.xml",
}


@dataclass(frozen=True)
class ExportFile:
    """Bytes ready for a download button or a file."""

    data: bytes
    filename: str
    media_type: str
    count: int


@dataclass
class ExportRow:
    """One initiative as exported: the record and its current draft."""

    initiative: Initiative
    draft: InitiativeDraft


def multi(values: Sequence[Any]) -> str:
    """A multi-valued cell: enum values or text joined by the separator."""
    return SEPARATOR.join(str(getattr(v, "value", v)) for v in values)
