"""API keys: how a partner's system (or the office's) acts through the API (issue 17).

A key is ``hub_<prefix>_<secret>``: the prefix (``hub_`` and 8 characters) is stored
as it is, so people can tell their keys apart and the audit log can name the key; the
whole key is stored only as its SHA-256 (the key has 160 random bits, so a slow hash
adds nothing; a lookup by prefix then a constant-time comparison). It is shown once, at
creation. A key acts as its account: the account's role and organisation, exactly the
permission checks the forms use, with the key's prefix in the actor's name so every
write by key is told apart in the audit log. ``read`` keys may only read; revoking,
expiry, and disabling the account refuse the key on its next request, on every replica
(the check reads the database each time).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from hub import settings
from hub.audit import record_change, snapshot
from hub.auth import Principal
from hub.clean import strip_controls
from hub.errors import (
    AuthenticationFailed,
    HubError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from hub.i18n import N_, _
from hub.records import UTCDateTime, enum_type, utcnow
from partners.accounts import principal_for
from partners.models import Account

KEY_PREFIX = "hub_"
PREFIX_LENGTH = 8
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read aloud, typed from paper
# last_used_at is written at most this often per key: a busy key must not cost a write
# (and on SQLite the single writer's lock) on every request.
LAST_USED_EVERY = timedelta(minutes=1)
MAX_NAME = 120


class IdempotencyConflict(HubError):
    """An Idempotency-Key sent again with a different request."""

    field = "Idempotency-Key"


class ApiScope(enum.StrEnum):
    READ = "read"
    READ_WRITE = "read_write"


SCOPE_LABELS = {ApiScope.READ: N_("Read only"), ApiScope.READ_WRITE: N_("Read and write")}


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    name: str = Field(max_length=MAX_NAME)
    prefix: str = Field(max_length=20, unique=True, index=True)
    secret_hash: str = Field(max_length=64)
    scope: ApiScope = Field(sa_type=enum_type(ApiScope))
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = ""


class ApiIdempotency(SQLModel, table=True):
    """The answer to a write sent with an ``Idempotency-Key``: the same key again (from
    the same API key) gets this answer back and nothing is done twice."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("api_key_id", "idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    api_key_id: int = Field(foreign_key="api_key.id")
    idempotency_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


@dataclass(frozen=True)
class KeyPrincipal:
    """The principal a request acts as, with the key that authenticated it."""

    principal: Principal
    key_id: int
    prefix: str
    scope: ApiScope

    @property
    def can_write(self) -> bool:
        return self.scope is ApiScope.READ_WRITE


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _audit_view(key: ApiKey) -> dict[str, Any]:
    return {k: v for k, v in snapshot(key).items() if k != "secret_hash"}


def _owner(*, session: Session, actor: Principal | None, account_id: int | None) -> Account:
    """The account a key belongs to: one's own, or any for an administrator."""
    if actor is None:
        raise PermissionDenied(_("Please sign in first."))
    wanted = actor.account_id if account_id is None else account_id
    if wanted != actor.account_id and not actor.is_admin:
        raise PermissionDenied(_("You may only manage your own API keys."))
    account = session.get(Account, wanted)
    if account is None or not account.active:
        raise NotFound(_("That account does not exist or is disabled."))
    return account


def create_api_key(
    *,
    session: Session,
    actor: Principal | None,
    name: str,
    scope: ApiScope = ApiScope.READ,
    expires_at: datetime | None = None,
    account_id: int | None = None,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key for the actor's account (or, for an administrator, ``account_id``'s).
    Returns the stored row and the raw key, which is never available again."""
    account = _owner(session=session, actor=actor, account_id=account_id)
    now = now or utcnow()
    name = strip_controls(name).strip()
    if not name:
        raise InvalidInput(_("Name: say what the key is for (e.g. 'case system')."), field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(_("Name: at most {n} characters.").format(n=MAX_NAME), field="name")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(_("Expiry: choose a moment in the future."), field="expires_at")
    prefix = KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _i in range(PREFIX_LENGTH))
    raw = f"{prefix}_{secrets.token_urlsafe(20)}"
    assert actor is not None
    key = ApiKey(
        account_id=account.id or 0,
        name=name,
        prefix=prefix,
        secret_hash=hash_key(raw),
        scope=ApiScope(scope),
        expires_at=expires_at,
        created_at=now,
        created_by=actor.label,
    )
    session.add(key)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        action="create",
        entity_type="api_key",
        entity_id=key.id,
        after=_audit_view(key),
        summary=f"{prefix} for {account.email}",
    )
    session.commit()
    return key, raw


def list_api_keys(
    *, session: Session, actor: Principal | None, account_id: int | None = None
) -> list[ApiKey]:
    """The keys of the actor's account (an administrator: of ``account_id``'s), newest first."""
    account = _owner(session=session, actor=actor, account_id=account_id)
    return list(
        session.exec(
            select(ApiKey)
            .where(ApiKey.account_id == account.id)
            .order_by(col(ApiKey.created_at).desc(), col(ApiKey.id).desc())
        ).all()
    )


def find_api_key(*, session: Session, prefix: str) -> ApiKey:
    key = session.exec(select(ApiKey).where(ApiKey.prefix == prefix.strip())).first()
    if key is None:
        raise NotFound(_("No API key has the prefix {prefix}.").format(prefix=prefix))
    return key


def revoke_api_key(
    *, session: Session, actor: Principal | None, key_id: int, now: datetime | None = None
) -> ApiKey:
    """Refuse the key from its next request on. Revoking twice changes nothing."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(_("That API key does not exist."))
    _owner(session=session, actor=actor, account_id=key.account_id)
    if key.revoked_at is not None:
        return key
    before = _audit_view(key)
    key.revoked_at = now or utcnow()
    session.add(key)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        action="revoke",
        entity_type="api_key",
        entity_id=key.id,
        before=before,
        after=_audit_view(key),
        summary=key.prefix,
    )
    session.commit()
    return key


