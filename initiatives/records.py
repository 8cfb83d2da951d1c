"""The initiative record: its content in draft shape, how a draft is written onto the row
and its side tables, its history (version rows), its audit snapshot, its code, and the
one save sequence (``hub.records.save_record`` with a version row on flush).

Shared by the one-record services (initiatives.service), the batch writer
(initiatives.bulk), overlap merges (initiatives.overlap) and the demo loader, so a record
is stored, versioned and audited the same way whichever path wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from geo.areas import country_code
from hub.audit import snapshot
from hub.auth import Principal
from hub.errors import InvalidInput
from hub.i18n import _
from hub.records import save_record, stamp, utcnow
from hub.text import fold, stems_column
from initiatives.models import (
    Channel,
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
from partners.models import Organisation

# Fields of the draft that are stored in side tables rather than on the row.
SIDE_FIELDS = ("participants", "target_groups", "areas", "channels")
# Draft fields stored on the initiative row itself (the others are SIDE_FIELDS).
ROW_FIELDS = (
    "title",
    "description",
    "category",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "status",
    "people_targeted",
    "people_reached",
    "cost",
    "link",
    "contact_email",
)
SIDE_TABLES = (InitiativeArea, InitiativeTargetGroup, InitiativeChannel, InitiativeParticipant)
# Codes the registry generates: INI-000123. Imports may use the same namespace, so a
# generated code skips any code already taken (``next_code``).
CODE_PREFIX = "INI-"
_CODE_PROBE = 50  # candidate codes looked up per query

__all__ = ["ROW_FIELDS", "SIDE_FIELDS", "SIDE_TABLES", "stamp"]


# --- content ---------------------------------------------------------------------------


def draft_from_parts(
    initiative: Initiative,
    *,
    participants: Iterable[Participant],
    target_groups: Iterable[str],
    areas: Iterable[str],
    channels: Iterable[Channel],
) -> InitiativeDraft:
    """The draft of ``initiative`` given its side-table values (lists sorted as stored)."""
    return InitiativeDraft(
        code=initiative.code,
        lead_organisation_id=initiative.lead_organisation_id,
        participants=list(participants),
        target_groups=sorted(target_groups),
        areas=sorted(areas),
        channels=sorted(channels),
        **{field: getattr(initiative, field) for field in ROW_FIELDS},
    )


def draft_of(*, session: Session, initiative: Initiative) -> InitiativeDraft:
    """The initiative's current content in draft shape (what a form shows)."""
    initiative_id = initiative.id

    def values(column: Any) -> list[Any]:
        table = column.class_
        return list(session.exec(select(column).where(table.initiative_id == initiative_id)))

    return draft_from_parts(
        initiative,
        participants=[
            Participant(organisation_id=p.organisation_id, role=p.role)
            for p in session.exec(
                select(InitiativeParticipant).where(
                    InitiativeParticipant.initiative_id == initiative_id
                )
            ).all()
        ],
        target_groups=values(InitiativeTargetGroup.code),
        areas=values(InitiativeArea.area_code),
        channels=values(InitiativeChannel.channel),
    )


def draft_json(draft: InitiativeDraft) -> dict[str, Any]:
    return draft.model_dump(mode="json")


def changed_draft_fields(before: InitiativeDraft, after: InitiativeDraft) -> list[str]:
    old, new = draft_json(before), draft_json(after)
    return [field for field in new if old.get(field) != new.get(field)]


def organisation_name(*, session: Session, organisation_id: int | None) -> str:
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    return organisation.name if organisation else ""


def audit_snapshot(initiative: Initiative, draft: InitiativeDraft) -> dict[str, Any]:
    """What the audit log stores as before/after: the row plus its side tables."""
    return {**snapshot(initiative), **draft_json(draft)}


def full_snapshot(*, session: Session, initiative: Initiative) -> dict[str, Any]:
    """``audit_snapshot`` of the record as it is in the session now."""
    return audit_snapshot(initiative, draft_of(session=session, initiative=initiative))


# --- writing a draft -------------------------------------------------------------------


def row_values(
    draft: InitiativeDraft, *, country_code: str, organisation_name: str
) -> dict[str, Any]:
    """The initiative row's own columns for ``draft`` (side tables apart).

    Shared by the one-record services (``fill_row``) and the bulk import
    (initiatives.bulk), so both store a draft the same way.
    """
    values = {field: getattr(draft, field) for field in ROW_FIELDS}
    assert draft.lead_organisation_id is not None
    values["lead_organisation_id"] = draft.lead_organisation_id
    if draft.code:
        values["code"] = draft.code
    values["is_national"] = country_code in draft.areas
    values["search_text"] = fold(draft.title, draft.description, organisation_name)
    values["search_stems"] = stems_column(values["search_text"])
    return values


def fill_row(
    initiative: Initiative, draft: InitiativeDraft, *, country_code: str, organisation_name: str
) -> None:
    """Copy ``draft`` onto the row's own columns (no side tables, no flush)."""
    values = row_values(draft, country_code=country_code, organisation_name=organisation_name)
    for field, value in values.items():
        setattr(initiative, field, value)


