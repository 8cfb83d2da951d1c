"""The public face under load: 10k published initiatives and 5k feed items.

Seeds a temporary SQLite database through the real paths (the CSV importer, the feed
ingester), starts ``streamlit run asgi_app.py`` on a free loopback port, then prints:

- the HTML page's render time without cache (median) and its size;
- server time of the cached page: p50/p95 over 300 sequential requests (loopback);
- throughput with wrk (Debian's package) for 10 s, 2 threads, 32 connections;
- the Streamlit public page's time to first render in headless Chromium (median of 3)
  and axe-core's violation count on it.

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
from initiatives.models import Initiative, ReviewState
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


def start_server(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATABASE_URL=url, HUB_RUN_SCHEDULER="0", HUB_PUBLIC_CACHE_SECONDS="60")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "asgi_app.py",
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"server did not start; see {log}")


def render_without_cache(url: str) -> tuple[float, int]:
    engine = make_engine(url)
    times, size = [], 0
    for _ in range(5):
        start = time.perf_counter()
        size = len(build(engine, "index", language="pt", query=PublicQuery()))
        times.append(time.perf_counter() - start)
    engine.dispose()
    return statistics.median(times), size


def cached_latency(base: str) -> tuple[float, float]:
    # A new connection per request, as most visitors arrive: with keep-alive, the client's
    # delayed ACKs add ~40 ms on loopback that are not the server's time.
    with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
        client.get(f"{base}/public/?lang=pt")  # warm the cache
        times = []
        for _ in range(300):
            start = time.perf_counter()
            response = client.get(f"{base}/public/?lang=pt")
            times.append(time.perf_counter() - start)
            assert response.status_code == 200
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)]


def throughput(base: str) -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        return "wrk not installed (apt-get install wrk)"
    result = subprocess.run(
        [wrk, "-t2", "-c32", "-d10s", f"{base}/public/?lang=pt"],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    return f"{float(match.group(1)):,.0f} requests/s" if match else result.stdout[-300:]


def streamlit_first_render(base: str) -> tuple[float, int]:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    times, violations = [], 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        for _ in range(3):
            context = browser.new_context()
            page = context.new_page()
            start = time.perf_counter()
            page.goto(f"{base}/?lang=pt")
            page.get_by_role("heading", name="Informação oficial e apoio").wait_for(timeout=60_000)
            times.append(time.perf_counter() - start)
            page.wait_for_timeout(1500)
            violations = len(Axe().run(page).response["violations"])
            context.close()
        browser.close()
    return statistics.median(times), violations


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        url = seed(Path(folder))
        print(
            f"seeded {INITIATIVES:,} published initiatives and {FEEDS * ITEMS_PER_FEED:,} "
            f"feed items in {time.perf_counter() - started:.1f} s"
        )
        render, size = render_without_cache(url)
        print(
            f"HTML page, uncached render: median {render * 1000:.0f} ms, {size / 1024:.1f} KB "
            f"(goal < 100 KB)"
        )
        port = free_port()
        server = start_server(url, port, Path(folder) / "server.log")
        base = f"http://127.0.0.1:{port}"
        try:
            p50, p95 = cached_latency(base)
            print(
                f"HTML page, cached: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms "
                f"(goal p95 <= 50 ms)"
            )
            print(f"HTML page, wrk 2 threads x 32 connections: {throughput(base)} (goal >= 500/s)")
            first, violations = streamlit_first_render(base)
            print(
                f"Streamlit public page: time to first render median {first:.2f} s; "
                f"axe-core violations: {violations}"
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
