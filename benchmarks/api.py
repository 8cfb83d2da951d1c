"""The partner API at 100k initiatives (issue 17): prints its figures, asserts nothing.

- list page p95 (goal <= 30 ms): GET /api/v1/initiatives, 50 a page, through a real
  uvicorn server on 127.0.0.1, for a partner's key and a staff key, following cursors;
- bulk upsert of 1,000 rows (goal <= 3 s) and its dry run (goal <= 1.5 s);
- cached public reads per second with wrk, the API served alone (``serve-api``) in its
  own process (goal >= 1,000/s on a 2-core machine);
- webhook deliveries per second to a local receiver (goal >= 200/s).

    .venv/bin/python benchmarks/api.py [INITIATIVES] [deliveries]
    .venv/bin/python benchmarks/api.py 20000    # quick: about 3 minutes

Under load the wall times read high: each figure has the CPU time beside it (this
process's, which includes the in-thread server; for wrk the server's and wrk's), and the
load average is printed at the start and the end.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import uvicorn
from sqlmodel import Session, select

from benchmarks.registry_list import populate
from hub.auth import Role
from hub.db import make_engine, migrate
from hub.outbox import pending_count
from hub.records import utcnow
from initiatives.models import Initiative
from partners.accounts import principal_for
from partners.api_keys import ApiScope, create_api_key
from partners.models import Account, Organisation
from partners.webhook_sender import send_due
from partners.webhooks import emit, subscribe

ROOT = Path(__file__).resolve().parent.parent
DRAFT = {
    "title": "Dados móveis grátis para profissionais de saúde",
    "description": "Dados móveis extra sem custo para médicos e enfermeiros.",
    "category": "connectivity",
    "target_groups": ["health_professionals"],
    "areas": ["PT-11", "1106"],
    "channels": ["online", "phone"],
    "planned_start": "2020-03-20",
    "planned_end": "2020-06-30",
    "people_targeted": 1000,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def accounts(session: Session) -> tuple[Any, Any, int]:
    organisation = session.exec(select(Organisation).limit(1)).one()
    staff = Account(email="staff@bench.example", display_name="Staff", role=Role.STAFF)
    partner = Account(
        email="partner@bench.example",
        display_name="Partner",
        role=Role.PARTNER,
        organisation_id=organisation.id,
    )
    session.add_all([staff, partner])
    session.commit()
    return principal_for(staff), principal_for(partner), organisation.id or 0


def serve_in_thread(url: str, port: int) -> uvicorn.Server:
    os.environ["HUB_DATABASE_URL"] = url
    from api.standalone import standalone

    server = uvicorn.Server(
        uvicorn.Config(standalone(make_engine(url)), host="127.0.0.1", port=port, log_level="error")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def time_list(base: str, raw: str, label: str, params: dict[str, Any]) -> None:
    samples: list[float] = []
    cpu = time.process_time()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {raw}"}) as client:
        cursor = None
        for _ in range(200):
            query = {**params, "limit": 50, **({"cursor": cursor} if cursor else {})}
            started = time.perf_counter()
            response = client.get("/api/v1/initiatives", params=query)
            samples.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            cursor = response.json()["next_cursor"]
    print(
        f"list page, {label}: p50 {statistics.median(samples):.1f} ms, "
        f"p95 {p95(samples):.1f} ms (goal <= 30 ms); CPU "
        f"{(time.process_time() - cpu) * 1000 / len(samples):.1f} ms a page (client + server)"
    )


def time_bulk(base: str, raw: str) -> None:
    rows = [
        {**DRAFT, "code": f"BENCH-{n:04d}", "title": f"{DRAFT['title']} {n}"} for n in range(1000)
    ]
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {raw}"}, timeout=120
    ) as client:
        for label, params, items in (
            ("dry run, 1,000 new rows", {"dry_run": "true"}, rows),
            ("bulk create, 1,000 rows", {}, rows),
            (
                "dry run, 1,000 changed rows",
                {"dry_run": "true"},
                [{**r, "people_targeted": 2000} for r in rows],
            ),
            ("bulk update, 1,000 rows", {}, [{**r, "people_targeted": 2000} for r in rows]),
        ):
            started, cpu = time.perf_counter(), time.process_time()
            response = client.post("/api/v1/initiatives/bulk", params=params, json={"items": items})
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            goal = "1.5" if "dry" in label else "3"
            print(
                f"{label}: {elapsed:.2f} s (CPU {time.process_time() - cpu:.2f} s) "
                f"{response.json()['counts']} (goal <= {goal} s)"
            )


def time_public_reads(url: str) -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        print("cached public reads: wrk not installed, skipped")
        return
    port = free_port()
    environment = {
        **os.environ,
        "HUB_DATABASE_URL": url,
        "HUB_API_PUBLIC_PER_MINUTE": "100000000",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve-api", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        target = f"http://127.0.0.1:{port}/api/v1/public/initiatives?limit=50"
        for _ in range(100):
            try:
                if httpx.get(target, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        for label, path in (
            ("public initiatives page", target),
            ("reference categories", f"http://127.0.0.1:{port}/api/v1/reference/categories"),
        ):
            output = subprocess.run(
                [wrk, "-t2", "-c32", "-d10s", path], capture_output=True, text=True, check=True
            ).stdout
            rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
            latency = re.search(r"Latency\s+(\S+)", output)
            print(
                f"cached public reads, {label} (wrk -t2 -c32, serve-api --workers 2): "
                f"{float(rate.group(1)) if rate else 0:,.0f}/s, mean latency "
                f"{latency.group(1) if latency else '?'} (goal >= 1,000/s)"
            )
    finally:
        server.terminate()
        server.wait(timeout=20)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"  CPU of the API server's processes and wrk so far: {used.ru_utime + used.ru_stime:.1f} s"
    )


SINK = """
import sys, uvicorn
count = 0
async def app(scope, receive, send):
    global count
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    if scope["method"] == "POST":
        count += 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(count).encode()})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


