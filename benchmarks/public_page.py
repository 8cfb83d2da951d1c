"""The public face under load: 10k published initiatives and 5k feed items.

Seeds a temporary SQLite database through the real paths (the CSV importer, the feed
ingester), then serves it both ways a deployment can: the combined server
(``streamlit run asgi_app.py``: the public site at the root, the workspace under /app)
and the public site on its own (``python -m hub serve-public``, uvicorn, no Streamlit).
For the front page ``/`` and an initiative's own page, each way, it prints:

- the render time without cache (median) and the size;
- server time of the cached page: p50/p95 over 300 sequential requests (loopback);
- throughput with wrk (Debian's package) for 10 s, 2 threads, 32 connections;

then a citizen's view in headless Chromium (median of 3): ``/`` from navigation to
content, and, beside it, the Streamlit public page (/app/) with axe-core's count.

    .venv/bin/python benchmarks/public_page.py
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import update
from sqlmodel import Session

from benchmarks._feeds_common import alerts_feed
from benchmarks.registry_import import make_csv, make_template, operator
from feeds.models import FeedItem, FeedSource, FeedState, ItemStatus, TrustTier
from feeds.parse import parse_feed
from feeds.store import ingest_entries
from feeds.topics import load_topics
from hub.db import make_engine
from hub.records import utcnow
from initiatives.exchange import import_initiatives
from initiatives.models import Initiative, ReviewState, Status
from portal.content import PublicQuery
from portal.site import build

ROOT = Path(__file__).resolve().parent.parent
INITIATIVES = 10_000
FEEDS, ITEMS_PER_FEED = 100, 50


def seed(folder: Path) -> str:
    template, districts, municipalities = make_template(folder)
    url = f"sqlite:///{template}"
    engine = make_engine(url)
    with Session(engine) as session:
        report = import_initiatives(
            session=session,
            actor=operator(),
            data=make_csv(INITIATIVES, districts, municipalities),
            filename="bench.csv",
        )
        assert not report.problems, report.problems[:3]
        session.execute(update(Initiative).values(review_state=ReviewState.PUBLISHED))
        # The generated rows are all of 2020: keep half in force today, so the front page
        # (which lists what is in force) shows a real list and the rest is "ended".
        session.execute(
            update(Initiative)
            .where(Initiative.id % 2 == 0)  # type: ignore[operator]
            .values(status=Status.ACTIVE, planned_end=None, actual_end=None)
        )
        topics = load_topics()
        for n in range(FEEDS):
            source = FeedSource(
                name=f"Feed {n}", url=f"https://feeds.example.pt/{n}.xml", trust=TrustTier.TRUSTED
            )
            session.add(source)
            session.flush()
            session.add(FeedState(source_id=source.id or 0))
            parsed = parse_feed(
                alerts_feed(n, ITEMS_PER_FEED), url=source.url, content_type="application/rss+xml"
            )
            ingest_entries(
                session=session, source=source, entries=parsed.entries, topics=topics, now=utcnow()
            )
        session.execute(update(FeedItem).values(status=ItemStatus.PUBLISHED))
        session.commit()
    engine.dispose()
    return url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(command: list[str], url: str, health: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATABASE_URL=url, HUB_RUN_SCHEDULER="0", HUB_PUBLIC_CACHE_SECONDS="60")
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(health, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"server did not start; see {log}")


def combined(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = ["-m", "streamlit", "run", "asgi_app.py", "--server.headless", "true"]
    command += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    return start_server(command, url, f"http://127.0.0.1:{port}/app/_stcore/health", log)


def standalone(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = ["-m", "hub", "serve-public", "--host", "127.0.0.1", "--port", str(port)]
    return start_server(command, url, f"http://127.0.0.1:{port}/?lang=pt", log)


def render_without_cache(url: str) -> tuple[float, int]:
    engine = make_engine(url)
    times, size = [], 0
    for _ in range(5):
        start = time.perf_counter()
        size = len(build(engine, "index", language="pt", query=PublicQuery()))
        times.append(time.perf_counter() - start)
    engine.dispose()
    return statistics.median(times), size


def item_path(base: str) -> str:
    """The first initiative page the front page links to."""
    found = re.search(r'href="(/initiatives/[^"?#]+)', httpx.get(f"{base}/?lang=pt").text)
    if found is None:
        raise SystemExit("the front page links to no initiative page")
    return f"{found.group(1)}?lang=pt"


def cached_latency(address: str) -> tuple[float, float, int]:
    # A new connection per request, as most visitors arrive: with keep-alive, the client's
    # delayed ACKs add ~40 ms on loopback that are not the server's time.
    with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
        size = len(client.get(address).content)  # warm the cache
        times = []
        for _ in range(300):
            start = time.perf_counter()
            response = client.get(address)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, (address, response.status_code)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], size


def throughput(address: str) -> float | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        print("  wrk not installed (apt-get install wrk)")
        return None
    result = subprocess.run(
        [wrk, "-t2", "-c32", "-d10s", address], capture_output=True, text=True, check=False
    )
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if "Non-2xx" in result.stdout or match is None:
        print(f"  wrk: {result.stdout[-300:]}")
        return None
    return float(match.group(1))


def measure(label: str, base: str, paths: dict[str, str]) -> dict[str, float | None]:
    rates: dict[str, float | None] = {}
    for name, path in paths.items():
        p50, p95, size = cached_latency(base + path)
        rate = throughput(base + path)
        rates[name] = rate
        shown = f"{rate:,.0f} requests/s" if rate is not None else "n/a"
        print(
            f"{label:<11} {name:<16} {size / 1024:6.1f} KB  cached p50 {p50 * 1000:5.1f} ms "
            f"p95 {p95 * 1000:5.1f} ms  wrk 2x32: {shown}"
        )
    return rates


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def browser_figures(base: str) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    front, streamlit, violations = [], [], 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        for _ in range(3):
            context = browser.new_context()
            page = context.new_page()
            start = time.perf_counter()
            page.goto(f"{base}/?lang=pt")
            page.get_by_role("heading", level=1).first.wait_for(timeout=60_000)
            front.append(time.perf_counter() - start)
            context.close()
        for _ in range(3):
            context = browser.new_context()
            page = context.new_page()
            start = time.perf_counter()
            page.goto(f"{base}/app/?lang=pt")
            page.get_by_role("heading", name="Informação oficial e apoio").wait_for(timeout=60_000)
            streamlit.append(time.perf_counter() - start)
            page.wait_for_timeout(1500)
            violations = len(Axe().run(page).response["violations"])
            context.close()
        browser.close()
    print(
        "Chromium, click to content (median of 3): "
        f"public site / {statistics.median(front):.2f} s; "
        f"Streamlit public page /app/ {statistics.median(streamlit):.2f} s "
        f"(axe-core violations there: {violations})"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        url = seed(Path(folder))
        print(
            f"seeded {INITIATIVES:,} published initiatives and {FEEDS * ITEMS_PER_FEED:,} "
            f"feed items in {time.perf_counter() - started:.1f} s"
        )
        render, size = render_without_cache(url)
        print(f"front page, uncached render: median {render * 1000:.0f} ms, {size / 1024:.1f} KB")
        rates: dict[str, dict[str, float | None]] = {}
        for label, start in (("combined", combined), ("standalone", standalone)):
            port = free_port()
            server = start(url, port, Path(folder) / f"{label}.log")
            base = f"http://127.0.0.1:{port}"
            try:
                paths = {"front page /": "/?lang=pt", "initiative page": item_path(base)}
                rates[label] = measure(label, base, paths)
                if label == "combined":
                    browser_figures(base)
            finally:
                server.terminate()
                server.wait(timeout=30)
        for name, rate in rates["standalone"].items():
            inside = rates["combined"].get(name)
            if rate and inside:
                print(f"{name}: standalone / combined = {rate / inside:.1f}x")
        print(
            "goals: standalone >= 2,500 requests/s and cached p95 <= 20 ms; combined no worse "
            "than before the front door (714 requests/s for /public/ inside Streamlit)"
        )


if __name__ == "__main__":
    main()
