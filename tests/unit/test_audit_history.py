"""Lean audit entries (issue 21): the changed fields only, with the record's version, and a
record's history rebuilt field by field from them."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from hub.audit import (
    BOOKKEEPING_FIELDS,
    DERIVED_FIELDS,
    AuditEntry,
    rebuild_history,
    record_change,
    record_history,
)
from hub.auth import Role
from initiatives.models import Initiative, ReviewState
from initiatives.records import full_snapshot
from initiatives.service import (
    approve,
    create_initiative,
    submit_initiative,
    update_initiative,
    withdraw_initiative,
)
from tests.factories import World, initiative_draft, make_principal


def _expected(session: Session, initiative: Initiative) -> dict[str, Any]:
    """What the service returned, as the log keeps it (no bookkeeping, no search columns)."""
    return {
        key: value
        for key, value in full_snapshot(session=session, initiative=initiative).items()
        if key not in BOOKKEEPING_FIELDS and key not in DERIVED_FIELDS
    }


def test_history_is_rebuilt_field_by_field_after_every_version(
    session: Session, world: World
) -> None:
    admin = make_principal(session, role=Role.ADMIN)
    partner = world.partner
    org = world.own
    seen: list[tuple[int, dict[str, Any]]] = []

    def keep(record: Initiative) -> Initiative:
        seen.append((record.version, _expected(session, record)))
        return record

    created = keep(
        create_initiative(session=session, actor=partner, draft=initiative_draft(org, title="One"))
    )
    assert created.id is not None
    edited = keep(
        update_initiative(
            session=session,
            actor=partner,
            initiative_id=created.id,
            draft=initiative_draft(org, title="Two", areas=["PT-11"], people_targeted=5),
            expected_version=created.version,
        )
    )
    submitted = keep(
        submit_initiative(
            session=session,
            actor=partner,
            initiative_id=created.id,
            expected_version=edited.version,
        )
    )
    approved = keep(
        approve(
            session=session,
            actor=admin,
            initiative_id=created.id,
            expected_version=submitted.version,
        )
    )
    corrected = keep(
        update_initiative(
            session=session,
            actor=admin,
            initiative_id=created.id,
            draft=initiative_draft(org, title="Three", areas=["PT-11"], people_targeted=7),
            expected_version=approved.version,
        )
    )
    keep(
        withdraw_initiative(
            session=session,
            actor=partner,
            initiative_id=created.id,
            expected_version=corrected.version,
            reason="ended",
        )
    )

    steps = record_history(
        session=session, actor=admin, entity_type="initiative", entity_id=str(created.id)
    )
    assert [s.action for s in steps] == [
        "create",
        "update",
        "submit",
        "publish",
        "update",
        "withdraw",
    ]
    assert [(s.version, s.state) for s in steps] == seen
    assert steps[3].state["review_state"] == ReviewState.PUBLISHED.value
    assert "title" in steps[4].changed and steps[4].state["title"] == "Three"

    # The entries themselves are lean: a create once in full, then changed fields only.
    entries = session.exec(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "initiative", AuditEntry.entity_id == str(created.id))
        .order_by(col(AuditEntry.id))
    ).all()
    assert entries[0].before is None and entries[0].after is not None
    assert "search_text" not in entries[0].after and "version" not in entries[0].after
    publish = entries[3]
    assert publish.version == seen[3][0]
    assert publish.before is not None and publish.after is not None
    assert publish.before["review_state"] == "submitted"
    assert publish.after["review_state"] == "published"
    assert "title" not in publish.after and "description" not in publish.after
    assert set(publish.before) == set(publish.after)


def test_old_entries_with_whole_snapshots_still_rebuild(session: Session) -> None:
    """Entries written before the change hold whole snapshots (and no version column)."""
    admin = make_principal(session, role=Role.ADMIN)
    old = {"name": "A", "sector": "Health", "version": 1, "updated_by": "x"}
    session.add_all(
        [
            AuditEntry(
                actor_label="x", action="create", entity_type="thing", entity_id="7", after=old
            ),
            AuditEntry(
                actor_label="x",
                action="update",
                entity_type="thing",
                entity_id="7",
                before=old,
                after={**old, "name": "B", "version": 2},
            ),
        ]
    )
    session.commit()
    record_change(
        session=session,
        actor=admin,
        action="update",
        entity_type="thing",
        entity_id=7,
        before={**old, "name": "B", "version": 2},
        after={**old, "name": "B", "sector": "Food", "version": 3},
    )
    session.commit()
    steps = record_history(session=session, actor=admin, entity_type="thing", entity_id="7")
    assert [(s.version, s.changed, s.state) for s in steps] == [
        (1, ["name", "sector"], {"name": "A", "sector": "Health"}),
        (2, ["name"], {"name": "B", "sector": "Health"}),
        (3, ["sector"], {"name": "B", "sector": "Food"}),
    ]
    newest = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc())).first()
    assert newest is not None
    assert (newest.before, newest.after, newest.version) == (
        {"sector": "Health"},
        {"sector": "Food"},
        3,
    )
    assert newest.summary == "sector"


def test_a_refused_attempt_is_not_a_step(session: Session) -> None:
    entry = AuditEntry(id=1, actor_label="x", action="denied", entity_type="initiative")
    assert rebuild_history([entry]) == []
