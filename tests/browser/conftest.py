"""Shared browser-test machinery: a real ``streamlit run asgi_app.py`` server with demo
data, Debian's Chromium driven by Playwright, small page helpers, and failure
diagnostics (a screenshot of each page a failed test opened, and the tail of the server
log, attached to the report).

The server and browser fixtures are module-scoped: every test module gets its own
freshly started server on a free loopback port, with its own SQLite database. A module
may rely on that (test_login_browser.py opens the first page on a fresh server).

Needs Debian's Chromium at /usr/bin/chromium (never ``playwright install``). Without it
the tests skip locally and fail under CI=true.

Test modules import the helpers and constants from here
(``from tests.browser.conftest import ...``); the fixtures they get by name.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = os.environ.get("CI") == "true"

DEMO_PASSWORD = "demo-hub-2020"

# Two slow cores: generous, but every wait is bounded.
INIT_DB_TIMEOUT_S = 120
SERVER_START_TIMEOUT_S = 60
SERVER_STOP_TIMEOUT_S = 15
RENDER_TIMEOUT_MS = 60_000  # the first session also migrates and warms the engine
STEP_TIMEOUT_MS = 30_000


# --- server --------------------------------------------------------------------------


@dataclass
class HubServer:
    base_url: str
    database_url: str
    log_path: Path
    artifacts: Path
    pages_opened: int = 0

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as err:
            return f"(no server log: {err})"
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hub_env(database_url: str) -> dict[str, str]:
    """The server's environment, built explicitly: tests/conftest.py strips HUB_*
    in-process, and an operator's own HUB_* settings must not leak in either."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("HUB_")}
    env.update(
        HUB_DEMO_MODE="1",
        HUB_DATABASE_URL=database_url,
        # The demo feed sources carry real URLs: no polling from a test server.
        HUB_RUN_SCHEDULER="0",
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",  # plain tracebacks in the server log attached to failures
    )
    return env


