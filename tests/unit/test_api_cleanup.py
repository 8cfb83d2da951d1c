"""The API's clean-up job (issue 17) on a real SQLite file and on PostgreSQL: idempotency
records past their replay window and outbox messages finished before the retention
period go; the rest stays; a second run deletes nothing; large backlogs go in batches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.cleanup import clean_up, cleanup_tick
from hub import outbox
from hub.outbox import MessageState, OutboxMessage
from hub.records import utcnow
from partners.api_keys import (
    ApiIdempotency,
    ApiScope,
    create_api_key,
    remember_response,
    remembered_response,
)
from tests.factories import World
from wiring import scheduler_jobs


def remembered(session: Session, key_id: int, name: str, hours_ago: float) -> None:
    remember_response(
        session=session,
        key_id=key_id,
        idempotency_key=name,
        request_hash="0" * 64,
        status_code=200,
        response={"name": name},
    )
    session.flush()
    row = session.exec(select(ApiIdempotency).where(ApiIdempotency.idempotency_key == name)).one()
    row.created_at = utcnow() - timedelta(hours=hours_ago)
    session.add(row)
    session.commit()


def message(session: Session, state: MessageState, days_ago: float | None) -> int:
    finished = None if days_ago is None else utcnow() - timedelta(days=days_ago)
    row = OutboxMessage(kind="webhook", payload={}, state=state, finished_at=finished)
    row.created_at = utcnow() - timedelta(days=(days_ago or 0) + 100)
    session.add(row)
    session.commit()
    assert row.id is not None
    return row.id


def test_old_records_go_recent_and_pending_ones_stay(
    session: Session, world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_API_IDEMPOTENCY_HOURS", "24")
    monkeypatch.setenv("HUB_OUTBOX_RETENTION_DAYS", "30")
    key, _raw = create_api_key(
        session=session, actor=world.partner, name="crm", scope=ApiScope.READ_WRITE
    )
    assert key.id is not None
    remembered(session, key.id, "old", hours_ago=25)
    remembered(session, key.id, "recent", hours_ago=23)
    old_done = message(session, MessageState.DONE, days_ago=31)
    old_dead = message(session, MessageState.DEAD, days_ago=45)
    recent_done = message(session, MessageState.DONE, days_ago=29)
    pending = message(session, MessageState.PENDING, days_ago=None)  # created 100 days ago

    done = clean_up(session=session)
    assert (done.idempotency_records, done.outbox_messages) == (1, 2)
    names = set(session.exec(select(ApiIdempotency.idempotency_key)).all())
    assert names == {"recent"}
    left = set(session.exec(select(OutboxMessage.id)).all())
    assert left == {recent_done, pending} and not left & {old_done, old_dead}

    again = clean_up(session=session)  # idempotent
    assert (again.idempotency_records, again.outbox_messages) == (0, 0)

    # The scheduler's job does the same, on its own session; it is in the job list.
    remembered(session, key.id, "older", hours_ago=48)
    cleanup_tick(engine)
    session.expire_all()
    assert set(session.exec(select(ApiIdempotency.idempotency_key)).all()) == {"recent"}
    assert "api_cleanup" in {job.id for job in scheduler_jobs()}


def test_a_large_backlog_goes_in_batches(session: Session) -> None:
    for _ in range(7):
        message(session, MessageState.DONE, days_ago=40)
    keep = message(session, MessageState.DONE, days_ago=1)
    removed = outbox.purge_finished(
        session=session, older_than=utcnow() - timedelta(days=30), batch=3
    )
    assert removed == 7
    assert session.exec(select(OutboxMessage.id).order_by(col(OutboxMessage.id))).all() == [keep]


def test_past_its_window_a_key_is_new_again_before_the_clean_up_runs(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_API_IDEMPOTENCY_HOURS", "24")
    key, _raw = create_api_key(
        session=session, actor=world.partner, name="crm", scope=ApiScope.READ_WRITE
    )
    assert key.id is not None
    remembered(session, key.id, "fresh", hours_ago=23)
    remembered(session, key.id, "stale", hours_ago=25)
    replay = remembered_response(
        session=session, key_id=key.id, idempotency_key="fresh", request_hash="0" * 64
    )
    assert replay == (200, {"name": "fresh"})
    # past the window: not replayed, and a different request with it is not a conflict
    assert (
        remembered_response(
            session=session, key_id=key.id, idempotency_key="stale", request_hash="1" * 64
        )
        is None
    )
    remember_response(
        session=session,
        key_id=key.id,
        idempotency_key="stale",
        request_hash="1" * 64,
        status_code=201,
        response={"name": "again"},
    )
    session.commit()
    again = remembered_response(
        session=session, key_id=key.id, idempotency_key="stale", request_hash="1" * 64
    )
    assert again == (201, {"name": "again"})
