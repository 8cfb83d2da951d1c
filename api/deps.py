"""What every endpoint needs: the database, the caller (a key or nobody), the language
and the rate limits.

The engine is made once per app (``create_app``) and each request gets its own short
session. A key is checked on every request against the database, so a revoked key is
refused at once on every replica. Rate limits are token buckets in the database
(``answers.ratelimit``), per key and per anonymous client; a refused request is a 429
with Retry-After.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from answers.ratelimit import Limit, client_key, take
from api.problems import TooManyRequests
from hub import settings
from hub.clients import rate_limit_identifier
from hub.errors import AuthenticationFailed, PermissionDenied
from hub.i18n import LANGUAGES, _
from partners.api_keys import KeyPrincipal, authenticate_key

bearer = HTTPBearer(
    auto_error=False,
    description="An API key from your account page or `python -m hub api-keys create`.",
)


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine()
    return engine


def db_session(request: Request) -> Iterator[Session]:
    with Session(engine_of(request), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]


def wanted_language(header: str | None) -> str:
    """``pt`` or ``en`` from an Accept-Language header (by its q-values), else the
    deployment's default."""
    best: tuple[float, str] | None = None
    for part in (header or "").split(","):
        pieces = part.strip().split(";")
        language = pieces[0].strip().lower().split("-")[0]
        quality = 1.0
        for piece in pieces[1:]:
            name, _sep, value = piece.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if language in LANGUAGES and quality > 0 and (best is None or quality > best[0]):
            best = (quality, language)
    return best[1] if best else settings.default_language()


def _per_minute(name: str) -> Limit:
    per_minute = float(settings.get(name))
    return Limit(capacity=max(1.0, per_minute / 2), per_hour=per_minute * 60)


class _Leases:
    """Tokens this process took from a database bucket ahead of time.

    Spending one token per request would cost a database write per request (and on
    SQLite the one writer's lock). Instead a process takes a small batch (a tenth of the
    burst, at most ``LEASE_BATCH``) in one write and spends them in memory for at most
    ``LEASE_SECONDS``; tokens unspent by then are lost, never returned, so replicas
    together can only ever be stricter than the limit, and by at most a batch each.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[float, float]] = {}  # key -> (tokens, expiry)

    def spend(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, expiry = self._held.get(key, (0.0, 0.0))
            if tokens >= 1 and expiry > now:
                self._held[key] = (tokens - 1, expiry)
                return True
        return False

    def keep(self, key: str, tokens: float) -> None:
        with self._lock:
            if len(self._held) > 10_000:
                self._held.clear()
            self._held[key] = (tokens, time.monotonic() + LEASE_SECONDS)


LEASE_BATCH = 20
LEASE_SECONDS = 5.0
leases = _Leases()


def _held(bind: object, key: str, limit: Limit) -> str:
    # Per database and per limit: a changed setting, or another database in the same
    # process (tests), never spends tokens leased under the old one.
    return f"{id(bind)}|{limit.capacity}|{limit.per_hour}|{key}"


def _spend(session: Session, key: str, limit: Limit) -> None:
    held = _held(session.get_bind(), key, limit)
    if leases.spend(held):
        return
    batch = float(max(1, min(LEASE_BATCH, int(limit.capacity // 10))))
    allowed = batch > 1 and take(session=session, key=key, limit=limit, cost=batch)
    if allowed:
        leases.keep(held, batch - 1)
    else:
        allowed = take(session=session, key=key, limit=limit)
    session.commit()
    if not allowed:
        wait = math.ceil(3600.0 / limit.per_hour) if limit.per_hour else 60
        raise TooManyRequests(
            _("Too many requests: wait {n} seconds and try again.").format(n=wait),
            retry_after=wait,
        )


def _client(request: Request) -> str:
    peer = request.client.host if request.client else None
    return rate_limit_identifier(peer, request.headers.get("x-forwarded-for"))


def key_caller(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> KeyPrincipal:
    """The key's principal; 401 without a valid key; 429 over the key's limit."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed(
            _("Send your API key in the header: Authorization: Bearer hub_...")
        )
    key = authenticate_key(session=session, raw=credentials.credentials)
    _spend(session, client_key(f"api-key|{key.key_id}"), _per_minute("HUB_API_KEY_PER_MINUTE"))
    return key


def _public_key(request: Request) -> str:
    return client_key(f"api-public|{_client(request)}")


def public_caller(request: Request, session: SessionDep) -> None:
    """Anyone; 429 over the anonymous client's limit."""
    _spend(session, _public_key(request), _per_minute("HUB_API_PUBLIC_PER_MINUTE"))


def spend_leased_public_token(request: Request) -> bool:
    """Spend one of the anonymous client's tokens this process already holds, without
    the database; False when none is held (then ``public_caller`` must take them)."""
    limit = _per_minute("HUB_API_PUBLIC_PER_MINUTE")
    return leases.spend(_held(engine_of(request), _public_key(request), limit))


def writer(key: Annotated[KeyPrincipal, Depends(key_caller)]) -> KeyPrincipal:
    """A key that may write; a read-only key is refused (403)."""
    if not key.can_write:
        raise PermissionDenied(_("This API key may only read: create a read-write key to write."))
    return key


KeyDep = Annotated[KeyPrincipal, Depends(key_caller)]
WriterDep = Annotated[KeyPrincipal, Depends(writer)]
PublicDep = Annotated[None, Depends(public_caller)]