def _wait_for_health(url: str, process: subprocess.Popen[bytes], server: HubServer) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"streamlit exited with code {process.returncode} before answering "
                f"{url}.\n--- server log ---\n{server.log_tail()}"
            )
        try:
            with opener.open(url, timeout=5) as response:
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as err:
            last_error = str(err)
        time.sleep(0.5)
    pytest.fail(
        f"{url} did not answer within {SERVER_START_TIMEOUT_S} s ({last_error}).\n"
        f"--- server log ---\n{server.log_tail()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=SERVER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SERVER_STOP_TIMEOUT_S)


@pytest.fixture(scope="module")
def chromium_executable() -> str:
    if not CHROMIUM.exists():
        reason = (
            f"{CHROMIUM} is missing: install Debian's chromium package "
            "(apt-get install -y chromium); never run `playwright install`."
        )
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def hub_server(
    chromium_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HubServer]:
    """A real ``streamlit run asgi_app.py`` on a free loopback port, with demo data, one
    per test module.

    Depends on chromium_executable only so that a missing browser skips before the
    server is started for nothing.
    """
    workdir = tmp_path_factory.mktemp("hub_browser")
    database_url = f"sqlite:///{workdir / 'hub.db'}"
    env = _hub_env(database_url)

    init = subprocess.run(
        [sys.executable, "-m", "hub", "init-db"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=INIT_DB_TIMEOUT_S,
        check=False,
    )
    if init.returncode != 0:
        pytest.fail(
            f"`python -m hub init-db` failed with code {init.returncode}:\n"
            f"{init.stdout}\n{init.stderr}"
        )

    port = _free_port()
    server = HubServer(
        base_url=f"http://127.0.0.1:{port}",
        database_url=database_url,
        log_path=workdir / "streamlit.log",
        artifacts=workdir,
    )
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "asgi_app.py",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                # No module reloading when a source file changes under a running test:
                # a re-imported model module would redefine its tables and crash.
                "--server.fileWatcherType",
                "none",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_health(server.url("/app/_stcore/health"), process, server)
        yield server
    finally:
        _stop(process)


# --- browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(chromium_executable: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


OpenPage = Callable[[str], Page]


@pytest.fixture
def open_page(
    browser: Browser, hub_server: HubServer, request: pytest.FixtureRequest
) -> Iterator[OpenPage]:
    """Open a server path in a NEW browser context (a separate anonymous visitor).

    Pages are recorded on the test item so the report hook below can screenshot them if
    the test fails.
    """
    contexts = []
    request.node.hub_pages = []
    request.node.hub_server = hub_server

    def _open(path: str) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(STEP_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        request.node.hub_pages.append(page)
        hub_server.pages_opened += 1
        page.goto(hub_server.url(path), wait_until="commit")
        return page

    yield _open
    for context in contexts:
        context.close()


# --- page helpers --------------------------------------------------------------------


def wait_until_idle(page: Page) -> None:
    """Wait until the script run that produced the current elements has finished."""
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=RENDER_TIMEOUT_MS
    )


def nav_link(page: Page, title: str) -> Locator:
    # The navigation runs along the top. The accessible name may carry the Material
    # icon's ligature text ("history Audit log").
    return page.get_by_role("link", name=re.compile(rf"(^|\s){re.escape(title)}$"))


def nav_offers(page: Page, title: str) -> Locator:
    """The navigation's links to the page titled ``title``, shown or not: Streamlit's
    top bar folds the pages that do not fit into an "N more" menu and keeps their links
    in the DOM, hidden (so nav_link no longer finds them by role); a menu built from
    ``st.page_link`` in the sidebar is matched too."""
    links = page.locator('[data-testid="stTopNavLink"], [data-testid="stPageLink-NavLink"]')
    return links.filter(has=page.get_by_text(title, exact=True))


def assert_no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it is now, one line each ("rule: help (N
    nodes)"), so an assertion ``== []`` prints what is wrong. axe-core comes bundled in
    the axe-playwright-python wheel: nothing is fetched at test time."""
    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in results.response["violations"]
    ]


def sign_in(page: Page, email: str, *, then_see: str) -> None:
    """Sign in through the real form, starting from a page that shows the navigation,
    and wait until the navigation offers ``then_see`` (a page of the new role): the
    workspace's "Sign in" page links to the plain /signin form (portal/signin.py),
    which sets the session cookie and sends the browser back to the workspace."""
    expect(nav_link(page, "Sign in")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    nav_link(page, "Sign in").click()
    expect(page).to_have_url(re.compile(r"/login(\?|$)"), timeout=RENDER_TIMEOUT_MS)
    page.get_by_role("link", name="Go to the sign-in page").click()
    expect(page).to_have_url(re.compile(r"/signin\?"), timeout=RENDER_TIMEOUT_MS)
    email_field = page.get_by_label("E-mail", exact=True)
    expect(email_field).to_be_editable(timeout=RENDER_TIMEOUT_MS)
    email_field.fill(email)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(nav_link(page, then_see)).to_be_visible(timeout=RENDER_TIMEOUT_MS)


# --- diagnostics ---------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when != "call" or not report.failed:
        return report
    server = getattr(item, "hub_server", None)
    lines: list[str] = []
    for number, page in enumerate(getattr(item, "hub_pages", []), start=1):
        if server is None:
            break
        path = server.artifacts / f"{item.name}-{number}.png"
        try:
            page.screenshot(path=str(path), full_page=True, timeout=10_000)
            lines.append(f"page {number} ({page.url}): screenshot {path}")
        except Exception as err:  # diagnostics must never hide the real failure
            lines.append(f"page {number}: no screenshot ({err})")
    if server is not None:
        lines += [f"server log {server.log_path} (tail):", server.log_tail()]
    if lines:
        report.sections.append(("browser diagnostics", "\n".join(lines)))
    return report
