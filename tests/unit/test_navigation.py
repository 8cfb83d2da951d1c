"""The README's "Who sees what" table says exactly what the navigation gives each role,
as the settings table is checked against hub/settings.py."""

from __future__ import annotations

import re

import pytest

from hub.auth import Role
from hub.i18n import set_language
from hub.settings import PROJECT_ROOT
from ui.navigation import every_page_file, pages_for

ROWS = {
    "Public (no sign-in)": None,
    "Partner user": Role.PARTNER,
    "Staff": Role.STAFF,
    "Administrator": Role.ADMIN,
}
PLUS = re.compile(r"^everything (\w+) see, plus (.+)$")


def documented_pages() -> dict[str, list[str]]:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Who sees what", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| ([^|]+?) \| ([^|]+?) \|$", section, flags=re.MULTILINE))
    rows.pop("Audience", None)
    documented: dict[str, list[str]] = {}
    for audience, cell in rows.items():
        if set(cell) <= {"-"}:
            continue
        plus = PLUS.match(cell)
        if plus:
            base = {"staff": "Staff", "partners": "Partner user"}[plus.group(1)]
            extra = re.split(r", | and ", plus.group(2))
            documented[audience] = [*documented[base], *extra]
        else:
            documented[audience] = cell.split(", ")
    return documented


def navigation_titles(role: Role | None) -> list[str]:
    sections = pages_for(role, forced_password_change=False)
    return [item.title for items in sections.values() for item in items]


@pytest.fixture(autouse=True)
def english() -> None:
    set_language("en")


def test_the_readme_names_every_audience() -> None:
    assert set(documented_pages()) == set(ROWS)


@pytest.mark.parametrize(("audience", "role"), ROWS.items())
def test_the_readme_lists_exactly_the_pages_of_each_role(audience: str, role: Role | None) -> None:
    assert sorted(documented_pages()[audience]) == sorted(navigation_titles(role))


def test_a_forced_password_change_shows_only_my_account() -> None:
    for role in Role:
        sections = pages_for(role, forced_password_change=True)
        assert [i.file for items in sections.values() for i in items] == ["account"]


def test_every_page_file_is_reachable_and_exists() -> None:
    files = {p.stem for p in (PROJECT_ROOT / "pages").glob("*.py")}
    assert every_page_file() == files
