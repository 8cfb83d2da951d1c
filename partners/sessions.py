"""Web sessions: the signed-in browser, as a database row.

A sign-in opens a row and hands back a random token once; the browser keeps it in the
``hub_session`` cookie and the row keeps only its SHA-256 hash, so a copy of the
database (a backup, a read replica) holds nothing a browser could present. Every replica
reads the same rows, so a reload, a second tab or another replica keeps the user signed
in, and ending a row signs out every tab that uses it at its next run.

Each row has two expiries: idle (``HUB_SESSION_IDLE_MINUTES`` after it was last seen)
and absolute (``HUB_SESSION_MAX_HOURS`` after it was opened, stored as ``expires_at``).
Resolving a token touches ``last_seen_at`` at most once a minute (``TOUCH_EVERY``), with
a conditional UPDATE, so a page's reruns are reads and two replicas never both write.
The role and organisation are re-read from the accounts table on every resolve: a row
says who signed in, never what they may do.

Rows are ended, never deleted while they matter: on sign-out, when the user ends
them from "My account", when an administrator ends them, and (``end_account_sessions``,
called by ``partners.accounts`` in the same transaction) when the password changes, the
account is disabled or its role changes. Rows ended or expired for
``FORGET_AFTER_DAYS`` are deleted by ``forget_old_sessions``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import delete, or_, update
from sqlmodel import Field, Session, SQLModel, col, select

from hub import settings
from hub.audit import record_change
from hub.auth import Principal
from hub.columns import UTCDateTime
from hub.errors import NotFound, PermissionDenied
from hub.i18n import _
from hub.records import utcnow
from partners.models import Account, principal_for

TOUCH_EVERY = timedelta(minutes=1)
FORGET_AFTER_DAYS = 30
DEVICE_MAX = 120
TOKEN_BYTES = 32  # 256 bits from the OS's CSPRNG
MAX_TOKEN = 200  # longer is not one of ours: not even hashed
SESSION_COOKIE = "hub_session"  # the browser's copy of the token (portal.signin sets it)
EXPIRED = "expired"  # ``ended_reason`` of a row past its idle or absolute expiry


class EndReason:
    """Why a session ended (``WebSession.revoked_reason``), one place."""

    SIGNED_OUT = "signed_out"
    ENDED_BY_USER = "ended_by_user"
    ENDED_BY_ADMIN = "ended_by_admin"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a reason, not a secret
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a reason, not a secret
    ACCOUNT_DISABLED = "account_disabled"
    ROLE_CHANGED = "role_changed"
    IDENTITY_ENDED = "identity_ended"


class WebSession(SQLModel, table=True):
    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    # SHA-256 of the token, hex; the token itself is never stored.
    token_hash: str = Field(max_length=64, unique=True, index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)  # absolute expiry
    device: str = Field(default="", max_length=DEVICE_MAX)  # "Firefox on Linux"
    client_hash: str | None = Field(default=None, max_length=64)
    method: str = Field(default="password", max_length=20)  # password | sso
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str = Field(default="", max_length=40)


class SessionView(BaseModel):
    """A session as "My account" and the administrators see it (never the hash)."""

    id: int
    device: str
    method: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def hash_client(identifier: str) -> str:
    """A non-reversible key of the client's address (``hub.clients``), for "where from"."""
    return hashlib.sha256(f"hub-session-client|{identifier}".encode()).hexdigest()


def idle_limit() -> timedelta:
    return timedelta(minutes=int(settings.get("HUB_SESSION_IDLE_MINUTES")))


def absolute_limit() -> timedelta:
    return timedelta(hours=int(settings.get("HUB_SESSION_MAX_HOURS")))


