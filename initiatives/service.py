"""Registry services: create, edit, submit, review, publish, withdraw, report progress.

Permission rules (tested in tests/unit/test_initiative_permissions.py):
- staff may do everything, on any organisation's initiative;
- a partner user sees initiatives their organisation leads or takes part in, and
  changes only those their organisation leads; any other attempt, by any path, is
  refused with PermissionDenied and leaves an audit entry;
- the public sees published initiatives only, in the ``InitiativePublic`` shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from hub.audit import record_change, snapshot
from hub.auth import Principal, require_staff
from hub.errors import InvalidInput, NotFound, PermissionDenied
from hub.i18n import _
from hub.records import StaleDataError, check_version, stale_error, utcnow
from hub.text import fold
from hub.urls import safe_http_url
from initiatives.models import (
    Initiative,
    InitiativeArea,
    InitiativeChannel,
    InitiativeDraft,
    InitiativeParticipant,
    InitiativeTargetGroup,
    InitiativeVersion,
    Notification,
    Participant,
    ParticipantRole,
    ReviewState,
    VocabularyKind,
    VocabularyTerm,
)
from partners.accounts import EMAIL_PATTERN
from partners.models import Organisation

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
LINK_MAX = 500  # the column's length
PEOPLE_MAX = 20_000_000  # more than the population: surely a typing slip

# Fields of the draft that are stored in side tables rather than on the row.
SIDE_FIELDS = ("participants", "target_groups", "areas", "channels")
# States in which the lead partner edits the row itself (nothing public yet).
UNPUBLISHED_STATES = frozenset(
    {ReviewState.DRAFT, ReviewState.CHANGES_REQUESTED, ReviewState.REJECTED, ReviewState.SUBMITTED}
)


# --- permissions ---------------------------------------------------------------------


def _deny(
    session: Session, actor: Principal | None, initiative_id: Any, action: str
) -> PermissionDenied:
    """Record the refused attempt (in its own commit) and return the error to raise."""
    session.rollback()
    record_change(
        session=session,
        actor=actor,
        action="denied",
        entity_type="initiative",
        entity_id=initiative_id,
        summary=f"refused: {action}",
    )
    session.commit()
    return PermissionDenied(_("You may only change your own organisation's initiatives."))


def require_lead(
    session: Session, actor: Principal | None, initiative: Initiative, action: str
) -> Principal:
    if actor is None:
        raise PermissionDenied(_("Please sign in first."))
    if actor.is_staff or actor.organisation_id == initiative.lead_organisation_id:
        return actor
    raise _deny(session, actor, initiative.id, action)


def can_see(session: Session, actor: Principal | None, initiative: Initiative) -> bool:
    if actor is None:
        return initiative.review_state is ReviewState.PUBLISHED
    if actor.is_staff or actor.organisation_id == initiative.lead_organisation_id:
        return True
    return (
        session.exec(
            select(InitiativeParticipant.initiative_id).where(
                InitiativeParticipant.initiative_id == initiative.id,
                InitiativeParticipant.organisation_id == actor.organisation_id,
            )
        ).first()
        is not None
    )


def get_initiative(*, session: Session, actor: Principal | None, initiative_id: int) -> Initiative:
    initiative = session.get(Initiative, initiative_id, populate_existing=True)
    if initiative is None:
        raise NotFound(_("That initiative does not exist."))
    if not can_see(session, actor, initiative):
        raise _deny(session, actor, initiative_id, "view")
    return initiative


# --- vocabulary ----------------------------------------------------------------------


def vocabulary(
    *, session: Session, kind: VocabularyKind, include_inactive: bool = False
) -> list[VocabularyTerm]:
    query = select(VocabularyTerm).where(VocabularyTerm.kind == kind)
    if not include_inactive:
        query = query.where(col(VocabularyTerm.active).is_(True))
    return list(
        session.exec(query.order_by(col(VocabularyTerm.position), col(VocabularyTerm.code))).all()
    )


def term_labels(*, session: Session, kind: VocabularyKind, language: str) -> dict[str, str]:
    return {
        term.code: term.label_pt if language == "pt" else term.label_en
        for term in vocabulary(session=session, kind=kind, include_inactive=True)
    }


def add_term(
    *,
    session: Session,
    actor: Principal | None,
    kind: VocabularyKind,
    code: str,
    label_en: str,
    label_pt: str,
) -> VocabularyTerm:
    """Staff extend a configurable list (a new category or target group)."""
    require_staff(actor)
    code = code.strip().lower().replace(" ", "_")
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,39}", code):
        raise InvalidInput(
            _(
                "Code: use 2 to 40 lower-case letters, digits or underscores, "
                "starting with a letter."
            ),
            field="code",
        )
    if not label_en.strip() or not label_pt.strip():
        raise InvalidInput(_("Labels: give the name in English and in Portuguese."), field="label")
    existing = session.exec(
        select(VocabularyTerm).where(VocabularyTerm.kind == kind, VocabularyTerm.code == code)
    ).first()
    if existing is not None:
        raise InvalidInput(
            _("Code: '{code}' is already in the list.").format(code=code), field="code"
        )
    position = session.exec(
        select(func.coalesce(func.max(VocabularyTerm.position), 0)).where(
            VocabularyTerm.kind == kind
        )
    ).one()
    term = VocabularyTerm(
        kind=kind,
        code=code,
        label_en=label_en.strip(),
        label_pt=label_pt.strip(),
        position=int(position) + 1,
    )
    session.add(term)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        action="create",
        entity_type="vocabulary_term",
        entity_id=term.id,
        after=snapshot(term),
    )
    session.commit()
    return term


# --- validation ----------------------------------------------------------------------


def known_area_codes(session: Session) -> set[str]:
    from geo.areas import known_area_codes as reference_codes

    return reference_codes(session=session)


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        cleaned = value.strip()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


def validate_draft(
    session: Session,
    draft: InitiativeDraft,
    *,
    area_codes: set[str] | None = None,
    categories: set[str] | None = None,
    target_groups: set[str] | None = None,
    organisation_ids: set[int] | None = None,
) -> InitiativeDraft:
    """Return a cleaned copy of ``draft`` or raise InvalidInput naming the field and the fix.

    The optional sets let a bulk import look the reference lists up once, not per row.
    """
    title = " ".join(draft.title.split())
    if not title:
        raise InvalidInput(_("Title: give the initiative a title."), field="title")
    if len(title) > TITLE_MAX:
        raise InvalidInput(
            _("Title: use at most {n} characters.").format(n=TITLE_MAX), field="title"
        )
    description = draft.description.strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(
            _("Description: use at most {n} characters.").format(n=DESCRIPTION_MAX),
            field="description",
        )
    if organisation_ids is None:
        organisation_ids = {
            organisation_id
            for organisation_id in session.exec(
                select(Organisation.id).where(col(Organisation.active).is_(True))
            ).all()
            if organisation_id is not None
        }
    if draft.lead_organisation_id is None or draft.lead_organisation_id not in organisation_ids:
        raise InvalidInput(
            _("Organisation: choose the organisation that leads the initiative."),
            field="lead_organisation_id",
        )
    participants: dict[int, Participant] = {}
    for participant in draft.participants:
        if participant.organisation_id not in organisation_ids:
            raise InvalidInput(
                _("Participating organisations: one of them does not exist."), field="participants"
            )
        if participant.organisation_id != draft.lead_organisation_id:
            participants[participant.organisation_id] = participant.model_copy(
                update={"role": ParticipantRole.IMPLEMENTING}
                if participant.role is ParticipantRole.LEAD
                else {}
            )
    if categories is None:
        categories = {t.code for t in vocabulary(session=session, kind=VocabularyKind.CATEGORY)}
    category = draft.category.strip()
    if category not in categories:
        raise InvalidInput(
            _("Category: '{value}' is not in the list. Choose one of: {allowed}.").format(
                value=category, allowed=", ".join(sorted(categories))
            ),
            field="category",
        )
    if target_groups is None:
        target_groups = {
            t.code for t in vocabulary(session=session, kind=VocabularyKind.TARGET_GROUP)
        }
    groups = _unique(draft.target_groups)
    unknown_groups = [g for g in groups if g not in target_groups]
    if unknown_groups:
        raise InvalidInput(
            _("Target groups: '{value}' is not in the list. Choose from: {allowed}.").format(
                value=unknown_groups[0], allowed=", ".join(sorted(target_groups))
            ),
            field="target_groups",
        )
    if area_codes is None:
        area_codes = known_area_codes(session)
    areas = [a.upper() if a.upper().startswith("PT") else a for a in _unique(draft.areas)]
    unknown_areas = [a for a in areas if a not in area_codes]
    if unknown_areas:
        raise InvalidInput(
            _(
                "Areas: '{value}' is not a known district (PT-11), municipality (1106) or "
                "country code."
            ).format(value=unknown_areas[0]),
            field="areas",
        )
    for start_field, end_field, start, end in (
        ("planned_start", "planned_end", draft.planned_start, draft.planned_end),
        ("actual_start", "actual_end", draft.actual_start, draft.actual_end),
    ):
        if start and end and end < start:
            raise InvalidInput(
                _("End date: {end} is before the start date {start}. Correct one of them.").format(
                    end=end.isoformat(), start=start.isoformat()
                ),
                field=end_field,
            )
        del start_field
    for field, value in (
        ("people_targeted", draft.people_targeted),
        ("people_reached", draft.people_reached),
    ):
        if value is not None and not 0 <= value <= PEOPLE_MAX:
            raise InvalidInput(
                _("People: enter a whole number between 0 and {n}.").format(n=f"{PEOPLE_MAX:,}"),
                field=field,
            )
    link = ""
    if draft.link.strip():
        link = safe_http_url(draft.link) or ""
        if not link:
            raise InvalidInput(
                _("Public link: enter a web address starting with https://."), field="link"
            )
        if len(link) > LINK_MAX:
            raise InvalidInput(
                _("Public link: use at most {n} characters.").format(n=LINK_MAX), field="link"
            )
    contact = draft.contact_email.strip().lower()
    if contact and (not EMAIL_PATTERN.match(contact) or len(contact) > 254):
        raise InvalidInput(
            _("Contact e-mail: enter an address like name@example.pt."), field="contact_email"
        )
    code = (draft.code or "").strip()
    if code and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:/\-]{0,79}", code):
        raise InvalidInput(
            _("Identifier: use up to 80 letters, digits, dots, dashes, colons or slashes."),
            field="code",
        )
    return draft.model_copy(
        update={
            "code": code or None,
            "title": title,
            "description": description,
            "category": category,
            "target_groups": groups,
            "areas": areas,
            "channels": list(dict.fromkeys(draft.channels)),
            "participants": list(participants.values()),
            "link": link,
            "contact_email": contact,
        }
    )


# --- reading and writing the record ----------------------------------------------


def draft_of(session: Session, initiative: Initiative) -> InitiativeDraft:
    """The initiative's current content in draft shape (what a form shows)."""
    initiative_id = initiative.id
    return InitiativeDraft(
        code=initiative.code,
        title=initiative.title,
        description=initiative.description,
        lead_organisation_id=initiative.lead_organisation_id,
        participants=[
            Participant(organisation_id=p.organisation_id, role=p.role)
            for p in session.exec(
                select(InitiativeParticipant).where(
                    InitiativeParticipant.initiative_id == initiative_id
                )
            ).all()
        ],
        category=initiative.category,
        target_groups=sorted(
            session.exec(
                select(InitiativeTargetGroup.code).where(
                    InitiativeTargetGroup.initiative_id == initiative_id
                )
            ).all()
        ),
        areas=sorted(
            session.exec(
                select(InitiativeArea.area_code).where(
                    InitiativeArea.initiative_id == initiative_id
                )
            ).all()
        ),
        channels=sorted(
            session.exec(
                select(InitiativeChannel.channel).where(
                    InitiativeChannel.initiative_id == initiative_id
                )
            ).all()
        ),
        planned_start=initiative.planned_start,
        planned_end=initiative.planned_end,
        actual_start=initiative.actual_start,
        actual_end=initiative.actual_end,
        status=initiative.status,
        people_targeted=initiative.people_targeted,
        people_reached=initiative.people_reached,
        cost=initiative.cost,
        link=initiative.link,
        contact_email=initiative.contact_email,
    )


