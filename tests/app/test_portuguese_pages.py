"""Thirteen Portuguese workspace pages show no English interface string of ours (issue 15).

Every string our code marks for translation whose Portuguese differs is looked for on
the page: widget labels, placeholders, help and options exactly, text (titles,
captions, messages, table headings) as whole phrases. Demo content may be English on
purpose (a real registry has some); interface strings may not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from hub.auth import Role
from hub.i18n import set_language
from hub.settings import PROJECT_ROOT
from tests.unit.test_i18n import marked_strings, portuguese

Opener = Callable[[Role | None], AppTest]
DEMO_DIR = PROJECT_ROOT / "data" / "demo"
PAGES = [
    (Role.PARTNER, "pages/partner_initiatives.py"),
    (Role.STAFF, "pages/staff_home.py"),
    (Role.STAFF, "pages/staff_gaps.py"),
    (Role.STAFF, "pages/staff_overlaps.py"),
    (Role.ADMIN, "pages/staff_audit.py"),
    (Role.STAFF, "pages/staff_review.py"),
    (Role.STAFF, "pages/staff_registry.py"),
    (Role.STAFF, "pages/staff_partners.py"),
    (Role.STAFF, "pages/staff_questions.py"),
    (Role.STAFF, "pages/staff_directory.py"),
    (Role.STAFF, "pages/staff_feeds.py"),
    (Role.STAFF, "pages/staff_feed_review.py"),
    (Role.PARTNER, "pages/partner_home.py"),
]


def english_only() -> dict[str, str]:
    """English msgid -> Portuguese, for every marked string the catalog changes (not
    those that are also demo content, such as an example title that is a demo record's)."""
    translated = portuguese()
    demo = "\n".join(path.read_text(encoding="utf-8") for path in DEMO_DIR.rglob("*.json"))
    return {
        msgid: translated[msgid]
        for msgid in marked_strings()
        if msgid in translated
        and translated[msgid] != msgid
        and len(msgid) > 2
        and f'"{msgid}"' not in demo
    }


def walk(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def shown_strings(app: AppTest) -> tuple[set[str], str]:
    """(exact strings: labels, placeholders, options, headings; all text joined)."""
    exact: set[str] = set()
    text: list[str] = []
    for element in walk(app._tree):
        proto = getattr(element, "proto", None)
        for name in ("label", "placeholder", "help", "body", "value", "title"):
            value = getattr(proto, name, None) if proto is not None else None
            if isinstance(value, str) and value:
                exact.add(value)
                text.append(value)
        for option in getattr(proto, "options", []) or []:
            if isinstance(option, str):
                exact.add(option)
        frame = getattr(element, "value", None)
        columns = getattr(frame, "columns", None)
        if columns is not None:
            exact.update(str(c) for c in columns)
    return exact, "\n".join(text).replace("\\", "")


@pytest.mark.parametrize(("role", "page"), PAGES, ids=[p for _r, p in PAGES])
def test_a_portuguese_page_has_no_english_interface_string(
    open_app: Opener, monkeypatch: pytest.MonkeyPatch, role: Role, page: str
) -> None:
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "pt")
    set_language("pt")  # AppTest formats widget values in this thread too
    app = open_app(role).run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    exact, text = shown_strings(app)
    assert exact, "nothing found on the page"
    english = english_only()
    found = sorted(m for m in english if m in exact)
    # A whole English phrase of three words or more inside a text is ours too.
    phrases = [m for m in english if len(m.split()) >= 3 and "{" not in m]
    found += sorted(m for m in phrases if re.search(rf"(?<!\w){re.escape(m)}(?!\w)", text))
    assert not found, f"English on the Portuguese {page}: {found[:15]}"
    assert any(p in exact for p in english.values()), "the page is not in Portuguese at all"
