"""Times in the office's zone and the page language's format (issue 15)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub import settings
from hub.i18n import format_date, format_datetime, format_number, set_language


def test_a_utc_moment_is_shown_in_lisbon_time_in_each_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summer = datetime(2026, 7, 1, 18, 52, 3, tzinfo=UTC)  # Lisbon is UTC+1 in summer
    set_language("pt")
    assert format_datetime(summer) == "01/07/2026, 19:52:03"
    assert format_date(date(2020, 4, 1), format="MMM y") == "abr. 2020"
    assert format_number(12500) == "12\xa0500"
    set_language("en")
    assert format_datetime(summer.replace(tzinfo=None)) == "1 Jul 2026, 19:52:03"  # naive: UTC
    assert format_number(12500) == "12,500"
    monkeypatch.setenv("HUB_TIME_ZONE", "Atlantic/Azores")
    assert format_datetime(summer) == "1 Jul 2026, 18:52:03"  # the Azores: UTC+0 in summer
    assert format_datetime(None) == "" and format_date(None) == ""


def test_an_unknown_time_zone_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_TIME_ZONE", "Europe/Atlantis")
    with pytest.raises(settings.SettingsError, match=r"HUB_TIME_ZONE.*IANA time zone"):
        settings.time_zone()