def draft_json(draft: InitiativeDraft) -> dict[str, Any]:
    return draft.model_dump(mode="json")


def _organisation_name(session: Session, organisation_id: int | None) -> str:
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    return organisation.name if organisation else ""


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
            initiative.id,
            initiative.review_state,
            draft,
            number=number,
            action=action,
            actor=actor,
        )
    )


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


def audit_snapshot(initiative: Initiative, draft: InitiativeDraft) -> dict[str, Any]:
    """What the audit log stores as before/after: the row plus its side tables."""
    return {**snapshot(initiative), **draft_json(draft)}


def _apply(
    session: Session, initiative: Initiative, draft: InitiativeDraft, country_code: str
) -> None:
    """Write ``draft`` onto the row and its side tables (caller flushes and commits)."""
    fill_row(
        initiative,
        draft,
        country_code=country_code,
        organisation_name=_organisation_name(session, draft.lead_organisation_id),
    )
    if initiative.id is None:
        session.add(initiative)
        session.flush()
    initiative_id = initiative.id
    for table in SIDE_TABLES:
        session.execute(delete(table).where(col(table.initiative_id) == initiative_id))
    assert initiative_id is not None
    session.add_all(
        [
            table(**values)
            for table, rows in side_rows(initiative_id, draft).items()
            for values in rows
        ]
    )


