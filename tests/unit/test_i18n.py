"""Every user-facing string has a Portuguese translation; the switch really switches."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from hub.errors import PermissionDenied
from hub.i18n import _, catalog_path, set_language
from hub.settings import PROJECT_ROOT

SKIPPED_DIRS = (".venv", "tests", "benchmarks", "migrations", "node_modules")


def marked_strings() -> dict[str, str]:
    """msgid -> where it was found, for every _() and N_() in the project."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(PROJECT_ROOT),
        method_map=[
            ("**.py", "python"),
            ("portal/templates/**.j2", "jinja2"),
            ("outreach/templates/**.j2", "jinja2"),
            ("reports/templates/**.j2", "jinja2"),
        ],
        keywords={"_": None, "N_": None},
        directory_filter=lambda path: not any(part in path.split("/") for part in SKIPPED_DIRS),
    ):
        if isinstance(message, str) and message:
            found.setdefault(message, f"{filename}:{lineno}")
    return found


def portuguese() -> dict[str, str]:
    with catalog_path("pt").open("rb") as handle:
        catalog = read_po(handle, locale="pt")
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def test_the_extraction_finds_the_ui_strings() -> None:
    strings = marked_strings()
    assert "Sign in" in strings and "Only administrators may do this." in strings
    assert len(strings) > 100


def test_every_marked_string_has_a_portuguese_translation() -> None:
    translated = portuguese()
    missing = {msgid: where for msgid, where in marked_strings().items() if msgid not in translated}
    assert not missing, (
        "untranslated strings (run `make messages` and translate locales/pt/...): "
        + "; ".join(f"{where}: {msgid!r}" for msgid, where in sorted(missing.items())[:20])
    )


def test_placeholders_survive_translation() -> None:
    for msgid, msgstr in portuguese().items():
        for placeholder in ("{name}", "{n}", "{who}", "{when}", "{path}", "{email}", "{field}"):
            assert (placeholder in msgid) == (placeholder in msgstr), (msgid, msgstr)


def test_switching_language_translates_messages_and_domain_errors() -> None:
    set_language("pt")
    assert _("Sign in") != "Sign in"
    assert str(PermissionDenied(_("Only administrators may do this."))) != (
        "Only administrators may do this."
    )
    set_language("en")
    assert _("Sign in") == "Sign in"
