"""Sign-in and page guards in a real browser, against a real ``streamlit run`` server.

Order matters in this module. On a freshly started server Streamlit serves the files in
``pages/`` by URL until some session has called ``st.navigation`` (hub/ui.py explains
why every page guards itself). The first test therefore deep-links to a staff page
before anything else has opened a page, so it exercises exactly that window; the later
tests sign in (which runs hub_app.py and so ``st.navigation``) and check that anonymous
visitors are still kept out afterwards.

Needs Debian's Chromium at /usr/bin/chromium (never ``playwright install``). Without it
the tests skip locally and fail under CI=true.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

pytestmark = pytest.mark.browser

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
ADMIN_EMAIL = "admin@demo.example"

# Two slow cores: generous, but every wait is bounded.
INIT_DB_TIMEOUT_S = 120
SERVER_START_TIMEOUT_S = 60
SERVER_STOP_TIMEOUT_S = 15
RENDER_TIMEOUT_MS = 60_000  # the first session also migrates and warms the engine
STEP_TIMEOUT_MS = 30_000

REFUSED = "Please sign in to see this page."
PAGE_NOT_FOUND = "Page not found"


# --- server --------------------------------------------------------------------------


@dataclass
class HubServer:
    base_url: str
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
    """A real ``streamlit run hub_app.py`` on a free loopback port, with demo data.

    Depends on chromium_executable only so that a missing browser skips before the
    server is started for nothing.
    """
    workdir = tmp_path_factory.mktemp("hub_browser")
    env = _hub_env(f"sqlite:///{workdir / 'hub.db'}")

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
                "hub_app.py",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_health(server.url("/_stcore/health"), process, server)
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

    Pages are recorded on the test item so tests/browser/conftest.py can screenshot
    them if the test fails.
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


def wait_until_idle(page: Page) -> None:
    """Wait until the script run that produced the current elements has finished."""
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=RENDER_TIMEOUT_MS
    )


def nav_link(page: Page, title: str):  # -> Locator
    # The navigation runs along the top. The accessible name may carry the Material
    # icon's ligature text ("history Audit log").
    return page.get_by_role("link", name=re.compile(rf"(^|\s){re.escape(title)}$"))


def assert_no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


# --- tests (module order matters: see the docstring) ---------------------------------


def test_anonymous_deep_link_to_staff_page_is_refused_on_fresh_server(
    hub_server: HubServer, open_page: OpenPage
) -> None:
    if hub_server.pages_opened:
        pytest.fail(
            "This test must open the first page on a freshly started server (it checks "
            "the window before any session has called st.navigation); another test ran "
            "first. Run the module in file order."
        )
    page = open_page("/staff_accounts?lang=en")

    # Seeing the guard's refusal proves Streamlit served pages/staff_accounts.py itself
    # (the pages-directory router); hub_app.py's navigation would have shown public_home.
    expect(page.get_by_text(REFUSED)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(page.get_by_role("link", name="Go to the start page")).to_be_visible()
    wait_until_idle(page)

    expect(page.get_by_role("heading", name="Accounts")).to_have_count(0)
    expect(page.get_by_text("Create an account")).to_have_count(0)
    expect(page.get_by_text("Change an account")).to_have_count(0)
    expect(page.get_by_text("Search by e-mail or name")).to_have_count(0)
    expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
    # Nor may the pages-directory sidebar list the staff pages' names to a visitor.
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(page.get_by_text("staff audit")).to_have_count(0)
    assert_no_exception(page)


def test_admin_signs_in_through_the_form_and_gets_staff_navigation(
    open_page: OpenPage,
) -> None:
    page = open_page("/?lang=en")
    expect(nav_link(page, "Information")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    for staff_page in ("Overview", "Partners", "Accounts", "Audit log"):
        expect(nav_link(page, staff_page)).to_have_count(0)

    nav_link(page, "Sign in").click()
    expect(page).to_have_url(re.compile(r"/login(\?|$)"), timeout=RENDER_TIMEOUT_MS)
    email = page.get_by_label("E-mail", exact=True)
    expect(email).to_be_editable(timeout=RENDER_TIMEOUT_MS)
    email.fill(ADMIN_EMAIL)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    for staff_page in ("Overview", "Partners", "Accounts", "Audit log"):
        expect(nav_link(page, staff_page)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    expect(nav_link(page, "Sign in")).to_have_count(0)
    expect(page.get_by_text("Signed in as Ana Administradora (administrator)")).to_be_visible()
    wait_until_idle(page)
    assert_no_exception(page)


def test_anonymous_visitor_is_still_refused_after_a_staff_sign_in(
    open_page: OpenPage,
) -> None:
    page = open_page("/staff_audit?lang=en")

    # Once st.navigation has run, an anonymous visitor's navigation has no staff_audit:
    # Streamlit says "Page not found" and runs the default public page. (Run alone on a
    # fresh server, the page's own guard refuses instead.) Either way: no audit log.
    refused_or_not_found = page.get_by_text(REFUSED).or_(
        page.get_by_text(PAGE_NOT_FOUND, exact=True)
    )
    expect(refused_or_not_found.first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    wait_until_idle(page)

    expect(page.get_by_role("heading", name="Audit log")).to_have_count(0)
    expect(page.get_by_text("Every change by anyone, newest first.")).to_have_count(0)
    expect(page.get_by_text("Who (name or e-mail contains)")).to_have_count(0)
    for staff_page in ("Overview", "Partners", "Accounts", "Audit log"):
        expect(nav_link(page, staff_page)).to_have_count(0)
    expect(page.get_by_text("Signed in as", exact=False)).to_have_count(0)
    assert_no_exception(page)
