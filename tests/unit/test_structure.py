"""The rules of the house, checked like GOV.UK Notify checks its routes.

- Every page file's first statement after its imports is a role guard.
- The core (``hub/``) imports no domain package and no streamlit; ``wiring.py`` is the
  one module that knows every package (``hub/__main__.py``, the ``python -m hub``
  entry point, hands over to it).
- Only the faces import streamlit: ``pages/``, ``ui/`` and the two entry points.
- No import cycle between modules, counting the imports inside functions.
- No ``_private`` name is imported from another module.
- Modules stay readable: none over ~600 lines unless its docstring says why, no page
  over ~200 lines.
- Public functions take the database session as a keyword argument (``session=``), so a
  call reads the same everywhere and arguments cannot be swapped by position.
- mypy covers the faces too.
- Every page the navigation (ui/navigation.py) names exists, and every page file is in it.

Each rule is a function over a source tree, so the tests below also plant a violation
of each kind in a throw-away tree and check that the rule finds it.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.settings import PROJECT_ROOT
from ui.navigation import every_page_file

GUARDS = {"allow_public", "require_signed_in", "require_role"}
CORE = "hub"
DOMAIN = {
    "partners",
    "initiatives",
    "feeds",
    "answers",
    "connectivity",
    "geo",
    "portal",
    "outreach",
}
FACES = {"ui", "wiring", "pages"}  # what the core must not know either
ENTRY_POINTS = {"hub_app.py", "asgi_app.py"}
# `python -m hub` must find every command, so hub/__main__.py calls wiring.main(); it is
# an entry point, not part of the core's code.
CORE_EXEMPT = {"hub/__main__.py"}
SKIPPED_DIRS = (".venv/", "tests/", "benchmarks/", "migrations/", "data/", "node_modules/")
MAX_MODULE_LINES = 600
MAX_PAGE_LINES = 200
# A long module must say in its docstring why it is one module.
WHY_ONE_MODULE = re.compile(r"one module", re.IGNORECASE)
PAGES = sorted((PROJECT_ROOT / "pages").glob("*.py"))


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted (resolved to a module of the tree)
    names: tuple[str, ...]  # names imported from it (``from x import a, b``)
    line: int


def source_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative posix path, path) of every Python file of the project's own code."""
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if not relative.startswith(SKIPPED_DIRS):
            yield relative, path


def module_name(relative: str) -> str:
    name = relative.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


def imports_of(root: Path) -> list[Import]:
    """Every import in the tree, top level or inside a function, resolved to modules."""
    modules = {module_name(rel) for rel, _ in source_files(root)}
    found: list[Import] = []
    for relative, path in source_files(root):
        name = module_name(relative)
        package = name if relative.endswith("__init__.py") else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.append(Import(name, alias.name, (), node.lineno))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".") if package else []
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                names = tuple(alias.name for alias in node.names)
                found.append(Import(name, base, names, node.lineno))
                for alias in node.names:  # `from pkg import module`
                    if f"{base}.{alias.name}" in modules:
                        found.append(Import(name, f"{base}.{alias.name}", (), node.lineno))
    return found


def resolve(target: str, modules: set[str]) -> str | None:
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def top(dotted: str) -> str:
    return dotted.split(".", 1)[0]


def core_violations(root: Path) -> list[str]:
    forbidden = DOMAIN | FACES | {"streamlit"}
    return [
        f"{i.module} (line {i.line}) imports {i.target}"
        for i in imports_of(root)
        if top(i.module) == CORE
        and f"{i.module.replace('.', '/')}.py" not in CORE_EXEMPT
        and top(i.target) in forbidden
    ]


def streamlit_violations(root: Path) -> list[str]:
    offenders = set()
    for i in imports_of(root):
        if top(i.target) != "streamlit":
            continue
        if top(i.module) in {"pages", "ui"} or f"{i.module}.py" in ENTRY_POINTS:
            continue
        offenders.add(i.module)
    return sorted(offenders)


