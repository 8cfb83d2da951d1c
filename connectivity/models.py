"""The indicator values measured in each reference area (geo.models.Area).

Values are keyed by area code; re-imports replace the current value (audited).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.records import UTCDateTime, utcnow


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
