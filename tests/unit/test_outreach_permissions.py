"""Who may use the staff side of the offline channels: every staff path refuses partners
and the public and changes nothing; an urgent item reaches its area's subscribers once
and is audited without an address."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, select

from hub.audit import AuditEntry
from hub.auth import Principal
from hub.errors import PermissionDenied
from hub.outbox import OutboxMessage
from outreach.digest import send_urgent
from outreach.reach import offline_reach, sms_counts
from outreach.sms import answer_sms
from tests.factories import World

STAFF_PATHS: dict[str, Callable[[Session, Principal | None], Any]] = {
    "send_urgent": lambda session, actor: send_urgent(
        session=session,
        actor=actor,
        area_code="1106",
        title="Centro de vacinação fechado hoje",
        url="https://example.pt/aviso",
        key="aviso-1",
    ),
    "offline_reach": lambda session, actor: offline_reach(
        session=session, actor=actor, area_code="1106"
    ),
    "sms_counts": lambda session, actor: sms_counts(
        session=session, actor=actor, since=date(2020, 1, 1)
    ),
}


@pytest.fixture(autouse=True)
def outreach_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_OUTREACH_SECRET", "permissions-test-secret")


@pytest.mark.parametrize("path", sorted(STAFF_PATHS))
def test_partners_and_the_public_are_refused(session: Session, world: World, path: str) -> None:
    answer_sms(session=session, text="SEGUIR Lisboa", sender="+351912345678")
    for actor in (world.partner, None):
        with pytest.raises(PermissionDenied):
            STAFF_PATHS[path](session, actor)
    assert session.exec(select(OutboxMessage)).all() == []
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "send_urgent")).all() == []


def test_an_urgent_item_reaches_the_area_once_and_is_audited(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_SMS_OUTBOUND_URL", "http://127.0.0.1:9/unused")
    answer_sms(session=session, text="SEGUIR Lisboa", sender="+351912345678")
    answer_sms(session=session, text="SEGUIR Porto", sender="+351913333333")
    assert STAFF_PATHS["send_urgent"](session, world.staff) == 1
    assert STAFF_PATHS["send_urgent"](session, world.staff) == 0  # once per item
    message = session.exec(select(OutboxMessage)).one()
    assert "Centro de vacinação fechado hoje" in message.payload["text"]
    entries = session.exec(select(AuditEntry).where(AuditEntry.action == "send_urgent")).all()
    assert len(entries) == 2
    assert "+351" not in str(entries[0].after)
