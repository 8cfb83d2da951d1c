"""Flood resistance without third-party services: token buckets in the database.

Each bucket holds up to ``capacity`` tokens and refills at ``per_hour`` tokens an hour;
an action spends one. The refill and the spend are one UPSERT statement, so two
processes (or replicas on one PostgreSQL) can never both spend the last token. Buckets
are keyed by a hash of the client identifier, never the address itself, and a bucket
untouched for two days is deleted (a full bucket and no bucket mean the same).

The clock is injectable (``now`` in seconds) so tests are deterministic.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from sqlalchemy import delete, text
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


# One statement per hit, the same on SQLite (>= 3.35) and PostgreSQL: a new bucket starts
# full less this hit; an existing one refills for the time since its stamp (never for a
# clock that runs backwards) and is spent only if it then holds ``cost`` (the WHERE of
# DO UPDATE), so two processes can never both spend the last token. A row comes back
# exactly when the hit is allowed. Prepared text, as it runs on every request.
_TAKE = """
INSERT INTO rate_bucket (key, tokens, stamp) VALUES (:key, :fresh, :now)
ON CONFLICT (key) DO UPDATE SET
  tokens = {least}(:capacity, rate_bucket.tokens
                   + {greatest}(:now - rate_bucket.stamp, 0.0) * :rate) - :cost,
  stamp = {greatest}(rate_bucket.stamp, :now)
WHERE {least}(:capacity, rate_bucket.tokens
              + {greatest}(:now - rate_bucket.stamp, 0.0) * :rate) >= :cost
RETURNING tokens
"""
_TAKE_SQLITE = text(_TAKE.format(least="min", greatest="max"))
_TAKE_POSTGRESQL = text(
    _TAKE.format(least="least", greatest="greatest")
    .replace(":capacity", "CAST(:capacity AS DOUBLE PRECISION)")
    .replace(":cost", "CAST(:cost AS DOUBLE PRECISION)")
    .replace(":rate", "CAST(:rate AS DOUBLE PRECISION)")
    .replace(":now", "CAST(:now AS DOUBLE PRECISION)")
    .replace(":fresh", "CAST(:fresh AS DOUBLE PRECISION)")
)


def take(
    *, session: Session, key: str, limit: Limit, now: float | None = None, cost: float = 1.0
) -> bool:
    """Spend ``cost`` tokens from bucket ``key`` if it has them; True if allowed.

    Adds to the caller's transaction; the caller commits (and should commit before
    doing anything slow, so a refused attempt still counts).
    """
    now = time.time() if now is None else now
    capacity = float(limit.capacity)
    if cost > capacity:  # a bucket that can never hold enough
        return False
    postgres = session.get_bind().dialect.name == "postgresql"
    row = session.execute(
        _TAKE_POSTGRESQL if postgres else _TAKE_SQLITE,
        {
            "key": key,
            "fresh": capacity - cost,
            "now": float(now),
            "capacity": capacity,
            "rate": limit.per_hour / 3600.0,
            "cost": float(cost),
        },
    ).first()
    return row is not None


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