def import_cycles(root: Path) -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan), imports inside functions included.

    A package's ``__init__`` importing its own modules is not a cycle with them: the
    edge from a module to its own package is how Python loads it, not a dependency.
    """
    modules = {module_name(rel) for rel, _ in source_files(root)}
    edges: dict[str, set[str]] = defaultdict(set)
    for i in imports_of(root):
        target = resolve(i.target, modules)
        if target and target != i.module and not i.module.startswith(f"{target}."):
            edges[i.module].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # recursion depth is bounded by the module count
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return cycles


def private_imports(root: Path) -> list[str]:
    """``from a import _b`` across modules (``_`` itself is gettext, not private)."""
    return [
        f"{i.module} imports {name} from {i.target}"
        for i in imports_of(root)
        for name in i.names
        if name.startswith("_") and not name.startswith("__") and name != "_"
    ]


def long_modules(root: Path) -> list[str]:
    offenders = []
    for relative, path in source_files(root):
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if relative.startswith("pages/"):
            if lines > MAX_PAGE_LINES:
                offenders.append(f"{relative}: {lines} lines (a page: at most {MAX_PAGE_LINES})")
            continue
        if lines > MAX_MODULE_LINES:
            docstring = ast.get_docstring(ast.parse(text)) or ""
            if not WHY_ONE_MODULE.search(docstring):
                offenders.append(
                    f"{relative}: {lines} lines and no docstring saying why it is one module"
                )
    return offenders


def positional_sessions(root: Path) -> list[str]:
    """Public module-level functions of our own packages whose ``session`` is positional."""
    offenders = []
    for relative, path in source_files(root):
        if top(module_name(relative)) not in {CORE, *DOMAIN, "ui"}:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                positional = [a.arg for a in node.args.posonlyargs + node.args.args]
                if "session" in positional:
                    offenders.append(f"{relative}:{node.lineno} {node.name}")
    return offenders


# --- the rules, on this repository ---------------------------------------------------------


def test_there_are_pages() -> None:
    assert len(PAGES) >= 5


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


def test_the_core_imports_no_domain_package() -> None:
    offenders = core_violations(PROJECT_ROOT)
    assert not offenders, f"hub/ is the core and must not know these: {offenders}"


def test_only_the_faces_import_streamlit() -> None:
    offenders = streamlit_violations(PROJECT_ROOT)
    assert not offenders, f"streamlit outside pages/, ui/ and the entry points: {offenders}"


def test_no_import_cycles() -> None:
    cycles = import_cycles(PROJECT_ROOT)
    assert not cycles, f"modules importing each other (move the code where it belongs): {cycles}"


def test_no_private_name_crosses_a_module() -> None:
    offenders = private_imports(PROJECT_ROOT)
    assert not offenders, f"make these public in the right module: {offenders}"


def test_modules_stay_readable() -> None:
    offenders = long_modules(PROJECT_ROOT)
    assert not offenders, f"split these (or say in the docstring why not): {offenders}"


def test_public_functions_take_the_session_by_keyword() -> None:
    offenders = positional_sessions(PROJECT_ROOT)
    assert not offenders, f"make session keyword-only (def f(*, session, ...)): {offenders}"


def test_mypy_covers_the_faces() -> None:
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mypy = config["tool"]["mypy"]
    files = set(mypy["files"])
    wanted = {"hub", "ui", "pages", "portal", "hub_app.py", "asgi_app.py", "wiring.py"}
    assert wanted <= files, f"mypy does not check: {sorted(wanted - files)}"
    assert not mypy.get("exclude"), f"mypy excludes {mypy.get('exclude')}"


def test_navigation_and_page_files_agree() -> None:
    assert every_page_file() == {p.stem for p in PAGES}


# --- each rule finds a planted violation ---------------------------------------------------


def plant(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_core_module_importing_a_domain_package_is_found(tmp_path: Path) -> None:
    root = plant(
        tmp_path,
        {
            "hub/__init__.py": "",
            "hub/ok.py": "from hub import settings\n",
            "hub/bad.py": "def f():\n    from initiatives.service import approve\n",
            "hub/__main__.py": "from wiring import main\n",  # the entry point: allowed
            "initiatives/__init__.py": "",
            "initiatives/service.py": "approve = 1\n",
        },
    )
    assert core_violations(root) == ["hub.bad (line 2) imports initiatives.service"]


def test_streamlit_outside_the_faces_is_found(tmp_path: Path) -> None:
    root = plant(
        tmp_path,
        {
            "feeds/__init__.py": "",
            "feeds/show.py": "import streamlit as st\n",
            "ui/forms.py": "import streamlit as st\n",
            "pages/staff_x.py": "from streamlit import session_state\n",
            "hub_app.py": "import streamlit\n",
        },
    )
    assert streamlit_violations(root) == ["feeds.show"]


def test_a_cycle_through_an_import_inside_a_function_is_found(tmp_path: Path) -> None:
    root = plant(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import x\n",  # a package's own modules: no cycle
            "pkg/a.py": "from pkg.b import y\nx = 1\n",
            "pkg/b.py": "y = 2\ndef late():\n    from pkg import a\n    return a\n",
            "pkg/c.py": "from pkg.a import x\n",
        },
    )
    assert import_cycles(root) == [["pkg.a", "pkg.b"]]


def test_a_private_name_from_another_module_is_found(tmp_path: Path) -> None:
    root = plant(
        tmp_path,
        {
            "m/__init__.py": "",
            "m/a.py": "def _helper():\n    pass\n",
            "m/b.py": "from m.a import _helper\nfrom hub.i18n import _\n",
        },
    )
    assert private_imports(root) == ["m.b imports _helper from m.a"]


def test_a_long_module_or_page_is_found(tmp_path: Path) -> None:
    body = "x = 1\n" * (MAX_MODULE_LINES + 1)
    root = plant(
        tmp_path,
        {
            "m/long.py": '"""Plain."""\n' + body,
            "m/explained.py": '"""The engine is one module: its stages share arrays."""\n' + body,
            "pages/staff_big.py": "x = 1\n" * (MAX_PAGE_LINES + 1),
        },
    )
    found = long_modules(root)
    assert len(found) == 2
    assert found[0].startswith("m/long.py") and found[1].startswith("pages/staff_big.py")


def test_a_positional_session_is_found(tmp_path: Path) -> None:
    root = plant(
        tmp_path,
        {
            "initiatives/__init__.py": "",
            "initiatives/q.py": "def bad(session, x):\n    pass\n"
            "def good(*, session, x):\n    pass\n"
            "def _private(session):\n    pass\n",
        },
    )
    assert positional_sessions(root) == ["initiatives/q.py:1 bad"]


@pytest.mark.parametrize(
    "rule", [core_violations, streamlit_violations, private_imports, positional_sessions]
)
def test_a_clean_tree_passes(tmp_path: Path, rule: object) -> None:
    root = plant(tmp_path, {"hub/__init__.py": "", "hub/ok.py": "import json\n"})
    assert callable(rule)
    assert rule(root) == []
