"""Reading and writing many initiatives at once (import, export).

The one-record services in ``initiatives.service`` issue about a dozen statements per
record (side-table deletes, version number, two re-reads of the record, a commit).
This module writes a whole batch with a constant number of statements, yet through the
same helpers (``initiatives.records``: ``row_values``, ``side_rows``, ``version_values``,
``audit_snapshot``) and the same review rule (``initiatives.workflow.plan_edit``), so an
imported initiative is stored, versioned and audited exactly as one saved on a form:
one ``InitiativeVersion`` and one audit entry (``record_change``) per initiative.
Permission checks stay with the caller (``initiatives.exchange``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import delete, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from geo.areas import country_code
from hub.audit import change_values, record_changes, snapshot
from hub.auth import Principal
from hub.errors import InvalidInput
from hub.i18n import _
from hub.records import stale_guard, utcnow
from initiatives import workflow
from initiatives.models import (
    Initiative,
    InitiativeArea,
    InitiativeChannel,
    InitiativeDraft,
    InitiativeParticipant,
    InitiativeTargetGroup,
    InitiativeVersion,
    Participant,
    ReviewState,
)
from initiatives.records import (
    SIDE_TABLES,
    audit_snapshot,
    draft_from_parts,
    draft_json,
    fill_row,
    row_values,
    side_rows,
    version_values,
)
from partners.models import Organisation

# Well under SQLite's and PostgreSQL's limits on bound parameters per statement.
CHUNK = 900

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def initiatives_by_code(*, session: Session, codes: Iterable[str]) -> dict[str, Initiative]:
    wanted = sorted(set(codes))
    found: dict[str, Initiative] = {}
    for part in chunks(wanted):
        for initiative in session.exec(select(Initiative).where(col(Initiative.code).in_(part))):
            found[initiative.code] = initiative
    return found


def drafts_of(*, session: Session, initiatives: Sequence[Initiative]) -> dict[int, InitiativeDraft]:
    """``service.draft_of`` for many initiatives: one query per side table and chunk."""
    ids = [i.id for i in initiatives if i.id is not None]
    areas: dict[int, list[str]] = defaultdict(list)
    groups: dict[int, list[str]] = defaultdict(list)
    channels: dict[int, list[Any]] = defaultdict(list)
    participants: dict[int, list[Participant]] = defaultdict(list)
    for part in chunks(ids):
        for i, code in session.exec(
            select(InitiativeArea.initiative_id, InitiativeArea.area_code).where(
                col(InitiativeArea.initiative_id).in_(part)
            )
        ):
            areas[i].append(code)
        for i, code in session.exec(
            select(InitiativeTargetGroup.initiative_id, InitiativeTargetGroup.code).where(
                col(InitiativeTargetGroup.initiative_id).in_(part)
            )
        ):
            groups[i].append(code)
        for i, channel in session.exec(
            select(InitiativeChannel.initiative_id, InitiativeChannel.channel).where(
                col(InitiativeChannel.initiative_id).in_(part)
            )
        ):
            channels[i].append(channel)
        for participant in session.exec(
            select(InitiativeParticipant).where(col(InitiativeParticipant.initiative_id).in_(part))
        ):
            participants[participant.initiative_id].append(
                Participant(organisation_id=participant.organisation_id, role=participant.role)
            )
    return {
        i.id: draft_from_parts(
            i,
            participants=sorted(participants[i.id], key=lambda p: p.organisation_id),
            target_groups=groups[i.id],
            areas=areas[i.id],
            channels=channels[i.id],
        )
        for i in initiatives
        if i.id is not None
    }


def as_stored(draft: InitiativeDraft) -> InitiativeDraft:
    """``draft`` in the order ``draft_of`` reads it back, for versions and the audit log."""
    return draft.model_copy(
        update={
            "participants": sorted(draft.participants, key=lambda p: p.organisation_id),
            "target_groups": sorted(draft.target_groups),
            "areas": sorted(draft.areas),
            "channels": sorted(draft.channels),
        }
    )


@dataclass
class BulkItem:
    """One validated record to write: new when ``existing`` is None."""

    draft: InitiativeDraft
    existing: Initiative | None = None
    current: InitiativeDraft | None = None  # the existing record's content (drafts_of)


@dataclass(frozen=True)
class BulkResult:
    initiative_id: int
    code: str
    action: str  # create, submit, update, propose_edit
    created: bool


@dataclass
class _Plan:
    initiative_id: int
    row: dict[str, Any]  # the row's columns after the write, for the audit log
    action: str
    content: InitiativeDraft  # the record's content after the write
    before: dict[str, Any] | None = None
    summary: str = ""


def write_many(
    *, session: Session, actor: Principal, items: Sequence[BulkItem], submit: bool = False
) -> list[BulkResult]:
    """Create or update every item in the session's transaction (flushed, not committed).

    New records are drafts (or submitted); each edit follows ``workflow.plan_edit`` and
    ``workflow.mark_edit``, as ``service.update_initiative`` does.
    New rows go in as batched INSERTs of plain values (no ORM object per row); updates
    go through the ORM so the optimistic version check still guards them.
    """
    now = utcnow()
    names = dict(session.exec(select(Organisation.id, Organisation.name)).all())
    country = country_code()
    # Every column with its model default, so new rows carry exactly the columns (and
    # the audit log exactly the keys) that an Initiative saved one by one has.
    defaults = Initiative(code="", title="", lead_organisation_id=0, category="").model_dump(
        exclude={"id"}
    )
    plans: list[_Plan] = []
    applied: list[tuple[int, InitiativeDraft]] = []
    replaced: list[int] = []  # existing records whose side rows are rewritten

    new_rows: list[dict[str, Any]] = []
    new_drafts: list[InitiativeDraft] = []
    updated: list[tuple[Initiative, workflow.EditPlan, InitiativeDraft, dict[str, Any], str]] = []
    for item in items:
        draft, initiative = as_stored(item.draft), item.existing
        organisation_name = names.get(draft.lead_organisation_id or 0, "")
        if initiative is None:
            new_rows.append(
                {
                    **defaults,
                    **row_values(draft, country_code=country, organisation_name=organisation_name),
                    "review_state": ReviewState.SUBMITTED if submit else ReviewState.DRAFT,
                    "submitted_at": now if submit else None,
                    "last_confirmed_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "updated_by": actor.label,
                    "version": 1,
                }
            )
            new_drafts.append(draft)
            continue
        assert item.current is not None
        before = audit_snapshot(initiative, item.current)
        plan = workflow.plan_edit(initiative.review_state, by_staff=actor.is_staff, submit=submit)
        summary = workflow.mark_edit(initiative, plan, draft, current=item.current, now=now)
        initiative.updated_at = now
        initiative.updated_by = actor.label
        if plan.applies:
            fill_row(initiative, draft, country_code=country, organisation_name=organisation_name)
        content = draft if plan.applies else item.current
        updated.append((initiative, plan, content, before, summary))

    if new_rows:
        # Batched INSERT ... RETURNING; rows come back in any order, so match them by code
        # (asking SQLAlchemy to keep parameter order makes SQLite insert one row at a time).
        try:
            ids = dict(
                session.execute(
                    insert(Initiative).returning(col(Initiative.code), col(Initiative.id)),
                    new_rows,
                ).all()
            )
        except IntegrityError:
            session.rollback()
            taken = sorted(
                initiatives_by_code(session=session, codes=[row["code"] for row in new_rows])
            )
            if not taken:
                raise
            raise InvalidInput(
                _(
                    "Identifier: '{code}' was taken by another save meanwhile. "
                    "Nothing was written: import the file again."
                ).format(code=taken[0]),
                field="code",
            ) from None
        for values, draft in zip(new_rows, new_drafts, strict=True):
            initiative_id = ids[values["code"]]
            plans.append(
                _Plan(
                    initiative_id=initiative_id,
                    row={**values, "id": initiative_id},
                    action="submit" if submit else "create",
                    content=draft,
                )
            )
            applied.append((initiative_id, draft))
    if updated:
        with stale_guard(session=session, record=updated[0][0]):
            session.flush()  # the updates, each checked against its version
    for initiative, plan, content, before, summary in updated:
        assert initiative.id is not None
        plans.append(
            _Plan(initiative.id, initiative.model_dump(), plan.action, content, before, summary)
        )
        if plan.applies:
            applied.append((initiative.id, content))
            replaced.append(initiative.id)

    for part in chunks(replaced):
        for table in SIDE_TABLES:
            session.execute(delete(table).where(col(table.initiative_id).in_(part)))
    side: dict[type[Any], list[dict[str, Any]]] = defaultdict(list)
    for initiative_id, draft in applied:
        for table, table_rows in side_rows(initiative_id, draft).items():
            side[table].extend(table_rows)
    for table, table_rows in side.items():
        if table_rows:  # Core INSERTs: plain values need no ORM bookkeeping
            session.execute(insert(table.__table__), table_rows)

    numbers: dict[int, int] = {}
    for part in chunks([p.initiative_id for p in plans if p.before is not None]):
        numbers.update(
            session.exec(
                select(InitiativeVersion.initiative_id, func.max(InitiativeVersion.number))
                .where(col(InitiativeVersion.initiative_id).in_(part))
                .group_by(col(InitiativeVersion.initiative_id))
            ).all()
        )
    versions = [
        version_values(
            p.initiative_id,
            p.row["review_state"],
            p.content,
            number=numbers.get(p.initiative_id, 0) + 1,
            action=p.action,
            actor=actor,
        )
        for p in plans
    ]
    if versions:
        table = InitiativeVersion.__table__  # type: ignore[attr-defined]
        session.execute(insert(table), versions)
    record_changes(
        session=session,
        changes=[
            change_values(
                actor=actor,
                action=p.action,
                entity_type="initiative",
                entity_id=p.initiative_id,
                before=p.before,
                after={**snapshot(p.row), **draft_json(p.content)},
                summary=p.summary,
            )
            for p in plans
        ],
    )
    return [
        BulkResult(
            initiative_id=p.initiative_id,
            code=p.row["code"],
            action=p.action,
            created=p.before is None,
        )
        for p in plans
    ]
