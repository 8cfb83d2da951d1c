"""Every setting is documented in the README, and bad values are named clearly."""

from __future__ import annotations

import re

import pytest

from hub import settings
from hub.settings import PROJECT_ROOT, SETTINGS, SettingsError


def documented_settings() -> set[str]:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(HUB_[A-Z0-9_]+)` \|", section, flags=re.MULTILINE))


def test_every_setting_is_in_the_readme_table() -> None:
    missing = {s.name for s in SETTINGS} - documented_settings()
    assert not missing, f"add these to the README's settings table: {sorted(missing)}"


def test_the_readme_lists_no_setting_that_does_not_exist() -> None:
    extra = documented_settings() - {s.name for s in SETTINGS}
    assert not extra, f"the README documents settings the code does not have: {sorted(extra)}"


def test_every_setting_has_help_and_a_parseable_default() -> None:
    for setting in SETTINGS:
        assert setting.help.strip(), setting.name
        setting.parse(setting.default)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_DEMO_MODE", "maybe"),
        ("HUB_LOGIN_MAX_FAILURES", "0"),
        ("HUB_DEFAULT_LANGUAGE", "fr"),
        ("HUB_AUTH_MODE", "ldap"),
    ],
)
def test_bad_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        settings.get(name)


def test_default_database_is_a_sqlite_file_under_instance() -> None:
    assert settings.database_url() == f"sqlite:///{PROJECT_ROOT / 'instance' / 'hub.db'}"
