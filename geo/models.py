"""Reference areas: the country, its districts and its municipalities, in one hierarchy.

An area's code is the stable join key: ISO 3166-2 for districts and regions, the
official 4-digit municipality code (DICO in Portugal), the ISO country code for the
country. Polygons are stored as GeoJSON text (small, simplified on import), points as
lat/lon: no spatial database is needed. Initiatives (where they act) and connectivity
(where people are cut off) both name areas by these codes.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from hub.i18n import N_
from hub.records import UTCDateTime, enum_type, utcnow


class AreaLevel(enum.StrEnum):
    COUNTRY = "country"
    DISTRICT = "district"
    MUNICIPALITY = "municipality"


AREA_LEVEL_LABELS = {
    AreaLevel.COUNTRY: N_("Country"),
    AreaLevel.DISTRICT: N_("District"),
    AreaLevel.MUNICIPALITY: N_("Municipality"),
}


class Area(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    level: AreaLevel = Field(sa_type=enum_type(AreaLevel), index=True)
    parent_code: str | None = Field(default=None, max_length=32, index=True)
    population: int | None = None  # None: unknown, never 0
    lat: float | None = None
    lon: float | None = None
    geometry: str | None = Field(default=None, sa_type=Text)  # GeoJSON geometry
    source: str = Field(default="", max_length=300)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PostalCode(SQLModel, table=True):
    """Which municipality a postal code belongs to (issue 19: ``INFO 1000-001``).

    ``code`` is a 4-digit prefix (``1000``: the municipality most of its codes belong
    to) or a full ``NNNN-NNN`` code where it belongs to another (a prefix can straddle
    a border); a lookup tries the full code first. No foreign key: an office may load
    codes of municipalities its area table lacks, and they simply answer nothing.
    """

    __tablename__ = "geo_postal_code"

    code: str = Field(primary_key=True, max_length=8)
    area_code: str = Field(max_length=32, index=True)
