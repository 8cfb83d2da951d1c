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
from ui.session import get_engine


def data_version(*, session: Session) -> str:
    """Changes whenever an initiative or an indicator value is added, changed or
    removed, and at midnight (what is "ended" or "in force" moves with the date)."""
    raw = str(utcnow().date())
    for model in (Initiative, IndicatorValue):
        count, latest = session.exec(select(func.count(), func.max(model.updated_at))).one()
        raw += f"|{count}|{latest}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def current_version() -> str:
    """The data version now, in its own short session (for cache keys on a page)."""
    with session_scope(get_engine()) as session:
        return data_version(session=session)
