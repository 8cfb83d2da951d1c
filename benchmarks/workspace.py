"""The staff workspace as staff get it (issue 21): time to content per page in Chromium.

    .venv/bin/python -m benchmarks.workspace --size 10000 [--pages gaps,registry]
        [--sessions 10] [--visits 3]

1. Seeds ``--size`` initiatives into a SQLite file through the real paths: the demo
   organisations and accounts (``wiring.prepare_database`` in demo mode), 14 more
   partner organisations, the exchange import service (``import_initiatives``, rows
   spread over organisations, districts, municipalities, categories and start dates,
   imported as submissions), the bulk review service (``initiatives.review.review_many``
   approves about 92 %), and some pending edits (a partner re-imports a few of its
   published rows with a changed title). The seeded file is cached by size under
   /tmp/hub-workspace-bench/ so a re-run starts in seconds; each run works on a copy.
2. Starts the real server (``streamlit run asgi_app.py`` on a free port, as
   tests/browser/conftest.py does) and signs in as the demo administrator through the
   real /signin form (the administrator sees every staff page).
3. Per page: first visit (the server's first render of it) and later visits (median of
   ``--visits``), each from ``page.goto`` until the page's own content element shows
   (``CONTENT`` below: the thing a person came for, not the title or a spinner), with
   the server's CPU time per visit beside the wall time (the machine is shared).
4. ``--sessions`` signed-in browser contexts visit every page at once: p95 per page.
   The server's RSS after each phase, and the load average.

Re-run on a quiet machine (both sizes side by side; seeding is cached, 50k seeds once in
about 4 minutes at low load, ``--seed-only`` does just that):

    .venv/bin/python -m benchmarks.workspace --size 10000 --size 50000

Targets (50,000): later visits <= 1.5 s (gap map <= 2.5 s), no first visit over 5 s,
10 sessions p95 <= 3 s, server RSS < 600 MB. Never part of the pass/fail test run.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CACHE = Path(tempfile.gettempdir()) / "hub-workspace-bench"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EMAIL, PASSWORD = "admin@demo.example", "demo-hub-2020"
TIMEOUT_MS = 120_000
SEED_VERSION = 2  # bump when the seeding changes, so an old cached file is not reused

# The page's url path and the element that means "the content is there". A page whose
# content is a table waits for the table; the gap map for the drawn map in its frame.
CONTENT: dict[str, tuple[str, str]] = {
    "overview": ("staff_home", '[data-testid="stVegaLiteChart"]'),
    "review": ("staff_review", '[data-testid="stDataFrame"]'),
    "registry": ("staff_registry", '[data-testid="stDataFrame"]'),
    "overlaps": ("staff_overlaps", '[data-testid="stTabs"]'),
    "gaps": ("staff_gaps", "frame:"),
    "partners": ("staff_partners", '[data-testid="stDataFrame"]'),
    "feeds": ("staff_feeds", "idle:h1"),
    "feed_review": ("staff_feed_review", "idle:h1"),
    "questions": ("staff_questions", "idle:h1"),
    "directory": ("staff_directory", '[data-testid="stDataFrame"]'),
    "accounts": ("staff_accounts", '[data-testid="stDataFrame"]'),
    "audit": ("staff_audit", '[data-testid="stDataFrame"]'),
}
TARGETS = {"later": 1.5, "later_gaps": 2.5, "first": 5.0, "p95": 3.0, "rss_mb": 600}

EXTRA_ORGANISATIONS = [(f"Parceiro de teste {n}", f"PT{n:02d}") for n in range(1, 15)]
CATEGORIES = ["connectivity", "health", "education", "telework", "information", "other"]
GROUPS = ["health_professionals", "students_teachers", "businesses", "citizens", "elderly"]
CHANNELS = ["online", "phone", "in_person", "sms", "broadcast"]
STATUSES = ["planned", "active", "completed"]
WORDS = [
    "dados",
    "móveis",
    "grátis",
    "escolas",
    "tablets",
    "saúde",
    "apoio",
    "linha",
    "telefone",
    "idosos",
    "famílias",
]


# --- seeding -------------------------------------------------------------------------


def _principal(role: str, organisation_id: int | None = None) -> Any:
    from hub.auth import SYSTEM_EMAIL, Principal, Role
    from hub.records import utcnow

    return Principal(
        account_id=0,
        email=SYSTEM_EMAIL,
        display_name="benchmark",
        role=Role(role),
        organisation_id=organisation_id,
        signed_in_at=utcnow(),
    )


def _csv(rows: list[list[str]]) -> bytes:
    from initiatives.exchange import COLUMNS

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


# Titles and descriptions from ~2,700 made-up words beside the real ones: a registry of
# 50,000 says different things (11 shared words made every pair look alike to the
# overlap engine); about 2 % of rows re-describe an earlier one, the overlaps to find.
SYLLABLES = ["ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi", "zo"]
VOCABULARY = WORDS + [a + b + c for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES]
COPIES = 0.02


def _row(
    n: int, rng: random.Random, leads: list[str], districts: list[str], munis: list[str]
) -> list[str]:
    start = date(2020, 3, 1) + timedelta(days=rng.randrange(400))
    places = [rng.choice(districts), *rng.sample(munis, rng.randint(1, 3))]
    if n > 100 and rng.random() < COPIES:  # the same work described again, a little apart
        earlier = random.Random(n - rng.randrange(1, 100))
        title = " ".join(earlier.choices(VOCABULARY, k=6)).capitalize()
        description = " ".join(earlier.choices(VOCABULARY, k=30))
    else:
        title = " ".join(rng.choices(VOCABULARY, k=6)).capitalize()
        description = " ".join(rng.choices(VOCABULARY, k=30))
    return [
        f"WS-{n:06d}",
        f"{title} {n}",
        description,
        leads[n % len(leads)],
        "",
        rng.choice(CATEGORIES),
        ";".join(rng.sample(GROUPS, 2)),
        ";".join(places),
        ";".join(rng.sample(CHANNELS, 2)),
        start.isoformat(),
        (start + timedelta(days=rng.randrange(30, 300))).isoformat(),
        rng.choice(STATUSES),
        str(rng.randrange(100, 100_000)),
        "",
        f"https://www.example.pt/iniciativa/{n}",
        f"contacto{n}@example.pt",
    ]


def seed(path: Path, size: int) -> None:
    """Demo data + ``size`` imported initiatives, ~92 % approved, some pending edits."""
    os.environ["HUB_DEMO_MODE"] = "1"
    from sqlmodel import Session, col, select

    from geo.models import Area, AreaLevel
    from hub.db import make_engine
    from initiatives.exchange import import_initiatives
    from initiatives.models import Initiative, ReviewState
    from partners.models import Organisation
    from wiring import prepare_database

    engine = make_engine(f"sqlite:///{path}")
    prepare_database(engine)
    rng = random.Random(21)
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(Organisation(name=n, acronym=a) for n, a in EXTRA_ORGANISATIONS)
        session.commit()
        organisations = session.exec(select(Organisation)).all()
        leads = [o.acronym or o.name for o in organisations]
        districts = [
            a.code for a in session.exec(select(Area).where(Area.level == AreaLevel.DISTRICT))
        ]
        munis = [
            a.code for a in session.exec(select(Area).where(Area.level == AreaLevel.MUNICIPALITY))
        ]
        staff = _principal("admin")
        step = 5_000
        for first in range(0, size, step):
            rows = [
                _row(n, rng, leads, districts, munis) for n in range(first, min(size, first + step))
            ]
            started = time.perf_counter()
            report = import_initiatives(
                session=session, actor=staff, data=_csv(rows), filename="bench.csv", submit=True
            )
            assert report.ok, report.lines()[:5]
            print(f"  imported {first + len(rows):,} ({time.perf_counter() - started:.1f} s)")
        waiting = session.exec(
            select(Initiative.id).where(
                col(Initiative.code).like("WS-%"), Initiative.review_state == ReviewState.SUBMITTED
            )
        ).all()
        approve = [i for i in waiting if rng.random() < 0.92]
        started = time.perf_counter()
        _approve(session, staff, [int(i) for i in approve if i is not None])
        print(f"  approved {len(approve):,} ({time.perf_counter() - started:.1f} s)")
        # Pending edits: a partner re-imports some of its published rows, retitled.
        org = organisations[-1]
        mine = session.exec(
            select(Initiative.code).where(
                Initiative.lead_organisation_id == org.id,
                Initiative.review_state == ReviewState.PUBLISHED,
            )
        ).all()[:50]
        numbers = [int(code.split("-")[1]) for code in mine]
        edit_rng = random.Random(5)
        rows = []
        for n in numbers:
            row = _row(n, edit_rng, [org.acronym or org.name], districts, munis)
            row[1] += " (revisto)"
            rows.append(row)
        if rows:
            report = import_initiatives(
                session=session,
                actor=_principal("partner", org.id),
                data=_csv(rows),
                filename="edits.csv",
                submit=True,
            )
            print(f"  pending edits: {len(rows)} ({'ok' if report.ok else report.lines()[:3]})")
    engine.dispose()


def _approve(session: Any, actor: Any, ids: list[int]) -> None:
    try:  # the bulk service (issue 21) when it is there, the single approve before
        from initiatives.review import Decision, review_many
    except ImportError:
        from initiatives.models import Initiative
        from initiatives.service import approve

        for initiative_id in ids:
            record = session.get(Initiative, initiative_id)
            approve(
                session=session,
                actor=actor,
                initiative_id=initiative_id,
                expected_version=record.version,
            )
        return
    review_many(session=session, actor=actor, ids=ids, decision=Decision.APPROVE)


def seeded_copy(size: int, folder: Path) -> Path:
    CACHE.mkdir(exist_ok=True)
    cached = CACHE / f"workspace-{size}-v{SEED_VERSION}.db"
    if not cached.exists():
        print(f"seeding {size:,} initiatives into {cached} (once; cached for re-runs)")
        partial = cached.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        started = time.perf_counter()
        seed(partial, size)
        partial.rename(cached)
        print(f"seeded in {time.perf_counter() - started:.0f} s")
    copy = folder / "hub.db"
    shutil.copy(cached, copy)
    return copy


# --- server --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def start_server(database: Path, log: Path) -> Server:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DEMO_MODE="1",
        HUB_DATABASE_URL=f"sqlite:///{database}",
        HUB_RUN_SCHEDULER="0",
        PYTHONUNBUFFERED="1",
    )
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "asgi_app.py",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited; log: {log}")
        try:
            with opener.open(f"{base}/app/_stcore/health", timeout=5) as response:
                if response.status == 200:
                    return Server(process, base)
        except OSError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit(f"server did not answer within 120 s; log: {log}")


# --- browser -------------------------------------------------------------------------


def sign_in(context: object, base: str) -> None:
    page = context.new_page()  # type: ignore[attr-defined]
    page.goto(f"{base}/signin?lang=en&next=/app/", wait_until="commit")
    page.get_by_label("E-mail", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("link", name=re.compile(r"(^|\s)Gap map$")).wait_for(timeout=TIMEOUT_MS)
    page.close()


def visit(page: Any, base: str, name: str) -> float:
    """Seconds from navigation until the page's content element shows (inf: not within
    TIMEOUT_MS; the run goes on and the table says so)."""
    path, _selector = CONTENT[name]
    started = time.perf_counter()
    page.goto(f"{base}/app/{path}?lang=en", wait_until="commit")
    try:
        wait_content(page, name)
    except Exception as err:  # Playwright's TimeoutError and our own
        print(f"  {name}: no content within {TIMEOUT_MS / 1000:.0f} s ({type(err).__name__})")
        return math.inf
    return time.perf_counter() - started


DRAWN = (
    "() => !!(window.map_div && window.L && map_div._layers && "
    "Object.values(map_div._layers).some(l => l instanceof L.Path))"
)


def wait_content(page: Any, name: str) -> None:
    """Until the page's content shows: its element, or for the gap map a drawn layer in
    the map's frame (st_folium's iframe; its document loads after the element)."""
    _path, selector = CONTENT[name]
    if selector.startswith("frame:"):
        page.locator("iframe[title*='streamlit_folium']").first.wait_for(
            state="attached", timeout=TIMEOUT_MS
        )
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        frame = None
        while frame is None and time.monotonic() < deadline:
            frame = next((f for f in page.frames if "streamlit_folium" in f.url), None)
            if frame is None:
                page.wait_for_timeout(50)
        if frame is None:
            raise TimeoutError("no streamlit_folium frame")
        frame.wait_for_function(DRAWN, timeout=TIMEOUT_MS, polling=50)
    elif selector.startswith("idle:"):
        page.locator(selector[5:]).first.wait_for(timeout=TIMEOUT_MS)
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
            timeout=TIMEOUT_MS
        )
    else:
        page.locator(selector).first.wait_for(timeout=TIMEOUT_MS)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(size: int, pages: list[str], sessions: int, visits: int) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    results: dict[str, object] = {"size": size}
    with tempfile.TemporaryDirectory() as tmp:
        database = seeded_copy(size, Path(tmp))
        log = Path(tmp) / "streamlit.log"
        server = start_server(database, log)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                sign_in(context, server.base)
                page = context.new_page()
                one: dict[str, dict[str, float]] = {}
                for name in pages:
                    cpu0 = server.cpu_seconds()
                    first = visit(page, server.base, name)
                    first_cpu = server.cpu_seconds() - cpu0
                    later, cpu = [], []
                    for _ in range(visits):
                        cpu0 = server.cpu_seconds()
                        later.append(visit(page, server.base, name))
                        cpu.append(server.cpu_seconds() - cpu0)
                    one[name] = {
                        "first": first,
                        "first_cpu": first_cpu,
                        "later": statistics.median(later),
                        "later_cpu": statistics.median(cpu),
                    }
                    print(
                        f"  {name:12} first {first:5.2f} s (cpu {first_cpu:5.2f}) "
                        f"later {one[name]['later']:5.2f} s (cpu {one[name]['later_cpu']:5.2f})"
                        f"  load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
                results["one"] = one
                results["rss_one"] = server.rss_mb()
                print(f"  server RSS after one user: {results['rss_one']:.0f} MB", flush=True)
                context.close()
                if sessions > 0:
                    results["many"], results["rss_many"] = _many(browser, server, pages, sessions)
                else:  # --sessions 0: the single user's figures only (nan in the table)
                    results["many"] = dict.fromkeys(pages, math.nan)
                    results["rss_many"] = math.nan
                browser.close()
        finally:
            server.process.terminate()
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
    results["load"] = os.getloadavg()
    return results


def _many(browser: object, server: Server, pages: list[str], sessions: int):
    """``sessions`` signed-in contexts, each visiting every page once at the same time.

    Playwright's sync API is bound to its thread, so the contexts share this thread
    and the visits are issued as concurrent navigations, then awaited in turn."""
    contexts = []
    for _ in range(sessions):
        context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        sign_in(context, server.base)
        contexts.append(context)
    tabs = [c.new_page() for c in contexts]
    times: dict[str, list[float]] = {name: [] for name in pages}
    peak = [server.rss_mb()]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak.append(server.rss_mb())
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    for name in pages:
        path, _selector = CONTENT[name]
        started = time.perf_counter()
        for tab in tabs:
            tab.goto(f"{server.base}/app/{path}?lang=en", wait_until="commit", timeout=TIMEOUT_MS)
        for tab in tabs:
            try:
                wait_content(tab, name)
                times[name].append(time.perf_counter() - started)
            except Exception:  # Playwright's TimeoutError and our own
                times[name].append(math.inf)
        print(f"  {name:12} {sessions} sessions p95 {p95(times[name]):5.2f} s", flush=True)
    stop.set()
    watcher.join()
    for context in contexts:
        context.close()
    return {name: p95(values) for name, values in times.items()}, max(peak)


def report(all_results: list[dict[str, object]], pages: list[str]) -> None:
    print()
    sizes = [r["size"] for r in all_results]
    header = "page".ljust(12) + "".join(
        f" | {s:>7,}: first  later  cpu/visit  p95x{len(pages) and ''}" for s in sizes
    )
    print(header)
    for name in pages:
        line = name.ljust(12)
        for r in all_results:
            one = r["one"][name]  # type: ignore[index]
            many = r["many"][name]  # type: ignore[index]
            line += (
                f" | {one['first']:7.2f} {one['later']:6.2f} {one['later_cpu']:9.2f} {many:6.2f}"
            )
        limit = TARGETS["later_gaps"] if name == "gaps" else TARGETS["later"]
        print(f"{line}   (targets: later <= {limit} s, first <= 5 s, p95 <= 3 s)")
    for r in all_results:
        print(
            f"{r['size']:,}: server RSS {r['rss_one']:.0f} MB after one user, "
            f"{r['rss_many']:.0f} MB peak with the sessions (target < 600 MB); "
            f"load average {' '.join(f'{x:.1f}' for x in r['load'])} on {os.cpu_count()} cores"  # type: ignore[attr-defined]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, action="append", help="10000, 50000 (repeatable)")
    parser.add_argument("--pages", default=",".join(CONTENT), help="comma-separated")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--visits", type=int, default=3)
    parser.add_argument("--seed-only", action="store_true", help="seed (cache) and stop")
    args = parser.parse_args()
    sizes = args.size or [10_000]
    pages = [p for p in args.pages.split(",") if p]
    unknown = [p for p in pages if p not in CONTENT]
    if unknown:
        parser.error(f"unknown pages {unknown}; known: {', '.join(CONTENT)}")
    if args.seed_only:
        with tempfile.TemporaryDirectory() as tmp:
            for size in sizes:
                seeded_copy(size, Path(tmp))
        return
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    results = []
    for size in sizes:
        print(f"{size:,} initiatives:")
        results.append(run(size, pages, args.sessions, args.visits))
    report(results, pages)


if __name__ == "__main__":
    main()