def time_deliveries(engine: Any, partner: Any, organisation_id: int, count: int = 2000) -> None:
    """The receiver is uvicorn in a process of its own, as a partner's would be."""
    os.environ["HUB_FETCH_ALLOW_HOSTS"] = "127.0.0.1"
    port = free_port()
    receiver = subprocess.Popen([sys.executable, "-c", SINK, str(port)])
    sink = f"http://127.0.0.1:{port}/hook"
    for _ in range(100):
        try:
            httpx.get(sink, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    with Session(engine) as session:
        subscribe(session=session, actor=partner, url=sink, events=["initiative.published"])
        for n in range(count):
            emit(
                session=session,
                event_type="initiative.published",
                organisation_ids=[organisation_id],
                data={"code": f"INI-{n:06d}", "title": "benchmark"},
            )
        session.commit()
    started, cpu = time.perf_counter(), time.process_time()
    while send_due(engine, limit=500):
        pass
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    received = int(httpx.get(sink).text)
    receiver.terminate()
    receiver.wait(timeout=10)
    with Session(engine) as session:
        left = pending_count(session=session)
    print(
        f"webhook deliveries: {received:,} in {elapsed:.1f} s = {received / elapsed:,.0f}/s "
        f"({left} left pending; goal >= 200/s); sender CPU {cpu:.1f} s"
    )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    only = sys.argv[2] if len(sys.argv) > 2 else ""  # "deliveries": that figure alone
    os.environ["HUB_API_KEY_PER_MINUTE"] = "100000000"
    os.environ["HUB_API_PUBLIC_PER_MINUTE"] = "100000000"
    print("load average at the start: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'api.db'}"
        engine = make_engine(url)
        migrate(engine)
        with Session(engine) as session:
            started = time.perf_counter()
            populate(session, count)
            print(f"inserted {count:,} initiatives in {time.perf_counter() - started:.1f} s")
            staff, partner, organisation_id = accounts(session)
            _k, staff_key = create_api_key(
                session=session, actor=staff, name="bench", scope=ApiScope.READ_WRITE
            )
            _k, partner_key = create_api_key(
                session=session, actor=partner, name="bench", scope=ApiScope.READ_WRITE
            )
            own = len(
                session.exec(
                    select(Initiative.id).where(Initiative.lead_organisation_id == organisation_id)
                ).all()
            )
        print(f"the partner's organisation leads {own} initiatives; at {utcnow():%H:%M} UTC")
        if only == "deliveries":
            time_deliveries(engine, partner, organisation_id)
            return
        port = free_port()
        server = serve_in_thread(url, port)
        base = f"http://127.0.0.1:{port}"
        try:
            time_list(base, staff_key, "staff key, every initiative", {})
            time_list(base, staff_key, "staff key, category=health", {"category": "health"})
            time_list(base, partner_key, "partner key (its own)", {})
            started = time.perf_counter()  # the overlap index is built once per process
            httpx.get(
                f"{base}/api/v1/initiatives/INI-000001/similar",
                headers={"Authorization": f"Bearer {staff_key}"},
                timeout=600,
            ).raise_for_status()
            print(f"overlap index built (once per process): {time.perf_counter() - started:.1f} s")
            time_bulk(base, partner_key)
        finally:
            server.should_exit = True
        time_public_reads(url)
        time_deliveries(engine, partner, organisation_id)
        engine.dispose()
    print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
