"""Areas (country, districts, municipalities) and the indicator values measured in them.

An area's code is the stable join key: ISO 3166-2 for districts and regions, the
official 4-digit municipality code (DICO in Portugal), the ISO country code for the
country. Polygons are stored as GeoJSON text (small, simplified on import), points as
lat/lon: no spatial database is needed.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
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


class IndicatorValue(SQLModel, table=True):
    """The current value of one indicator in one area; re-imports replace it (audited)."""

    __tablename__ = "indicator_value"
    __table_args__ = (UniqueConstraint("area_code", "indicator", name="uq_indicator_area"),)

    id: int | None = Field(default=None, primary_key=True)
    area_code: str = Field(foreign_key="area.code", max_length=32, index=True)
    indicator: str = Field(max_length=64, index=True)
    value: float
    source: str = Field(default="", max_length=300)
    year: int | None = None
    is_demo: bool = False  # synthetic demo value: labelled "demo" on the map and exports
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str = ""
