"""The API's clean-up job: what it keeps only for a while is deleted on schedule.

- Idempotency records (the answer kept for an ``Idempotency-Key``) older than their
  replay window, ``HUB_API_IDEMPOTENCY_HOURS``: a retry within the window is answered
  from the record; after it the key is forgotten.
- Outbox messages delivered or dead for longer than ``HUB_OUTBOX_RETENTION_DAYS``
  (the webhook delivery log keeps its own rows; "send again" needs the message, so it
  is offered for that long). Pending messages are never deleted.

Both deletions are batched (``hub.outbox.delete_in_batches``) and idempotent: a second
run right after the first deletes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from hub import outbox, settings
from hub.records import utcnow
from hub.scheduler import ScheduledJob
from partners.api_keys import ApiIdempotency

log = logging.getLogger(__name__)
EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class Cleaned:
    idempotency_records: int
    outbox_messages: int


def clean_up(*, session: Session, now: datetime | None = None) -> Cleaned:
    """Delete what is past its time (see the module docstring); returns the counts."""
    now = now or utcnow()
    hours = int(settings.get("HUB_API_IDEMPOTENCY_HOURS"))
    days = int(settings.get("HUB_OUTBOX_RETENTION_DAYS"))
    table = ApiIdempotency.__table__  # type: ignore[attr-defined]
    records = outbox.delete_in_batches(
        session=session,
        table=table,
        condition=table.c.created_at < now - timedelta(hours=hours),
    )
    messages = outbox.purge_finished(session=session, older_than=now - timedelta(days=days))
    return Cleaned(idempotency_records=records, outbox_messages=messages)


def cleanup_tick(engine: Engine) -> None:
    """The scheduler's job (never raises: the next run tries again)."""
    try:
        with Session(engine) as session:
            done = clean_up(session=session)
        if done.idempotency_records or done.outbox_messages:
            log.info("API clean-up: %s", done)
    except Exception:
        log.exception("API clean-up failed")


def cleanup_job() -> ScheduledJob:
    return ScheduledJob(
        id="api_cleanup", function=cleanup_tick, every=EVERY_SECONDS, first_run_in=60.0
    )