def key_prefix(raw: str) -> str | None:
    """``hub_abcdefgh`` from a raw key, or None when it is not shaped like one."""
    if not raw.startswith(KEY_PREFIX):
        return None
    prefix = raw[: len(KEY_PREFIX) + PREFIX_LENGTH]
    if len(raw) <= len(prefix) + 1 or raw[len(prefix)] != "_":
        return None
    return prefix


def _refused() -> AuthenticationFailed:
    # One message for every cause, as at sign-in: unknown, revoked, expired, disabled.
    return AuthenticationFailed(
        _(
            "The API key is not valid: it is unknown, revoked or expired, "
            "or its account is disabled."
        )
    )


def authenticate_key(*, session: Session, raw: str, now: datetime | None = None) -> KeyPrincipal:
    """The principal ``raw`` acts as; AuthenticationFailed when it may not act."""
    prefix = key_prefix(raw.strip())
    if prefix is None:
        raise _refused()
    now = now or utcnow()
    row = session.exec(
        select(ApiKey, Account)
        .join(Account, col(Account.id) == ApiKey.account_id)
        .where(ApiKey.prefix == prefix)
    ).first()
    if row is None:
        hmac.compare_digest(hash_key(raw), hash_key(""))  # the same work as a known prefix
        raise _refused()
    key, account = row
    if (
        not hmac.compare_digest(key.secret_hash, hash_key(raw.strip()))
        or key.revoked_at is not None
        or (key.expires_at is not None and key.expires_at <= now)
        or not account.active
    ):
        raise _refused()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        key.last_used_at = now
        session.add(key)
        session.commit()
    base = principal_for(account, signed_in_at=now)
    principal = Principal(
        account_id=base.account_id,
        email=base.email,
        # The label (audit log, updated_by) then names the key: "Ana (API key hub_ab12cd34)".
        display_name=f"{base.display_name} (API key {key.prefix})",
        role=base.role,
        organisation_id=base.organisation_id,
        signed_in_at=now,
    )
    return KeyPrincipal(principal=principal, key_id=key.id or 0, prefix=key.prefix, scope=key.scope)


def remembered_response(
    *, session: Session, key_id: int, idempotency_key: str, request_hash: str
) -> tuple[int, dict[str, Any]] | None:
    """The stored answer for ``idempotency_key``, or None when it is new. The same key
    with a different request is refused: it would silently do something else. An answer
    older than HUB_API_IDEMPOTENCY_HOURS is forgotten here, not only when the clean-up
    job next runs: past the window the key is new again."""
    row = session.exec(
        select(ApiIdempotency).where(
            ApiIdempotency.api_key_id == key_id,
            ApiIdempotency.idempotency_key == idempotency_key,
        )
    ).first()
    if row is None:
        return None
    window = timedelta(hours=int(settings.get("HUB_API_IDEMPOTENCY_HOURS")))
    if row.created_at < utcnow() - window:
        session.delete(row)  # in the caller's transaction: the new answer replaces it
        session.flush()
        return None
    if row.request_hash != request_hash:
        raise IdempotencyConflict(
            _("Idempotency-Key: this key was used for a different request; use a new key.")
        )
    return row.status_code, dict(row.response)


def remember_response(
    *,
    session: Session,
    key_id: int,
    idempotency_key: str,
    request_hash: str,
    status_code: int,
    response: dict[str, Any],
) -> None:
    """Keep the answer, in the caller's transaction (so it is kept only with the write)."""
    session.add(
        ApiIdempotency(
            api_key_id=key_id,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            status_code=status_code,
            response=response,
        )
    )