def _record_version(
    session: Session, actor: Principal | None, initiative: Initiative, action: str
) -> None:
    assert initiative.id is not None
    number = session.exec(
        select(func.coalesce(func.max(InitiativeVersion.number), 0)).where(
            InitiativeVersion.initiative_id == initiative.id
        )
    ).one()
    session.add(
        version_row(
            initiative,
            draft_of(session, initiative),
            number=int(number) + 1,
            action=action,
            actor=actor,
        )
    )


def _touch(initiative: Initiative, actor: Principal | None) -> None:
    initiative.updated_at = utcnow()
    initiative.updated_by = actor.label if actor else "system"


def _save(
    session: Session,
    actor: Principal | None,
    initiative: Initiative,
    action: str,
    before: dict[str, Any] | None,
    summary: str = "",
) -> Initiative:
    _touch(initiative, actor)
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise stale_error(session.get(Initiative, initiative.id, populate_existing=True)) from None
    _record_version(session, actor, initiative, action)
    after = audit_snapshot(initiative, draft_of(session, initiative))
    record_change(
        session=session,
        actor=actor,
        action=action,
        entity_type="initiative",
        entity_id=initiative.id,
        before=before,
        after=after,
        summary=summary,
    )
    session.commit()
    _refresh_overlap_index(session)
    return initiative


