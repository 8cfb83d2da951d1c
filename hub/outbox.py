"""The outbox: side effects written in the same transaction as the change, sent later.

A package that wants something sent (a webhook, a mail) ``enqueue``s a message in the
caller's session; the caller's commit writes it with the change, or neither is written.
A sender ``claim``s due messages with a lease (its owner name and a deadline), sends
them, then marks each ``complete``, ``retry`` (the next attempt on ``RETRY_SCHEDULE``
with jitter, about three days in all, then dead) or ``give_up``. A sender that dies
mid-send holds its lease until the deadline; the message is then claimed again: at
least once, never lost, and never sent by two senders at the same time (the claim is
one conditional UPDATE per message, so only one sender wins each). Receivers
deduplicate by the message's key.

The core knows no domain: ``kind`` says which package's sender takes the message.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, and_, delete, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Field, Session, SQLModel, col, select

from hub.records import UTCDateTime, enum_type, utcnow

# Seconds to wait after each failed attempt (Standard Webhooks' advice, stretched to
# about three days): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
JITTER = 0.2  # each wait is stretched or shrunk by up to 20%, so retries do not bunch
LEASE_SECONDS = 60.0


class MessageState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "state", "kind", "available_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    key: str = Field(default="", max_length=80, index=True)  # what receivers dedupe by
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: MessageState = Field(default=MessageState.PENDING, sa_type=enum_type(MessageState))
    attempts: int = 0
    available_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_owner: str = Field(default="", max_length=80)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


@dataclass(frozen=True)
class Claimed:
    """A message a sender holds the lease of."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int  # earlier attempts (0 on the first)


def enqueue(
    *,
    session: Session,
    kind: str,
    payload: dict[str, Any],
    key: str = "",
    available_at: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the caller's transaction (the caller commits)."""
    message = OutboxMessage(
        kind=kind, key=key, payload=payload, available_at=available_at or utcnow()
    )
    session.add(message)
    return message


def claim(
    *,
    session: Session,
    kind: str,
    owner: str,
    limit: int = 50,
    lease_seconds: float = LEASE_SECONDS,
    now: datetime | None = None,
) -> list[Claimed]:
    """Lease up to ``limit`` due messages of ``kind`` to ``owner``; commits."""
    now = now or utcnow()
    free = or_(col(OutboxMessage.lease_until).is_(None), col(OutboxMessage.lease_until) < now)
    due = [
        (row_id, attempts)
        for row_id, attempts in session.exec(
            select(OutboxMessage.id, OutboxMessage.attempts)
            .where(
                col(OutboxMessage.state) == MessageState.PENDING,
                OutboxMessage.kind == kind,
                col(OutboxMessage.available_at) <= now,
                free,
            )
            .order_by(col(OutboxMessage.available_at), col(OutboxMessage.id))
            .limit(limit)
        ).all()
    ]
    if not due:
        session.commit()
        return []
    until = now + timedelta(seconds=lease_seconds)
    # One conditional UPDATE: a row another sender leased since it was read no longer
    # matches "free" (PostgreSQL re-checks the condition after waiting for that
    # sender's row lock; SQLite has one writer), so each row goes to exactly one sender.
    session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_([row_id for row_id, _attempts in due]),
            col(OutboxMessage.state) == MessageState.PENDING,
            free,
        )
        .values(lease_owner=owner, lease_until=until)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    rows = session.exec(
        select(OutboxMessage).where(
            col(OutboxMessage.id).in_([row_id for row_id, _attempts in due]),
            col(OutboxMessage.lease_owner) == owner,
            col(OutboxMessage.lease_until) == until,
        )
    ).all()
    order = {row_id: n for n, (row_id, _attempts) in enumerate(due)}
    return sorted(
        (Claimed(r.id or 0, r.kind, r.key, dict(r.payload), r.attempts) for r in rows),
        key=lambda c: order[c.id],
    )


