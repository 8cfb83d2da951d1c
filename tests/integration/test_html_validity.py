"""Every public HTML page passes the Nu HTML Checker (the W3C's validator), run once.

The checker is the ``vnu-jar`` npm package (package.json; ``make test`` and .ci/run
install it into node_modules) run with the machine's Java. The pages are the ones a
citizen and a partner meet first: the front page and its item pages in both languages,
the sign-in form, a page that does not exist, and the static export's index. They are
fetched through the same routes the server mounts (wiring.ROUTES) from a demo database,
written to files, and checked in one run of the checker (its JVM takes seconds to start).

Without Java or node_modules the test skips locally and fails under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

import portal.reports_site
import portal.routes
import wiring
from hub.cli import operator
from hub.db import make_engine, session_scope
from hub.settings import PROJECT_ROOT
from portal.export import export_public
from reports.service import create_report, release, sign_off

VNU_JAR = PROJECT_ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
IN_CI = os.environ.get("CI", "").lower() == "true"
CHECK_TIMEOUT_S = 300

# name -> how to find its path on the front page (a link pattern), or a fixed path.
FIXED = {
    "front-pt": "/?lang=pt",
    "front-en": "/?lang=en",
    "front-ended-en": "/?lang=en&ended=1",
    "front-search-pt": "/?lang=pt&q=idosos",
    "signin-pt": "/signin?lang=pt",
    "signin-en": "/signin?lang=en",
    "missing-pt": "/initiatives/INI-999999?lang=pt",
    # issue 20: the archive and a published report (published in the fixture)
    "reports-en": "/reports?lang=en",
    "report-pt": "/reports/check?lang=pt",
    "report-en": "/reports/check?lang=en",
}
LINKED = {
    "initiative": r'href="(/initiatives/[^"?#]+)',
    "measure": r'href="(/measures/[^"?#]+)',
    "answer": r'href="(/answers/[^"?#]+)',
}
PAGES = [*FIXED, *(f"{kind}-{lang}" for kind in LINKED for lang in ("pt", "en")), "export"]


def publish_a_report(engine: Engine) -> None:
    """A situation report of the demo data, signed off and published (issue 20)."""
    with session_scope(engine) as session:
        report = create_report(
            session=session,
            actor=operator(),
            period_start=date.today() - timedelta(days=6),
            cutoff=datetime.now(UTC),
            slug="check",
        )
        sign_off(session=session, actor=operator(), report_id=report.id or 0)
        release(session=session, actor=operator(), report_id=report.id or 0, public=True)


def _java() -> str | None:
    return shutil.which("java")


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[str]]]:
    """Fetch every page, run the checker once; page name -> its error messages."""
    java = _java()
    if java is None or not VNU_JAR.exists():
        reason = (
            "the Nu HTML Checker needs Java (Debian: default-jre-headless) and "
            f"{VNU_JAR.relative_to(PROJECT_ROOT)} (npm ci)"
        )
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("nu_checker")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUB_DATABASE_URL", f"sqlite:///{folder / 'hub.db'}")
        patch.setenv("HUB_DEMO_MODE", "1")
        patch.setattr(portal.routes, "_cache", None)
        engine = make_engine()
        wiring.prepare_database(engine)
        publish_a_report(engine)
        patch.setattr(portal.reports_site, "_engine", engine)
        client = TestClient(Starlette(routes=wiring.ROUTES))
        files: dict[str, Path] = {}

        def keep(name: str, path: str) -> str:
            response = client.get(path)
            assert response.headers["content-type"].startswith("text/html"), (path, response)
            files[name] = folder / f"{name}.html"
            files[name].write_bytes(response.content)
            return response.text

        front = ""
        for name, path in FIXED.items():
            text = keep(name, path)
            if name == "front-ended-en":
                front = text
        for kind, pattern in LINKED.items():
            found = re.search(pattern, front)
            assert found, f"the front page links to no {kind} page"
            for lang in ("pt", "en"):
                keep(f"{kind}-{lang}", f"{found.group(1)}?lang={lang}")
        export_public(engine, folder / "site")
        files["export"] = folder / "site" / "index.html"
        engine.dispose()

        run = subprocess.run(
            [
                java,
                "-jar",
                str(VNU_JAR),
                "--errors-only",
                "--format",
                "json",
                *map(str, files.values()),
            ],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
            check=False,
        )
    report = json.loads(run.stderr or run.stdout)
    by_file: dict[str, list[str]] = {name: [] for name in files}
    # The checker names files "file:/tmp/..." (one slash): compare the paths.
    names = {str(path.resolve()): name for name, path in files.items()}
    for message in report["messages"]:
        where = "/" + message.get("url", "").removeprefix("file:").lstrip("/")
        name = names.get(where, "?")
        line = message.get("lastLine", "?")
        by_file.setdefault(name, []).append(f"line {line}: {message['message']}")
    yield by_file


@pytest.mark.parametrize("page", PAGES)
def test_page_has_no_nu_checker_errors(checked: dict[str, list[str]], page: str) -> None:
    assert checked[page] == []


def test_checker_reports_nothing_it_could_not_place(checked: dict[str, list[str]]) -> None:
    assert checked.get("?", []) == []
