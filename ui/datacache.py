"""The workspace's data version (issue 21): one cheap fingerprint of what the staff
pages aggregate, so a page's heavy figures are cached per version and shared by every
viewer, and any write (workspace, API, CLI, another replica) shows on the next run.

A write changes a record's ``updated_at`` or the number of rows, so the version moves
with it: no TTL to wait for, no cache to forget by hand (``ui.forms.clear_data_caches``
still clears after the workspace's own writes, which costs nothing). Two indexed
aggregates per table, a few milliseconds at 50,000 initiatives.
"""

from __future__ import annotations

import hashlib

from sqlmodel import Session, func, select

from connectivity.models import IndicatorValue
from hub.db import session_scope
from hub.records import utcnow
from initiatives.models import Initiative
from initiatives.overlap_models import InitiativeLink, OverlapDecision, OverlapNote
from ui.session import get_engine

# Each table the cached figures read, with the column a write always moves.
TRACKED = (
    (Initiative, Initiative.updated_at),
    (IndicatorValue, IndicatorValue.updated_at),
    (OverlapDecision, OverlapDecision.decided_at),  # a decided pair leaves the list
    (InitiativeLink, InitiativeLink.created_at),
    (OverlapNote, OverlapNote.created_at),
)


def data_version(*, session: Session) -> str:
    """Changes whenever an initiative, indicator value or overlap decision, link or note
    is added, changed or removed, and at midnight (what is "ended" or "in force" moves
    with the date)."""
    raw = str(utcnow().date())
    for model, stamp in TRACKED:
        count, latest = session.exec(select(func.count(), func.max(stamp)).select_from(model)).one()
        raw += f"|{count}|{latest}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def current_version() -> str:
    """The data version now, in its own short session (for cache keys on a page)."""
    with session_scope(get_engine()) as session:
        return data_version(session=session)