def _refresh_overlap_index(session: Session) -> None:
    """Keep this process's overlap index current (issue 4; initiatives.overlap)."""
    from initiatives.overlap import refresh_loaded_index

    refresh_loaded_index(session)


def _full_snapshot(session: Session, initiative: Initiative) -> dict[str, Any]:
    return audit_snapshot(initiative, draft_of(session, initiative))


def next_code(session: Session) -> str:
    highest = session.exec(select(func.max(Initiative.id))).one() or 0
    return f"INI-{int(highest) + 1:06d}"


def country_code() -> str:
    from geo.areas import country_code as configured_country

    return configured_country()


def create_initiative(
    *, session: Session, actor: Principal | None, draft: InitiativeDraft, submit: bool = False
) -> Initiative:
    """A partner (for their own organisation) or staff create a draft, or submit at once."""
    if actor is None:
        raise PermissionDenied(_("Please sign in first."))
    if not actor.is_staff and draft.lead_organisation_id != actor.organisation_id:
        raise _deny(session, actor, None, "create for another organisation")
    draft = validate_draft(session, draft)
    if (
        draft.code
        and session.exec(select(Initiative.id).where(Initiative.code == draft.code)).first()
    ):
        raise InvalidInput(
            _("Identifier: '{code}' is already used by another initiative.").format(
                code=draft.code
            ),
            field="code",
        )
    now = utcnow()
    initiative = Initiative(
        code=draft.code or next_code(session),
        title=draft.title,
        lead_organisation_id=draft.lead_organisation_id or 0,
        category=draft.category,
        review_state=ReviewState.SUBMITTED if submit else ReviewState.DRAFT,
        submitted_at=now if submit else None,
        last_confirmed_at=now,
        updated_by=actor.label,
    )
    _apply(session, initiative, draft, country_code())
    return _save(session, actor, initiative, "submit" if submit else "create", None)


