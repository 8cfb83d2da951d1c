"""Operators' commands for the API: ``serve-api`` and ``api-keys create|list|revoke``."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Annotated

import typer
import uvicorn
from sqlmodel import select
from uvicorn.supervisors import Multiprocess

from api.standalone import standalone
from hub.cli import friendly_errors, operator
from hub.db import make_engine, migrate, session_scope
from hub.errors import NotFound
from hub.records import utcnow
from partners.api_keys import (
    ApiScope,
    create_api_key,
    find_api_key,
    list_api_keys,
    revoke_api_key,
)
from partners.models import Account


def _account_id(email: str) -> int:
    engine = make_engine()
    with session_scope(engine) as session:
        account = session.exec(
            select(Account).where(Account.email == email.strip().lower())
        ).first()
        if account is None or account.id is None:
            raise NotFound(f"No account has the e-mail {email}.")
        return account.id


class TcpConfig(uvicorn.Config):
    """uvicorn's settings, but the socket it binds for several workers says it is TCP.

    uvicorn makes that socket with ``proto`` 0; accepted connections inherit it, and
    asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets whose ``proto`` is
    TCP. Every keep-alive response then waited for the client's delayed ACK, about 40 ms:
    two workers answered 710 requests a second where one answered 1,460 (uvicorn issue
    3149, open). The same descriptor, re-wrapped, reads its real protocol from the kernel.
    """

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sock
        tcp = socket.socket(fileno=sock.detach())
        tcp.set_inheritable(True)
        return tcp


def serve_api(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8502,
    workers: Annotated[int, typer.Option(help="Processes (uvicorn workers).")] = 1,
) -> None:
    """Serve the partner API alone (no Streamlit) at http://HOST:PORT/api/v1."""
    engine = make_engine()
    migrate(engine)
    typer.echo(f"Partner API on http://{host}:{port}/api/v1 (docs at /api/v1/docs)")
    if workers > 1:  # each worker process imports the app and makes its own engine
        config = TcpConfig("api.standalone:app", host=host, port=port, workers=workers)
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    uvicorn.run(standalone(engine), host=host, port=port)


def create(
    email: Annotated[str, typer.Option(help="The account the key acts as.")],
    name: Annotated[str, typer.Option(help="What the key is for.")],
    scope: Annotated[ApiScope, typer.Option(help="read or read_write.")] = ApiScope.READ,
    expires_days: Annotated[
        int | None, typer.Option(help="Days until the key stops working (default: never).")
    ] = None,
) -> None:
    """Create an API key; it is printed once and cannot be shown again."""
    account_id = _account_id(email)
    engine = make_engine()
    with session_scope(engine) as session:
        expires = utcnow() + timedelta(days=expires_days) if expires_days else None
        key, raw = create_api_key(
            session=session,
            actor=operator(),
            name=name,
            scope=scope,
            expires_at=expires,
            account_id=account_id,
        )
    typer.echo(f"Created {key.prefix} ({key.scope.value}) for {email}. The key (shown once):")
    typer.echo(raw)


def list_keys(email: Annotated[str, typer.Option(help="Whose keys.")]) -> None:
    """List an account's API keys (prefix, scope, last use; never the key)."""
    account_id = _account_id(email)
    with session_scope(make_engine()) as session:
        for key in list_api_keys(session=session, actor=operator(), account_id=account_id):
            state = "revoked" if key.revoked_at else "active"
            used = key.last_used_at.isoformat() if key.last_used_at else "never"
            expires = key.expires_at.isoformat() if key.expires_at else "never"
            typer.echo(
                f"{key.prefix}\t{key.scope.value}\t{state}\tlast used {used}\t"
                f"expires {expires}\t{key.name}"
            )


def revoke(prefix: Annotated[str, typer.Argument(help="The key's prefix, hub_xxxxxxxx.")]) -> None:
    """Revoke an API key at once."""
    with session_scope(make_engine()) as session:
        key = find_api_key(session=session, prefix=prefix)
        revoke_api_key(session=session, actor=operator(), key_id=key.id or 0)
    typer.echo(f"Revoked {prefix}.")


def register(app: typer.Typer) -> None:
    app.command("serve-api")(friendly_errors(serve_api))
    keys = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
    keys.command("create")(friendly_errors(create))
    keys.command("list")(friendly_errors(list_keys))
    keys.command("revoke")(friendly_errors(revoke))
    app.add_typer(keys, name="api-keys")
