"""Offline channels (issue 19): leaflets, the SMS line, the daily digest.

Each figure comes with the CPU time it took and the load average (on a shared machine
the wall time reads high). Prints three figures on a fresh SQLite database with the demo
data plus a registry spread over every municipality:

  1. leaflets for all 308 municipalities (PDF/UA, fonts embedded), one process and
     one per core (goal: <= 60 s);
  2. SMS answers per second through the RapidPro adapter over HTTP (uvicorn on
     127.0.0.1 in its own process, keep-alive clients in this one; goal: >= 500/s);
  3. a digest run for 100,000 subscribers, enqueued into the outbox, with the
     process's peak resident memory sampled every 50 ms (goal: <= 5 min, memory flat).

    .venv/bin/python benchmarks/offline.py [--municipalities N] [--sms N] [--subscribers N]
    .venv/bin/python benchmarks/offline.py --quick   # 100 leaflets, 2000 SMS, 20,000 subscribers
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import psutil
import uvicorn
from sqlalchemy import insert
from sqlmodel import Session, col, select
from starlette.applications import Starlette

from geo.models import Area, AreaLevel
from hub.db import make_engine, session_scope
from initiatives.models import (
    Initiative,
    InitiativeArea,
    InitiativeChannel,
    ReviewState,
    Status,
)
from outreach.digest import run_digest
from outreach.leaflets import leaflet_pdf
from outreach.models import Subscription, SubscriptionChannel, SubscriptionState
from outreach.subscriptions import address_hash
from partners.models import Organisation
from portal.sms_routes import ROUTES
from wiring import load_demo, prepare_database

SECRET = "benchmark-secret"  # noqa: S105 - a throw-away local database


def prepare(url: str) -> None:
    engine = make_engine(url)
    prepare_database(engine)
    with session_scope(engine) as session:
        load_demo(session=session)
        add_registry(session)
    engine.dispose()


def add_registry(session: Session, per_municipality: int = 3) -> None:
    """Published, in-force offers with offline channels in every municipality."""
    organisation = session.exec(select(Organisation)).first()
    assert organisation is not None
    codes = session.exec(select(Area.code).where(col(Area.level) == AreaLevel.MUNICIPALITY)).all()
    now = datetime.now(UTC)
    today = date.today()
    rows, areas, channels = [], [], []
    start = 100_000
    for n, code in enumerate(codes):
        for k in range(per_municipality):
            number = start + n * per_municipality + k
            rows.append(
                {
                    "id": number,
                    "code": f"BEN-{number}",
                    "title": f"Apoio de proximidade {k + 1} ({code})",
                    "description": "Entrega de bens essenciais e acompanhamento por telefone "
                    "a quem vive só. Inscrição na junta de freguesia.",
                    "lead_organisation_id": organisation.id,
                    "category": "social_support",
                    "status": Status.ACTIVE,
                    "review_state": ReviewState.PUBLISHED,
                    "planned_start": today - timedelta(days=10),
                    "planned_end": today + timedelta(days=20 + k),
                    "link": "https://example.pt/apoio",
                    "search_text": "apoio",
                    "created_at": now,
                    "updated_at": now,
                    "published_at": now,
                }
            )
            areas.append({"initiative_id": number, "area_code": code})
            channels += [
                {"initiative_id": number, "channel": "phone"},
                {"initiative_id": number, "channel": "in_person"},
            ]
    session.execute(insert(Initiative), rows)
    session.execute(insert(InitiativeArea), areas)
    session.execute(insert(InitiativeChannel), channels)
    session.commit()


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def leaflet_batch(args: tuple[str, list[str]]) -> int:
    url, codes = args
    os.environ["HUB_DATABASE_URL"] = url
    engine = make_engine(url)
    size = 0
    with Session(engine) as session:
        for code in codes:
            size += len(leaflet_pdf(session=session, area_code=code)[1])
    engine.dispose()
    return size


def bench_leaflets(url: str, count: int) -> None:
    engine = make_engine(url)
    with Session(engine) as session:
        codes = list(
            session.exec(
                select(Area.code).where(col(Area.level) == AreaLevel.MUNICIPALITY).limit(count)
            ).all()
        )
    engine.dispose()
    leaflet_batch((url, codes[:2]))  # warm the fonts and templates
    started, cpu = time.perf_counter(), time.process_time()
    size = leaflet_batch((url, codes))
    one, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"leaflets, one process: {len(codes)} municipalities in {one:.1f} s wall, "
        f"{cpu:.1f} s CPU ({cpu / len(codes) * 1000:.0f} ms CPU each, "
        f"{size / len(codes) / 1024:.0f} KiB each; goal <= 60 s); {load()}"
    )
    workers = os.cpu_count() or 1
    if workers > 1:
        chunks = [codes[i::workers] for i in range(workers)]
        started, cpu = time.perf_counter(), children_cpu()
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(leaflet_batch, [(url, chunk) for chunk in chunks]))
        parallel, cpu = time.perf_counter() - started, children_cpu() - cpu
        print(
            f"leaflets, {workers} processes: {len(codes)} in {parallel:.1f} s wall, "
            f"{cpu:.1f} s CPU in the workers; {load()}"
        )


def serve_sms(port: int) -> None:
    """The SMS routes as a real server would run them: uvicorn in its own process (the
    clients below would otherwise share its interpreter lock)."""
    uvicorn.run(Starlette(routes=ROUTES), host="127.0.0.1", port=port, log_level="warning")


def bench_sms(url: str, count: int) -> None:
    os.environ.update(
        {
            "HUB_DATABASE_URL": url,
            "HUB_SMS_SHARED_SECRET": SECRET,
            "HUB_SMS_PER_HOUR": "100000",
            "HUB_OUTREACH_SECRET": SECRET,
        }
    )
    port = 18765
    server = multiprocessing.get_context("spawn").Process(target=serve_sms, args=(port,))
    server.start()
    for _attempt in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/sms/kannel", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    texts = ["AJUDA", "LINHAS", "MEDIDAS", "INFO Lisboa", "info braga", "olá", "HELP"]
    headers = {"Authorization": f"Token {SECRET}"}
    senders = 8

    def client(worker: int, n: int) -> int:
        done = 0
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as http:
            for i in range(n):
                body = {
                    "contact": {"urn": f"tel:+3519100{worker:02d}{i % 50:03d}"},
                    "input": {
                        "text": texts[i % len(texts)],
                        "urn": f"tel:+3519100{worker:02d}{i % 50:03d}",
                    },
                }
                response = http.post("/sms/rapidpro", json=body)
                assert response.status_code == 200, response.text
                done += 1
        return done

    client(0, 20)  # warm up
    serving = psutil.Process(server.pid)
    server_cpu = sum(serving.cpu_times()[:2])
    started = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        total = sum(pool.map(lambda w: client(w, count // senders), range(senders)))
    elapsed = time.perf_counter() - started
    server_cpu = sum(serving.cpu_times()[:2]) - server_cpu
    server.terminate()
    server.join(timeout=10)
    print(
        f"SMS through the RapidPro adapter: {total} answers in {elapsed:.1f} s = "
        f"{total / elapsed:.0f}/s with {senders} keep-alive clients (goal >= 500/s); "
        f"server CPU {server_cpu / total * 1000:.2f} ms an answer "
        f"(= {total / server_cpu:.0f}/s per core); {load()}"
    )


def bench_digest(url: str, count: int) -> None:
    os.environ["HUB_OUTREACH_SECRET"] = SECRET
    engine = make_engine(url)
    with Session(engine) as session:
        codes = list(
            session.exec(select(Area.code).where(col(Area.level) == AreaLevel.MUNICIPALITY)).all()
        )
        yesterday = datetime.now(UTC) - timedelta(days=1)
        batch = []
        for n in range(count):
            address = f"pessoa{n}@example.pt"
            batch.append(
                {
                    "channel": SubscriptionChannel.EMAIL,
                    "address": address,
                    "address_hash": address_hash(SubscriptionChannel.EMAIL, address),
                    "area_code": codes[n % len(codes)],
                    "topic": "all",
                    "language": "pt",
                    "state": SubscriptionState.ACTIVE,
                    "created_at": yesterday,
                    "confirmed_at": yesterday,
                    "covered_until": yesterday,
                    "last_activity_at": yesterday,
                }
            )
            if len(batch) == 10_000:
                session.execute(insert(Subscription), batch)
                batch = []
        if batch:
            session.execute(insert(Subscription), batch)
        session.commit()
    process = psutil.Process()
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(process.memory_info().rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    before = process.memory_info().rss
    sampler.start()
    now = datetime.now(UTC).replace(hour=23, minute=0)  # after 09:00 Lisbon, today
    started, cpu = time.perf_counter(), time.process_time()
    with Session(engine) as session:
        enqueued = run_digest(session=session, now=now)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    stop.set()
    sampler.join()
    tenth = samples[: max(1, len(samples) // 10)]
    print(
        f"digest: {enqueued} of {count} subscribers enqueued in {elapsed:.1f} s wall, "
        f"{cpu:.1f} s CPU (goal <= 300 s); {load()}; "
        f"resident memory {before / 2**20:.0f} MiB before, "
        f"{max(tenth) / 2**20:.0f} MiB peak in the first tenth of the run, "
        f"{max(samples) / 2**20:.0f} MiB peak overall"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipalities", type=int, default=308)
    parser.add_argument("--sms", type=int, default=4000)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="a smaller run, under 3 minutes")
    args = parser.parse_args()
    if args.quick:
        args.municipalities, args.sms, args.subscribers = 100, 2000, 20_000
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'hub.db'}"
        os.environ["HUB_DATABASE_URL"] = url
        prepare(url)
        if args.municipalities:
            bench_leaflets(url, args.municipalities)
        if args.sms:
            bench_sms(url, args.sms)
        if args.subscribers:
            bench_digest(url, args.subscribers)


if __name__ == "__main__":
    main()