def side_rows(initiative_id: int, draft: InitiativeDraft) -> dict[type[Any], list[dict[str, Any]]]:
    """The side-table rows (areas, target groups, channels, participants) of ``draft``."""
    return {
        InitiativeArea: [{"initiative_id": initiative_id, "area_code": a} for a in draft.areas],
        InitiativeTargetGroup: [
            {"initiative_id": initiative_id, "code": g} for g in draft.target_groups
        ],
        InitiativeChannel: [{"initiative_id": initiative_id, "channel": c} for c in draft.channels],
        InitiativeParticipant: [
            {"initiative_id": initiative_id, "organisation_id": p.organisation_id, "role": p.role}
            for p in draft.participants
        ],
    }


def code_taken_error(code: str) -> InvalidInput:
    return InvalidInput(
        _("Identifier: '{code}' is already used by another initiative.").format(code=code),
        field="code",
    )


def code_taken(*, session: Session, code: str) -> bool:
    return session.exec(select(Initiative.id).where(Initiative.code == code)).first() is not None


def insert_row(*, session: Session, initiative: Initiative) -> None:
    """INSERT a new row (flushed, so side rows can name its id).

    A code another save took meanwhile (a concurrent create, an import) raises
    InvalidInput on ``code``, with the session rolled back, never a raw IntegrityError."""
    session.add(initiative)
    code = initiative.code
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        if code_taken(session=session, code=code):
            raise code_taken_error(code) from None
        raise


def apply_draft(
    *,
    session: Session,
    initiative: Initiative,
    draft: InitiativeDraft,
    country: str | None = None,
) -> None:
    """Write ``draft`` onto the row and its side tables (the caller saves)."""
    fill_row(
        initiative,
        draft,
        country_code=country or country_code(),
        organisation_name=organisation_name(
            session=session, organisation_id=draft.lead_organisation_id
        ),
    )
    if initiative.id is None:
        insert_row(session=session, initiative=initiative)
    initiative_id = initiative.id
    assert initiative_id is not None
    for table in SIDE_TABLES:
        session.execute(delete(table).where(col(table.initiative_id) == initiative_id))
    session.add_all(
        [
            table(**values)
            for table, rows in side_rows(initiative_id, draft).items()
            for values in rows
        ]
    )


def next_code(*, session: Session) -> str:
    """A free generated code: INI- and the next id, or the next number not yet taken."""
    start = int(session.exec(select(func.max(Initiative.id))).one() or 0) + 1
    while True:
        candidates = [f"{CODE_PREFIX}{n:06d}" for n in range(start, start + _CODE_PROBE)]
        taken = set(
            session.exec(select(Initiative.code).where(col(Initiative.code).in_(candidates)))
        )
        free = [c for c in candidates if c not in taken]
        if free:
            return free[0]
        start += _CODE_PROBE


# --- history and the save --------------------------------------------------------------


def version_values(
    initiative_id: int,
    review_state: ReviewState,
    draft: InitiativeDraft,
    *,
    number: int,
    action: str,
    actor: Principal | None,
) -> dict[str, Any]:
    """The columns of a history entry (``version_row``, or a bulk INSERT)."""
    return {
        "initiative_id": initiative_id,
        "number": number,
        "action": action,
        "review_state": review_state,
        "snapshot": {**draft_json(draft), "review_state": review_state.value},
        "actor_label": actor.label if actor else "system",
        "at": utcnow(),
    }


def version_row(
    initiative: Initiative,
    draft: InitiativeDraft,
    *,
    number: int,
    action: str,
    actor: Principal | None,
) -> InitiativeVersion:
    """The history entry for ``initiative`` whose current content is ``draft``."""
    assert initiative.id is not None
    return InitiativeVersion(
        **version_values(
            initiative.id, initiative.review_state, draft, number=number, action=action, actor=actor
        )
    )


def record_version(
    *, session: Session, actor: Principal | None, initiative: Initiative, action: str
) -> None:
    """Add the next history entry of ``initiative`` (its content as it is now)."""
    assert initiative.id is not None
    number = session.exec(
        select(func.coalesce(func.max(InitiativeVersion.number), 0)).where(
            InitiativeVersion.initiative_id == initiative.id
        )
    ).one()
    session.add(
        version_row(
            initiative,
            draft_of(session=session, initiative=initiative),
            number=int(number) + 1,
            action=action,
            actor=actor,
        )
    )


def save_initiative(
    *,
    session: Session,
    actor: Principal | None,
    initiative: Initiative,
    action: str,
    before: dict[str, Any] | None,
    summary: str = "",
    commit: bool = True,
    version_action: str | None = None,
) -> Initiative:
    """The save sequence of ``hub.records.save_record``, with a version row on flush
    (its action is ``version_action`` when the history names the step otherwise)."""
    return save_record(
        session=session,
        actor=actor,
        record=initiative,
        action=action,
        entity_type="initiative",
        before=before,
        summary=summary,
        snapshot_of=lambda record: full_snapshot(session=session, initiative=record),
        on_flushed=lambda record: record_version(
            session=session, actor=actor, initiative=record, action=version_action or action
        ),
        commit=commit,
    )