def device_summary(user_agent: str | None) -> str:
    """ "Firefox on Linux" from a User-Agent header: enough for a person to recognise
    their own browsers in a list, nothing more (the header itself is not kept)."""
    agent = user_agent or ""
    browser = next(
        (
            name
            for marker, name in (
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("Firefox/", "Firefox"),
                ("Chromium/", "Chromium"),
                ("HeadlessChrome/", "Chromium"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
                ("curl/", "curl"),
            )
            if marker in agent
        ),
        "",
    )
    system = next(
        (
            name
            for marker, name in (
                ("Android", "Android"),
                ("iPhone", "iOS"),
                ("iPad", "iOS"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("CrOS", "ChromeOS"),
                ("Linux", "Linux"),
            )
            if marker in agent
        ),
        "",
    )
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "unknown browser"


def open_session(
    *,
    session: Session,
    account_id: int,
    device: str = "",
    client: str | None = None,
    method: str = "password",
) -> str:
    """Open a session for ``account_id`` and return its token (shown once: the caller
    sets it as the cookie). A password sign-in was audited by ``authenticate``; a single
    sign-on one (``method="sso"``) is audited here, with the same ``sign_in`` action."""
    account = session.get(Account, account_id, populate_existing=True)
    if account is None or not account.active:
        raise NotFound(_("That account does not exist."))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    row = WebSession(
        token_hash=hash_token(token),
        account_id=account_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + absolute_limit(),
        device=" ".join(device.split())[:DEVICE_MAX],
        client_hash=hash_client(client) if client else None,
        method=method,
    )
    session.add(row)
    _forget(session, now)
    if method != "password":
        session.flush()
        record_change(
            session=session,
            actor=principal_for(account, signed_in_at=now),
            action="sign_in",
            entity_type="account",
            entity_id=account_id,
            summary=f"signed in ({method}, session {row.id})",
        )
    session.commit()
    return token


def _row_of(session: Session, token: str | None) -> WebSession | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    return session.exec(
        select(WebSession)
        .where(WebSession.token_hash == hash_token(token))
        .execution_options(populate_existing=True)
    ).first()


def _expired(row: WebSession, now: datetime) -> bool:
    """Past its absolute expiry, or idle for longer than the setting allows."""
    return row.expires_at <= now or row.last_seen_at + idle_limit() <= now


def _live_row(session: Session, token: str, now: datetime) -> WebSession | None:
    row = _row_of(session, token)
    if row is None or row.revoked_at is not None:
        return None
    if _expired(row, now):
        return None
    return row


def resolve(
    *, session: Session, token: str | None, now: datetime | None = None
) -> Principal | None:
    """The principal of a live session, or None (unknown, ended, idle or past its
    absolute expiry, or the account is disabled). The account is re-read every time."""
    now = now or utcnow()
    row = _live_row(session, token or "", now)
    if row is None:
        return None
    account = session.get(Account, row.account_id, populate_existing=True)
    if account is None or not account.active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        # Conditional: of two replicas touching at once, one writes.
        session.execute(
            update(WebSession)
            .where(
                col(WebSession.id) == row.id,
                col(WebSession.last_seen_at) <= now - TOUCH_EVERY,
            )
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return principal_for(account, signed_in_at=row.created_at)


def ended_reason(*, session: Session, token: str | None, now: datetime | None = None) -> str | None:
    """Why ``token`` no longer signs anyone in: an ``EndReason`` value, ``EXPIRED``, or
    None when it never did (unknown) or still does. For the message a page shows."""
    now = now or utcnow()
    row = _row_of(session, token)
    if row is None:
        return None
    if row.revoked_at is not None:
        return row.revoked_reason or EndReason.ENDED_BY_USER
    if _expired(row, now):
        return EXPIRED
    account = session.get(Account, row.account_id, populate_existing=True)
    if account is None or not account.active:
        return EndReason.ACCOUNT_DISABLED
    return None


def _end_rows(session: Session, *conditions: object, reason: str, now: datetime) -> int:
    result = session.execute(
        update(WebSession)
        .where(col(WebSession.revoked_at).is_(None), *conditions)  # type: ignore[arg-type]
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def sign_out(*, session: Session, token: str | None) -> bool:
    """End the session of ``token`` (the browser signing itself out); True if one was
    live. Needs no actor: holding the token is the proof."""
    now = utcnow()
    row = _live_row(session, token or "", now)
    if row is None:
        return False
    _end_rows(session, col(WebSession.id) == row.id, reason=EndReason.SIGNED_OUT, now=now)
    account = session.get(Account, row.account_id)
    record_change(
        session=session,
        actor=principal_for(account, signed_in_at=row.created_at) if account else None,
        action="sign_out",
        entity_type="account",
        entity_id=row.account_id,
        summary=f"signed out (session {row.id})",
    )
    session.commit()
    return True


def _may_manage(actor: Principal | None, account_id: int) -> Principal:
    """Anyone may end their own sessions; only administrators anyone else's."""
    if actor is None:
        raise PermissionDenied(_("Please sign in first."))
    if actor.account_id != account_id and not actor.is_admin:
        raise PermissionDenied(_("Only administrators may end another person's sessions."))
    return actor


def end_session(
    *, session: Session, actor: Principal | None, session_id: int, reason: str | None = None
) -> None:
    """End one session (from "My account", or an administrator's)."""
    row = session.get(WebSession, session_id, populate_existing=True)
    if row is None:
        raise NotFound(_("That session does not exist."))
    actor = _may_manage(actor, row.account_id)
    if row.revoked_at is not None:
        return
    own = actor.account_id == row.account_id
    reason = reason or (EndReason.ENDED_BY_USER if own else EndReason.ENDED_BY_ADMIN)
    _end_rows(session, col(WebSession.id) == row.id, reason=reason, now=utcnow())
    record_change(
        session=session,
        actor=actor,
        action="end_session",
        entity_type="account",
        entity_id=row.account_id,
        summary=f"session {row.id} ended ({reason})",
    )
    session.commit()


def end_account_sessions(
    *,
    session: Session,
    actor: Principal | None,
    account_id: int,
    reason: str,
    except_token: str | None = None,
) -> int:
    """End every live session of an account, but ``except_token``'s; no permission
    check and no commit: ``partners.accounts`` calls it inside a change it has already
    authorised, so the change and the revocation commit together. Audited when any
    session was ended. Returns how many were."""
    conditions = [col(WebSession.account_id) == account_id]
    if except_token:
        conditions.append(col(WebSession.token_hash) != hash_token(except_token))
    ended = _end_rows(session, *conditions, reason=reason, now=utcnow())
    if ended:
        record_change(
            session=session,
            actor=actor,
            action="end_sessions",
            entity_type="account",
            entity_id=account_id,
            summary=f"{ended} session(s) ended ({reason})",
        )
    return ended


def end_all_sessions(
    *,
    session: Session,
    actor: Principal | None,
    account_id: int,
    except_token: str | None = None,
    reason: str | None = None,
) -> int:
    """End every session of ``account_id`` but ``except_token``'s (the user's "sign out
    everywhere else", or an administrator's "end this person's sessions")."""
    actor = _may_manage(actor, account_id)
    own = actor.account_id == account_id
    reason = reason or (EndReason.ENDED_BY_USER if own else EndReason.ENDED_BY_ADMIN)
    ended = end_account_sessions(
        session=session,
        actor=actor,
        account_id=account_id,
        reason=reason,
        except_token=except_token,
    )
    session.commit()
    return ended


def list_sessions(
    *,
    session: Session,
    actor: Principal | None,
    account_id: int,
    current_token: str | None = None,
    now: datetime | None = None,
) -> list[SessionView]:
    """The live sessions of an account, most recently seen first."""
    _may_manage(actor, account_id)
    now = now or utcnow()
    current_hash = hash_token(current_token) if current_token else None
    rows = session.exec(
        select(WebSession)
        .where(
            WebSession.account_id == account_id,
            col(WebSession.revoked_at).is_(None),
            WebSession.expires_at > now,
            WebSession.last_seen_at > now - idle_limit(),
        )
        .order_by(col(WebSession.last_seen_at).desc(), col(WebSession.id).desc())
    ).all()
    shown = set(SessionView.model_fields) - {"current"}
    return [
        SessionView(**row.model_dump(include=shown), current=row.token_hash == current_hash)
        for row in rows
    ]


def _forget(session: Session, now: datetime) -> int:
    cutoff = now - timedelta(days=FORGET_AFTER_DAYS)
    result = session.execute(
        delete(WebSession)
        .where(or_(col(WebSession.revoked_at) < cutoff, col(WebSession.expires_at) < cutoff))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def forget_old_sessions(*, session: Session, now: datetime | None = None) -> int:
    """Delete rows ended or expired more than ``FORGET_AFTER_DAYS`` ago (every sign-in
    does this too, so the table stays the size of the live sessions)."""
    forgotten = _forget(session, now or utcnow())
    session.commit()
    return forgotten