def update_initiative(
    *,
    session: Session,
    actor: Principal | None,
    initiative_id: int,
    draft: InitiativeDraft,
    expected_version: int,
    submit: bool = False,
) -> Initiative:
    """Save an edit. A partner's edit of a published initiative waits for review while the
    published version stays live; staff edits apply at once."""
    initiative = get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    actor = require_lead(session, actor, initiative, "update")
    check_version(initiative, expected_version)
    if initiative.review_state is ReviewState.WITHDRAWN:
        raise InvalidInput(_("This initiative was withdrawn; it can no longer be edited."))
    if not actor.is_staff and draft.lead_organisation_id != initiative.lead_organisation_id:
        raise _deny(session, actor, initiative_id, "move to another organisation")
    draft = validate_draft(session, draft.model_copy(update={"code": initiative.code}))
    before = _full_snapshot(session, initiative)
    now = utcnow()
    if initiative.review_state is ReviewState.PUBLISHED and not actor.is_staff:
        initiative.pending_changes = draft_json(draft)
        initiative.pending_submitted_at = now
        initiative.last_confirmed_at = now
        return _save(
            session,
            actor,
            initiative,
            "propose_edit",
            before,
            summary=", ".join(changed_draft_fields(draft_of(session, initiative), draft)),
        )
    _apply(session, initiative, draft, country_code())
    initiative.last_confirmed_at = now
    if submit and initiative.review_state in UNPUBLISHED_STATES:
        initiative.review_state = ReviewState.SUBMITTED
        initiative.submitted_at = now
        initiative.review_note = ""
    return _save(session, actor, initiative, "submit" if submit else "update", before)


def submit_initiative(
    *, session: Session, actor: Principal | None, initiative_id: int, expected_version: int
) -> Initiative:
    initiative = get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    require_lead(session, actor, initiative, "submit")
    check_version(initiative, expected_version)
    if initiative.review_state not in {
        ReviewState.DRAFT,
        ReviewState.CHANGES_REQUESTED,
        ReviewState.REJECTED,
    }:
        raise InvalidInput(_("Only a draft, or one sent back for changes, can be submitted."))
    before = _full_snapshot(session, initiative)
    initiative.review_state = ReviewState.SUBMITTED
    initiative.submitted_at = utcnow()
    initiative.review_note = ""
    return _save(session, actor, initiative, "submit", before)


def withdraw_initiative(
    *,
    session: Session,
    actor: Principal | None,
    initiative_id: int,
    expected_version: int,
    reason: str = "",
) -> Initiative:
    initiative = get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    require_lead(session, actor, initiative, "withdraw")
    check_version(initiative, expected_version)
    before = _full_snapshot(session, initiative)
    initiative.review_state = ReviewState.WITHDRAWN
    initiative.pending_changes = None
    initiative.pending_submitted_at = None
    return _save(session, actor, initiative, "withdraw", before, summary=reason.strip()[:500])


def report_progress(
    *,
    session: Session,
    actor: Principal | None,
    initiative_id: int,
    expected_version: int,
    status: Any,
    people_reached: int | None,
    actual_start: date | None = None,
    actual_end: date | None = None,
) -> Initiative:
    """Operational facts the partner keeps current; applied at once and audited. Reporting
    also confirms the record is still current."""
    initiative = get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    require_lead(session, actor, initiative, "report progress")
    check_version(initiative, expected_version)
    draft = draft_of(session, initiative).model_copy(
        update={
            "status": status,
            "people_reached": people_reached,
            "actual_start": actual_start or initiative.actual_start,
            "actual_end": actual_end or initiative.actual_end,
        }
    )
    draft = validate_draft(session, draft)
    before = _full_snapshot(session, initiative)
    initiative.status = draft.status
    initiative.people_reached = draft.people_reached
    initiative.actual_start = draft.actual_start
    initiative.actual_end = draft.actual_end
    initiative.last_confirmed_at = utcnow()
    return _save(session, actor, initiative, "report_progress", before)


def confirm_initiative(
    *, session: Session, actor: Principal | None, initiative_id: int, expected_version: int
) -> Initiative:
    """The partner says: still current as it stands."""
    initiative = get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    require_lead(session, actor, initiative, "confirm")
    check_version(initiative, expected_version)
    before = _full_snapshot(session, initiative)
    initiative.last_confirmed_at = utcnow()
    return _save(session, actor, initiative, "confirm", before)


# --- review --------------------------------------------------------------------------


def changed_draft_fields(before: InitiativeDraft, after: InitiativeDraft) -> list[str]:
    old, new = draft_json(before), draft_json(after)
    return [field for field in new if old.get(field) != new.get(field)]


