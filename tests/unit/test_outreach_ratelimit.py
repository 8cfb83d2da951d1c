"""The rate limit as one UPSERT per hit (issue 19): correct across connections, on SQLite
and PostgreSQL, and never more than the bucket holds however many race for it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Engine
from sqlmodel import Session

from answers.models import RateBucket
from answers.ratelimit import Limit, take

T0 = 1_800_000_000.0


def test_racing_connections_never_spend_more_than_the_bucket_holds(engine: Engine) -> None:
    limit = Limit(capacity=5, per_hour=1)  # no refill worth a token during the test

    def hit(_n: int) -> bool:
        with Session(engine) as session:
            allowed = take(session=session, key="shared", limit=limit, now=T0)
            session.commit()
            return allowed

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(hit, range(40)))
    assert results.count(True) == 5
    with Session(engine) as session:
        bucket = session.get(RateBucket, "shared")
        assert bucket is not None and abs(bucket.tokens) < 1e-9 and bucket.stamp == T0


def test_a_new_bucket_starts_full_less_the_hit_and_cost_above_capacity_is_refused(
    session: Session,
) -> None:
    limit = Limit(capacity=2, per_hour=3600)  # one token a second
    assert take(session=session, key="new", limit=limit, now=T0, cost=3) is False
    assert take(session=session, key="new", limit=limit, now=T0) is True
    bucket = session.get(RateBucket, "new")
    assert bucket is not None and bucket.tokens == 1.0
    session.expire_all()
    assert take(session=session, key="new", limit=limit, now=T0 - 50) is True  # clock back
    assert take(session=session, key="new", limit=limit, now=T0 - 50) is False
    assert take(session=session, key="new", limit=limit, now=T0 + 1.5) is True  # 1.5 refilled
    session.commit()
    session.expire_all()
    bucket = session.get(RateBucket, "new")
    assert bucket is not None and abs(bucket.tokens - 0.5) < 1e-9 and bucket.stamp == T0 + 1.5