def complete_many(
    *, session: Session, message_ids: Sequence[int], owner: str, now: datetime | None = None
) -> int:
    """``complete`` for many messages in one statement; returns how many were ``owner``'s."""
    if not message_ids:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(list(message_ids)),
            col(OutboxMessage.lease_owner) == owner,
            col(OutboxMessage.state) == MessageState.PENDING,
        )
        .values(
            lease_owner="",
            lease_until=None,
            state=MessageState.DONE,
            finished_at=now or utcnow(),
            last_error="",
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _finish(session: Session, message_id: int, owner: str, values: dict[str, Any]) -> bool:
    """Apply ``values`` if ``owner`` still holds the lease; True if it did."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message_id,
            col(OutboxMessage.lease_owner) == owner,
            col(OutboxMessage.state) == MessageState.PENDING,
        )
        .values(lease_owner="", lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def complete(*, session: Session, message_id: int, owner: str, now: datetime | None = None) -> bool:
    """Sent: done. In the caller's transaction (the caller commits)."""
    return _finish(
        session,
        message_id,
        owner,
        {"state": MessageState.DONE, "finished_at": now or utcnow(), "last_error": ""},
    )


def give_up(
    *, session: Session, message_id: int, owner: str, error: str, now: datetime | None = None
) -> bool:
    """Never to be sent (the receiver said it is gone): dead at once."""
    return _finish(
        session,
        message_id,
        owner,
        {"state": MessageState.DEAD, "finished_at": now or utcnow(), "last_error": error[:2000]},
    )


def next_delay(
    attempts: int, *, schedule: Sequence[float] = RETRY_SCHEDULE, rng: random.Random | None = None
) -> float | None:
    """Seconds before the next try after ``attempts`` failed ones; None when exhausted."""
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    return base * (1 + (rng or random).uniform(-JITTER, JITTER))


def retry(
    *,
    session: Session,
    message_id: int,
    owner: str,
    attempts: int,
    error: str,
    schedule: Sequence[float] = RETRY_SCHEDULE,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> MessageState:
    """Failed this time (``attempts`` is the count before it): try again later on the
    schedule, or dead when the schedule is exhausted. Returns the new state."""
    now = now or utcnow()
    tried = attempts + 1
    delay = next_delay(tried, schedule=schedule, rng=rng)
    if delay is None:
        _finish(
            session,
            message_id,
            owner,
            {
                "state": MessageState.DEAD,
                "attempts": tried,
                "finished_at": now,
                "last_error": error[:2000],
            },
        )
        return MessageState.DEAD
    _finish(
        session,
        message_id,
        owner,
        {
            "attempts": tried,
            "available_at": now + timedelta(seconds=delay),
            "last_error": error[:2000],
        },
    )
    return MessageState.PENDING


def pending_count(*, session: Session, kind: str | None = None) -> int:
    query = select(func.count()).where(col(OutboxMessage.state) == MessageState.PENDING)
    if kind is not None:
        query = query.where(col(OutboxMessage.kind) == kind)
    return int(session.exec(query).one())


PURGE_BATCH = 1000


def delete_in_batches(
    *, session: Session, table: Any, condition: Any, batch: int = PURGE_BATCH
) -> int:
    """Delete the rows of ``table`` matching ``condition``, ``batch`` at a time, each
    batch its own transaction: a large backlog never holds one long lock (SQLite's one
    writer, PostgreSQL's row locks) or one huge transaction. Returns how many went."""
    removed = 0
    while True:
        ids = list(
            session.connection()
            .execute(sa_select(table.c.id).where(condition).order_by(table.c.id).limit(batch))
            .scalars()
        )
        if not ids:
            return removed
        session.connection().execute(delete(table).where(table.c.id.in_(ids)))
        session.commit()
        removed += len(ids)
        if len(ids) < batch:
            return removed


def purge_finished(*, session: Session, older_than: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete delivered and dead messages finished before ``older_than`` (pending ones
    are never touched, however old). Running it twice deletes nothing more."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    return delete_in_batches(
        session=session,
        table=table,
        condition=and_(
            table.c.state.in_([MessageState.DONE, MessageState.DEAD]),
            table.c.finished_at < older_than,
        ),
        batch=batch,
    )
