"""Structure rules, checked like GOV.UK Notify checks its routes.

- Every page file's first statement after its imports is a role guard.
- Domain packages never import streamlit (only hub_app.py, pages/, hub/ui.py and
  hub/widgets.py may).
- Every page the navigation names exists, and every page file is in the navigation.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from hub.settings import PROJECT_ROOT

GUARDS = {"allow_public", "require_signed_in", "require_role"}
# asgi_app.py: the st.App entry point whose lifespan starts the feed scheduler.
STREAMLIT_ALLOWED = {"hub_app.py", "asgi_app.py", "hub/ui.py", "hub/widgets.py"}
PAGES = sorted((PROJECT_ROOT / "pages").glob("*.py"))


def first_statement_after_imports(path: Path) -> ast.stmt:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the module docstring
        return node
    raise AssertionError(f"{path.name} has no statements")


def called_name(node: ast.stmt) -> str | None:
    value = node.value if isinstance(node, ast.Expr | ast.Assign | ast.AnnAssign) else None
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id
    return None


def test_there_are_pages() -> None:
    assert len(PAGES) >= 5


def test_every_page_starts_with_a_guard() -> None:
    unguarded = [
        p.name for p in PAGES if called_name(first_statement_after_imports(p)) not in GUARDS
    ]
    assert not unguarded, f"pages whose first statement is not a guard: {unguarded}"


def test_audience_prefix_matches_the_guard() -> None:
    for page in PAGES:
        guard = called_name(first_statement_after_imports(page))
        if page.name.startswith(("staff_", "partner_")):
            assert guard == "require_role", page.name
        if page.name.startswith("public_"):
            assert guard == "allow_public", page.name


def test_domain_packages_never_import_streamlit() -> None:
    offenders = []
    for path in PROJECT_ROOT.rglob("*.py"):
        relative = path.relative_to(PROJECT_ROOT).as_posix()
        if relative.startswith((".venv/", "tests/", "pages/", "benchmarks/")):
            continue
        if relative in STREAMLIT_ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name == "streamlit" or name.startswith("streamlit.") for name in names):
                offenders.append(relative)
    assert not offenders, f"streamlit imported outside the UI layer: {sorted(set(offenders))}"


def test_navigation_and_page_files_agree() -> None:
    source = (PROJECT_ROOT / "hub_app.py").read_text(encoding="utf-8")
    named = set(re.findall(r'page\(\s*"([a-z_]+)"', source))
    files = {p.stem for p in PAGES}
    assert named == files