def review_diff(
    *, session: Session, actor: Principal | None, initiative_id: int
) -> list[tuple[str, Any, Any]]:
    """Field by field: (field, published value, proposed value), changed fields only."""
    require_staff(actor)
    initiative = get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    current = draft_json(draft_of(session, initiative))
    if initiative.pending_changes is None:
        return []
    proposed = initiative.pending_changes
    return [
        (f, current.get(f), proposed.get(f)) for f in proposed if current.get(f) != proposed.get(f)
    ]


def approve(
    *, session: Session, actor: Principal | None, initiative_id: int, expected_version: int
) -> Initiative:
    """Publish a submission, or apply a proposed edit of a published initiative."""
    require_staff(actor)
    initiative = get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    check_version(initiative, expected_version)
    before = _full_snapshot(session, initiative)
    now = utcnow()
    if initiative.pending_changes is not None:
        proposed = InitiativeDraft.model_validate(initiative.pending_changes)
        _apply(session, initiative, validate_draft(session, proposed), country_code())
        initiative.pending_changes = None
        initiative.pending_submitted_at = None
        action = "approve_edit"
    elif initiative.review_state is ReviewState.SUBMITTED:
        initiative.review_state = ReviewState.PUBLISHED
        initiative.published_at = now
        action = "publish"
    else:
        raise InvalidInput(_("There is nothing waiting for review on this initiative."))
    initiative.review_note = ""
    _notify(
        session,
        initiative,
        "review",
        _("'{title}' was approved and is published.").format(title=initiative.title),
    )
    return _save(session, actor, initiative, action, before)


def send_back(
    *,
    session: Session,
    actor: Principal | None,
    initiative_id: int,
    expected_version: int,
    reason: str,
    reject: bool = False,
) -> Initiative:
    """Ask for changes, or reject, with a reason the partner sees."""
    require_staff(actor)
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            _("Reason: tell the partner what to change or why it is rejected."), field="reason"
        )
    initiative = get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    check_version(initiative, expected_version)
    before = _full_snapshot(session, initiative)
    if initiative.pending_changes is not None:
        # The published version stays live; only the proposed edit is turned down.
        initiative.pending_changes = None
        initiative.pending_submitted_at = None
    elif initiative.review_state is ReviewState.SUBMITTED:
        initiative.review_state = ReviewState.REJECTED if reject else ReviewState.CHANGES_REQUESTED
    else:
        raise InvalidInput(_("There is nothing waiting for review on this initiative."))
    initiative.review_note = reason[:2000]
    _notify(
        session,
        initiative,
        "review",
        (
            _("'{title}' was rejected: {reason}")
            if reject
            else _("Changes requested on '{title}': {reason}")
        ).format(title=initiative.title, reason=reason),
    )
    return _save(
        session,
        actor,
        initiative,
        "reject" if reject else "request_changes",
        before,
        summary=reason[:500],
    )


def _notify(session: Session, initiative: Initiative, kind: str, message: str) -> None:
    session.add(
        Notification(
            organisation_id=initiative.lead_organisation_id,
            initiative_id=initiative.id,
            kind=kind,
            message=message,
        )
    )


def history(
    *, session: Session, actor: Principal | None, initiative_id: int
) -> list[InitiativeVersion]:
    get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    return list(
        session.exec(
            select(InitiativeVersion)
            .where(InitiativeVersion.initiative_id == initiative_id)
            .order_by(col(InitiativeVersion.number).desc())
        ).all()
    )


def notifications_for(
    *, session: Session, actor: Principal | None, unread_only: bool = False, limit: int = 50
) -> list[Notification]:
    if actor is None or actor.organisation_id is None:
        return []
    query = select(Notification).where(Notification.organisation_id == actor.organisation_id)
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    return list(
        session.exec(query.order_by(col(Notification.created_at).desc()).limit(limit)).all()
    )


def mark_notifications_read(*, session: Session, actor: Principal | None) -> int:
    notes = notifications_for(session=session, actor=actor, unread_only=True, limit=1000)
    now = utcnow()
    for note in notes:
        note.read_at = now
    session.commit()
    return len(notes)


def published_reach(session: Session) -> list[Any]:
    """Published initiatives as the connectivity gap score reads them."""
    from initiatives.queries import published_reach as reach

    return reach(session)
