"""Bulk review (issue 21): many records in one action, each checked and audited as one."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from hub.audit import AuditEntry
from hub.errors import InvalidInput, PermissionDenied
from initiatives.models import Initiative, InitiativeVersion, Notification, ReviewState
from initiatives.review import Decision, review_many, waiting
from initiatives.service import update_initiative
from tests.factories import World, initiative_draft, make_initiative


def test_staff_approve_a_mixed_batch_and_each_refusal_is_reported(
    session: Session, world: World
) -> None:
    records = [make_initiative(session, world.own, submit=True) for _ in range(5)]
    ids = [r.id or 0 for r in records]
    versions = {r.id or 0: r.version for r in records}
    stale, already = records[1], records[2]
    # Someone edits one after the reviewer saw it; another is approved meanwhile.
    update_initiative(
        session=session,
        actor=world.staff,
        initiative_id=stale.id or 0,
        draft=initiative_draft(world.own, title="Changed meanwhile"),
        expected_version=stale.version,
    )
    review_many(
        session=session, actor=world.staff, ids=[already.id or 0], decision=Decision.APPROVE
    )
    ticks: list[tuple[int, int]] = []
    result = review_many(
        session=session,
        actor=world.staff,
        ids=ids,
        decision=Decision.APPROVE,
        versions={**versions, already.id or 0: already.version},
        progress=lambda done, total: ticks.append((done, total)),
    )

    assert sorted(result.done) == sorted(r.code for r in records if r not in (stale, already))
    refused = {r.code: r.reason for r in result.refused}
    assert set(refused) == {stale.code, already.code}
    assert "changed by" in refused[stale.code]
    assert "nothing waiting" in refused[already.code]
    assert ticks[-1] == (5, 5) and len(ticks) == 5
    assert result.refusals_csv().decode("utf-8-sig").splitlines()[0] == "Id,Reason"

    session.expire_all()
    states = {i.code: i.review_state for i in session.exec(select(Initiative)).all()}
    assert states[stale.code] is ReviewState.SUBMITTED
    for code in result.done:
        assert states[code] is ReviewState.PUBLISHED
    # One audit entry, one history entry and one notification per approved record.
    published = session.exec(
        select(AuditEntry).where(AuditEntry.action == "publish").order_by(col(AuditEntry.id))
    ).all()
    assert len(published) == 4  # three now, one before
    assert {e.entity_id for e in published} == {str(r.id) for r in records if r is not stale}
    assert all(
        e.after == {"review_state": "published", "published_at": e.after["published_at"]}
        for e in published
        if e.after
    )
    versions_rows = session.exec(
        select(InitiativeVersion).where(InitiativeVersion.action == "publish")
    ).all()
    assert len(versions_rows) == 4
    assert len(session.exec(select(Notification)).all()) == 4


def test_partners_are_refused(session: Session, world: World) -> None:
    record = make_initiative(session, world.own, actor=world.partner, submit=True)
    with pytest.raises(PermissionDenied):
        review_many(
            session=session, actor=world.partner, ids=[record.id or 0], decision=Decision.APPROVE
        )
    with pytest.raises(PermissionDenied):
        waiting(session=session, actor=world.partner)
    session.expire_all()
    row = session.get(Initiative, record.id)
    assert row is not None and row.review_state is ReviewState.SUBMITTED


def test_send_back_needs_a_reason_and_tells_the_partner(session: Session, world: World) -> None:
    records = [make_initiative(session, world.own, submit=True) for _ in range(3)]
    ids = [r.id or 0 for r in records]
    with pytest.raises(InvalidInput):
        review_many(session=session, actor=world.staff, ids=ids, decision=Decision.SEND_BACK)
    result = review_many(
        session=session,
        actor=world.staff,
        ids=ids,
        decision=Decision.REJECT,
        message="Outside the emergency's scope",
    )
    assert len(result.done) == 3 and not result.refused
    session.expire_all()
    for record in records:
        row = session.get(Initiative, record.id)
        assert row is not None and row.review_state is ReviewState.REJECTED
        assert row.review_note == "Outside the emergency's scope"
    entries = session.exec(select(AuditEntry).where(AuditEntry.action == "reject")).all()
    assert len(entries) == 3 and {e.summary for e in entries} == {"Outside the emergency's scope"}


def test_waiting_filters_by_organisation_category_and_import(
    session: Session, world: World
) -> None:
    own = make_initiative(session, world.own, submit=True, category="health")
    make_initiative(session, world.other, submit=True)
    make_initiative(session, world.own, publish=True)
    found = waiting(session=session, actor=world.staff, organisation_id=world.own.id)
    assert [c.code for c in found] == [own.code]
    assert waiting(session=session, actor=world.staff, category="health")[0].code == own.code
    assert [
        c.code for c in waiting(session=session, actor=world.staff, import_id_=found[0].import_id)
    ] == [own.code]
