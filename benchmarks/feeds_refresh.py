"""Refresh speed: 500 feeds x 50 items from a local HTTP server (in its own process),
first refresh (everything new) and the next one (every feed answers 304).

    .venv/bin/python benchmarks/feeds_refresh.py [--feeds 500] [--rounds 3]

All feeds live on 127.0.0.1, so the per-host limit is raised to the overall
concurrency here; in production each publisher is its own host.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._feeds_common import alerts_feed


def serve(feeds: int, port_queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    bodies = {f"/f/{n}": alerts_feed(n) for n in range(feeds)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = bodies.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = f'"{self.path}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.request_queue_size = 256
    port_queue.put(httpd.server_address[1])
    httpd.serve_forever()


def one_round(port: int, feeds: int, folder: Path, number: int) -> tuple[float, float, int]:
    from sqlmodel import Session

    from feeds.models import FeedSource, FeedState, TrustTier
    from feeds.worker import poll_sources
    from hub.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{folder / f'refresh{number}.db'}")
    migrate(engine)
    with Session(engine) as session:
        for n in range(feeds):
            source = FeedSource(
                name=f"Feed {n}", url=f"http://127.0.0.1:{port}/f/{n}", trust=TrustTier.TRUSTED
            )
            session.add(source)
            session.flush()
            session.add(FeedState(source_id=source.id or 0))
        session.commit()
    start = time.perf_counter()
    first = poll_sources(engine=engine, due_only=False)
    first_seconds = time.perf_counter() - start
    new = sum(s.new for s in first)
    start = time.perf_counter()
    second = poll_sources(engine=engine, due_only=False)
    second_seconds = time.perf_counter() - start
    assert all(s.outcome.value == "not_modified" for s in second), {s.outcome for s in second}
    engine.dispose()
    return first_seconds, second_seconds, new


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HUB_FETCH_ALLOW_HOSTS", "127.0.0.1")
    os.environ.setdefault("HUB_FETCH_CONCURRENCY", "16")
    os.environ.setdefault("HUB_FETCH_PER_HOST", os.environ["HUB_FETCH_CONCURRENCY"])
    ports: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(target=serve, args=(args.feeds, ports), daemon=True)
    server.start()
    port = ports.get(timeout=60)
    firsts, seconds = [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for number in range(args.rounds):
                first, second, new = one_round(port, args.feeds, Path(tmp), number)
                firsts.append(first)
                seconds.append(second)
                print(
                    f"  round {number + 1}: first {first:.1f} s ({new} new items), "
                    f"all-304 {second:.2f} s",
                    flush=True,
                )
    finally:
        server.terminate()
        server.join()
    print(
        f"{args.feeds} feeds x 50 items, concurrency {os.environ['HUB_FETCH_CONCURRENCY']}, "
        f"{args.rounds} rounds, medians:"
    )
    print(f"  first refresh (all new):  {statistics.median(firsts):.1f} s")
    print(f"  next refresh (all 304):   {statistics.median(seconds):.2f} s")


if __name__ == "__main__":
    main()
