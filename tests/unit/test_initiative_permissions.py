"""Partners only ever touch their own organisation's initiatives, by any path; each
refusal leaves an audit entry. Staff review; the public sees published records only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session, select

from hub.audit import AuditEntry
from hub.auth import Principal
from hub.errors import PermissionDenied
from initiatives.models import Initiative, Participant, ParticipantRole, Status
from initiatives.queries import RegistryFilter, list_public, review_queue, search_registry
from initiatives.service import (
    approve,
    confirm_initiative,
    create_initiative,
    get_initiative,
    history,
    report_progress,
    send_back,
    submit_initiative,
    update_initiative,
    withdraw_initiative,
)
from partners.models import Organisation
from tests.factories import World, initiative_draft


@pytest.fixture
def theirs(session: Session, world: World) -> Initiative:
    """Another organisation's initiative in which the joint partner participates."""
    return create_initiative(
        session=session,
        actor=world.staff,
        draft=initiative_draft(
            world.other,
            participants=[
                Participant(organisation_id=world.joint.id or 0, role=ParticipantRole.IMPLEMENTING)
            ],
        ),
    )


def denials(session: Session) -> int:
    return len(session.exec(select(AuditEntry).where(AuditEntry.action == "denied")).all())


def attempts(
    session: Session, w: World, target: Initiative
) -> dict[str, Callable[[Principal], object]]:
    other: Organisation = w.other
    i, v = target.id or 0, target.version
    return {
        "view": lambda a: get_initiative(session=session, actor=a, initiative_id=i),
        "history": lambda a: history(session=session, actor=a, initiative_id=i),
        "update": lambda a: update_initiative(
            session=session,
            actor=a,
            initiative_id=i,
            draft=initiative_draft(other),
            expected_version=v,
        ),
        "submit": lambda a: submit_initiative(
            session=session, actor=a, initiative_id=i, expected_version=v
        ),
        "withdraw": lambda a: withdraw_initiative(
            session=session, actor=a, initiative_id=i, expected_version=v
        ),
        "progress": lambda a: report_progress(
            session=session,
            actor=a,
            initiative_id=i,
            expected_version=v,
            status=Status.ACTIVE,
            people_reached=1,
        ),
        "confirm": lambda a: confirm_initiative(
            session=session, actor=a, initiative_id=i, expected_version=v
        ),
        "create_for_other": lambda a: create_initiative(
            session=session, actor=a, draft=initiative_draft(other)
        ),
    }


ATTEMPTS = [
    "view",
    "history",
    "update",
    "submit",
    "withdraw",
    "progress",
    "confirm",
    "create_for_other",
]


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_partner_of_another_organisation_is_refused_and_audited(
    session: Session, world: World, theirs: Initiative, attempt: str
) -> None:
    before = denials(session)
    with pytest.raises(PermissionDenied):
        attempts(session, world, theirs)[attempt](world.partner)
    assert denials(session) == before + 1
    session.expire_all()
    stored = session.get(Initiative, theirs.id)
    assert stored is not None and stored.version == theirs.version


@pytest.mark.parametrize("attempt", ["update", "withdraw", "progress", "confirm", "submit"])
def test_a_participating_partner_sees_but_does_not_change(
    session: Session, world: World, theirs: Initiative, attempt: str
) -> None:
    assert (
        get_initiative(session=session, actor=world.joint_partner, initiative_id=theirs.id).id
        == theirs.id
    )
    with pytest.raises(PermissionDenied):
        attempts(session, world, theirs)[attempt](world.joint_partner)


def test_partner_cannot_move_an_initiative_to_another_organisation(
    session: Session, world: World, theirs: Initiative
) -> None:
    mine = create_initiative(
        session=session, actor=world.partner, draft=initiative_draft(world.own)
    )
    with pytest.raises(PermissionDenied):
        update_initiative(
            session=session,
            actor=world.partner,
            initiative_id=mine.id or 0,
            draft=initiative_draft(world.other),
            expected_version=mine.version,
        )


def test_only_staff_review(session: Session, world: World, theirs: Initiative) -> None:
    mine = create_initiative(
        session=session, actor=world.partner, draft=initiative_draft(world.own), submit=True
    )
    for action in (
        lambda: approve(
            session=session,
            actor=world.partner,
            initiative_id=mine.id or 0,
            expected_version=mine.version,
        ),
        lambda: send_back(
            session=session,
            actor=world.partner,
            initiative_id=mine.id or 0,
            expected_version=mine.version,
            reason="x",
        ),
        lambda: review_queue(session=session, actor=world.partner),
    ):
        with pytest.raises(PermissionDenied):
            action()


def test_lists_are_scoped(session: Session, world: World, theirs: Initiative) -> None:
    mine = create_initiative(
        session=session, actor=world.partner, draft=initiative_draft(world.own)
    )
    mine_rows, _ = search_registry(session=session, actor=world.partner, filters=RegistryFilter())
    assert [r.id for r in mine_rows] == [mine.id]
    joint_rows, _ = search_registry(
        session=session, actor=world.joint_partner, filters=RegistryFilter()
    )
    assert [r.id for r in joint_rows] == [theirs.id]
    staff_rows, total = search_registry(
        session=session, actor=world.staff, filters=RegistryFilter()
    )
    assert total == 2
    # Public: nothing is published yet.
    assert list_public(session=session) == ([], 0)
    anonymous_rows, _ = search_registry(session=session, actor=None, filters=RegistryFilter())
    assert anonymous_rows == []
    del staff_rows
