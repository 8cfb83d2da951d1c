"""Flood resistance without third-party services: token buckets in the database.

Each bucket holds up to ``capacity`` tokens and refills at ``per_hour`` tokens an hour;
an action spends one. The refill and the spend are one conditional UPDATE, so two
processes (or replicas on one PostgreSQL) can never both spend the last token. Buckets
are keyed by a hash of the client identifier, never the address itself, and a bucket
untouched for two days is deleted (a full bucket and no bucket mean the same).

The clock is injectable (``now`` in seconds) so tests are deterministic.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from answers.models import RateBucket
from hub import settings

FORGET_AFTER_SECONDS = 2 * 24 * 3600
GLOBAL = "global"


@dataclass(frozen=True)
class Limit:
    capacity: float  # burst: how many at once
    per_hour: float  # sustained rate


def client_key(identifier: str) -> str:
    """A stable, non-reversible key for a client (``hub.clients.rate_limit_identifier``)."""
    return hashlib.sha256(f"hub-rate-limit|{identifier}".encode()).hexdigest()[:40]


def question_limits() -> tuple[Limit, Limit]:
    """(per client, everyone together) for the public question form."""
    per_client = float(settings.get("HUB_QUESTIONS_PER_HOUR"))
    overall = float(settings.get("HUB_QUESTIONS_GLOBAL_PER_HOUR"))
    return (
        Limit(capacity=min(per_client, 3), per_hour=per_client),
        Limit(capacity=max(1.0, overall / 6), per_hour=overall),
    )


# "Was this useful?": 30 an hour per client, one per question per client a day.
USEFUL_PER_CLIENT = Limit(capacity=10, per_hour=30)
USEFUL_PER_QUESTION = Limit(capacity=1, per_hour=1 / 24)


def take(
    *, session: Session, key: str, limit: Limit, now: float | None = None, cost: float = 1.0
) -> bool:
    """Spend ``cost`` tokens from bucket ``key`` if it has them; True if allowed.

    Adds to the caller's transaction; the caller commits (and should commit before
    doing anything slow, so a refused attempt still counts).
    """
    now = time.time() if now is None else now
    bind = session.get_bind()
    values = {"key": key, "tokens": float(limit.capacity), "stamp": now}
    insert = (postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert)(RateBucket)
    session.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["key"]))
    rate = limit.per_hour / 3600.0
    # Clocks of several processes may disagree a little: time never runs backwards here.
    later = col(RateBucket.stamp) < now
    elapsed = case((later, literal(now) - col(RateBucket.stamp)), else_=literal(0.0))
    refilled = col(RateBucket.tokens) + elapsed * rate
    level = case((refilled > limit.capacity, literal(float(limit.capacity))), else_=refilled)
    result = session.execute(
        update(RateBucket)
        .where(col(RateBucket.key) == key, level >= cost)
        .values(
            tokens=level - cost,
            stamp=case((later, literal(now)), else_=col(RateBucket.stamp)),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def take_all(
    *, session: Session, buckets: list[tuple[str, Limit]], now: float | None = None
) -> bool:
    """Spend one token from each bucket, in order; stop at the first that is empty
    (so a refused client does not also drain the global bucket)."""
    return all(take(session=session, key=key, limit=limit, now=now) for key, limit in buckets)


def forget_old_buckets(*, session: Session, now: float | None = None) -> None:
    now = time.time() if now is None else now
    session.execute(
        delete(RateBucket)
        .where(col(RateBucket.stamp) < now - FORGET_AFTER_SECONDS)
        .execution_options(synchronize_session=False)
    )
