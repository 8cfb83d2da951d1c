"""The API's operator commands: api-keys create/list/revoke, and serve-api running the
API alone with uvicorn on a real port."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import TcpConfig
from hub.db import make_engine
from hub.settings import PROJECT_ROOT
from partners.api_keys import ApiKey, authenticate_key
from wiring import app

runner = CliRunner()


@pytest.fixture
def demo_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "en")
    assert runner.invoke(app, ["load-demo"]).exit_code == 0
    return url


def test_create_list_and_revoke_a_key(demo_url: str) -> None:
    created = runner.invoke(
        app,
        [
            "api-keys",
            "create",
            "--email",
            "dgs@demo.example",
            "--name",
            "crm",
            "--scope",
            "read_write",
            "--expires-days",
            "30",
        ],
    )
    assert created.exit_code == 0, created.output
    raw = created.output.strip().splitlines()[-1]
    engine = make_engine(demo_url)
    with Session(engine) as session:
        key = session.exec(select(ApiKey)).one()
        assert raw.startswith(key.prefix) and authenticate_key(session=session, raw=raw)
    listed = runner.invoke(app, ["api-keys", "list", "--email", "dgs@demo.example"])
    assert key.prefix in listed.output and raw not in listed.output
    assert runner.invoke(app, ["api-keys", "revoke", key.prefix]).exit_code == 0
    assert (
        "revoked" in runner.invoke(app, ["api-keys", "list", "--email", "dgs@demo.example"]).output
    )
    unknown = runner.invoke(app, ["api-keys", "create", "--email", "nobody@x.pt", "--name", "x"])
    assert unknown.exit_code == 1 and "Error:" in unknown.output
    engine.dispose()


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_api_runs_the_api_alone(demo_url: str, workers: int) -> None:
    port = _port()
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve-api", "--port", str(port), "--workers", str(workers)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "HUB_DATABASE_URL": demo_url, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        for _ in range(150):
            try:
                document = httpx.get(f"{base}/openapi.json", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert document.json()["openapi"].startswith("3.1")
        assert httpx.get(f"{base}/reference/categories").status_code == 200
        assert httpx.get(f"{base}/initiatives").status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_workers_socket_turns_nagle_off_on_every_connection() -> None:
    """With several workers uvicorn binds the socket itself; left as it makes it, each
    keep-alive response waited ~40 ms for the client's delayed ACK (uvicorn issue 3149)."""
    listener = TcpConfig("api.standalone:app", host="127.0.0.1", port=_port()).bind_socket()
    assert listener.proto == socket.IPPROTO_TCP
    assert listener.get_inheritable()  # the workers inherit it
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def accept_one() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        _reader, writer = await asyncio.open_connection(*listener.getsockname())
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(accept_one())
    assert seen and seen[0] != 0
