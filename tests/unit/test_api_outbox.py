"""The outbox under the webhooks (hub/outbox.py): a lease per message so two senders
never hold one message, a lease that runs out frees it (at least once), retries on the
schedule with jitter, then dead."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from hub import outbox
from hub.records import utcnow


def _fill(session: Session, n: int) -> None:
    for i in range(n):
        outbox.enqueue(session=session, kind="test", payload={"n": i}, key=f"k{i}")
    session.commit()


def test_two_senders_never_hold_the_same_message(engine: Engine, session: Session) -> None:
    _fill(session, 60)
    got: dict[str, list[int]] = {}

    def sender(name: str) -> None:
        with Session(engine) as own:
            got[name] = [c.id for c in outbox.claim(session=own, kind="test", owner=name, limit=60)]

    threads = [threading.Thread(target=sender, args=(f"s{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [row_id for ids in got.values() for row_id in ids]
    assert len(claimed) == len(set(claimed)) == 60


def test_an_expired_lease_is_claimed_again_and_only_the_holder_finishes(
    session: Session,
) -> None:
    _fill(session, 1)
    now = utcnow()
    (first,) = outbox.claim(session=session, kind="test", owner="a", lease_seconds=30, now=now)
    assert outbox.claim(session=session, kind="test", owner="b", now=now) == []
    later = now + timedelta(seconds=31)
    (again,) = outbox.claim(session=session, kind="test", owner="b", now=later)
    assert again.id == first.id
    assert not outbox.complete(session=session, message_id=first.id, owner="a")  # lost it
    assert outbox.complete(session=session, message_id=again.id, owner="b")
    session.commit()
    assert outbox.pending_count(session=session) == 0


def test_retries_follow_the_schedule_with_jitter_then_die(session: Session) -> None:
    rng = random.Random(1)
    for attempts, base in enumerate(outbox.RETRY_SCHEDULE, start=1):
        delay = outbox.next_delay(attempts, rng=rng)
        assert delay is not None and base * 0.8 <= delay <= base * 1.2
    assert outbox.next_delay(len(outbox.RETRY_SCHEDULE) + 1) is None
    assert sum(outbox.RETRY_SCHEDULE) / 86400 > 2.5  # about three days in all
    _fill(session, 1)
    now = utcnow()
    schedule = (10.0, 10.0)
    states = []
    for step in range(3):
        (message,) = outbox.claim(session=session, kind="test", owner="a", now=now)
        states.append(
            outbox.retry(
                session=session,
                message_id=message.id,
                owner="a",
                attempts=message.attempts,
                error="HTTP 500",
                schedule=schedule,
                now=now,
            )
        )
        session.commit()
        now += timedelta(seconds=20)
        del step
    assert states == [
        outbox.MessageState.PENDING,
        outbox.MessageState.PENDING,
        outbox.MessageState.DEAD,
    ]
    assert outbox.claim(session=session, kind="test", owner="a", now=now) == []
