"""Registry services: create, edit, submit, review, publish, withdraw, report progress.

Permission rules (tested in tests/unit/test_initiative_permissions.py):
- staff may do everything, on any organisation's initiative;
- a partner user sees initiatives their organisation leads or takes part in, and
  changes only those their organisation leads; any other attempt, by any path, is
  refused with PermissionDenied and leaves an audit entry;
- the public sees published initiatives only, in the ``InitiativePublic`` shape.

The functions here are thin: permission checks, then the review rule from
``initiatives.workflow``, the field rules from ``initiatives.validation`` and the save
from ``initiatives.records``. The overlap index needs no call after a save: it catches
up from the database's watermark whenever it is read (initiatives.overlap).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from hub.audit import record_change
from hub.auth import Principal, require_staff
from hub.clean import strip_controls
from hub.errors import InvalidInput, NotFound, PermissionDenied
from hub.i18n import _
from hub.records import check_version, stale_guard, utcnow
from initiatives import workflow
from initiatives.models import (
    Initiative,
    InitiativeDraft,
    InitiativeParticipant,
    InitiativeVersion,
    Notification,
    ReviewState,
)
from initiatives.records import (
    apply_draft,
    code_taken,
    code_taken_error,
    draft_json,
    draft_of,
    full_snapshot,
    next_code,
    save_initiative,
)
from initiatives.validation import validate_draft

# A generated code another save took in the same instant: try the next free one.
CODE_ATTEMPTS = 5


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
    *, session: Session, actor: Principal | None, initiative: Initiative, action: str
) -> Principal:
    if actor is None:
        raise PermissionDenied(_("Please sign in first."))
    if actor.is_staff or actor.organisation_id == initiative.lead_organisation_id:
        return actor
    raise _deny(session, actor, initiative.id, action)


def can_see(*, session: Session, actor: Principal | None, initiative: Initiative) -> bool:
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
    if not can_see(session=session, actor=actor, initiative=initiative):
        raise _deny(session, actor, initiative_id, "view")
    return initiative


# --- writing -------------------------------------------------------------------------


def create_initiative(
    *, session: Session, actor: Principal | None, draft: InitiativeDraft, submit: bool = False
) -> Initiative:
    """A partner (for their own organisation) or staff create a draft, or submit at once."""
    if actor is None:
        raise PermissionDenied(_("Please sign in first."))
    if not actor.is_staff and draft.lead_organisation_id != actor.organisation_id:
        raise _deny(session, actor, None, "create for another organisation")
    draft = validate_draft(session=session, draft=draft)
    if draft.code and code_taken(session=session, code=draft.code):
        raise code_taken_error(draft.code)
    for attempt in range(CODE_ATTEMPTS):
        now = utcnow()
        initiative = Initiative(
            code=draft.code or next_code(session=session),
            title=draft.title,
            lead_organisation_id=draft.lead_organisation_id or 0,
            category=draft.category,
            review_state=ReviewState.SUBMITTED if submit else ReviewState.DRAFT,
            submitted_at=now if submit else None,
            last_confirmed_at=now,
            updated_by=actor.label,
        )
        try:
            apply_draft(session=session, initiative=initiative, draft=draft)
            action = "submit" if submit else "create"
            workflow.announce(session=session, initiative=initiative, action=action)
            return save_initiative(
                session=session,
                actor=actor,
                initiative=initiative,
                action=action,
                before=None,
            )
        except InvalidInput as err:  # insert_row: the code was taken meanwhile
            if draft.code or err.field != "code" or attempt == CODE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


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
    published version stays live; staff edits apply at once (initiatives.workflow)."""
    initiative = get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    actor = require_lead(session=session, actor=actor, initiative=initiative, action="update")
    check_version(initiative, expected_version)
    plan = workflow.plan_edit(initiative.review_state, by_staff=actor.is_staff, submit=submit)
    if not actor.is_staff and draft.lead_organisation_id != initiative.lead_organisation_id:
        raise _deny(session, actor, initiative_id, "move to another organisation")
    draft = validate_draft(
        session=session, draft=draft.model_copy(update={"code": initiative.code})
    )
    current = draft_of(session=session, initiative=initiative)
    before = full_snapshot(session=session, initiative=initiative)
    # The side-table rewrite flushes the row before the save does: guard it all, so a
    # lost race is "changed by X at T; reload" and nothing of this save is written.
    with stale_guard(session=session, record=initiative):
        summary = workflow.mark_edit(initiative, plan, draft, current=current, now=utcnow())
        if plan.applies:
            apply_draft(session=session, initiative=initiative, draft=draft)
        if plan.submits:
            workflow.announce(session=session, initiative=initiative, action="submit")
        return save_initiative(
            session=session,
            actor=actor,
            initiative=initiative,
            action=plan.action,
            before=before,
            summary=summary,
        )


def _changing(
    session: Session, actor: Principal | None, initiative_id: int, expected_version: int, what: str
) -> tuple[Initiative, dict[str, Any]]:
    """The record a lead partner (or staff) changes, checked, with its audit "before"."""
    initiative = get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    require_lead(session=session, actor=actor, initiative=initiative, action=what)
    check_version(initiative, expected_version)
    return initiative, full_snapshot(session=session, initiative=initiative)


def submit_initiative(
    *, session: Session, actor: Principal | None, initiative_id: int, expected_version: int
) -> Initiative:
    initiative, before = _changing(session, actor, initiative_id, expected_version, "submit")
    workflow.submit(initiative, now=utcnow())
    workflow.announce(session=session, initiative=initiative, action="submit")
    return save_initiative(
        session=session, actor=actor, initiative=initiative, action="submit", before=before
    )


def withdraw_initiative(
    *,
    session: Session,
    actor: Principal | None,
    initiative_id: int,
    expected_version: int,
    reason: str = "",
) -> Initiative:
    initiative, before = _changing(session, actor, initiative_id, expected_version, "withdraw")
    workflow.withdraw(initiative)
    return save_initiative(
        session=session,
        actor=actor,
        initiative=initiative,
        action="withdraw",
        before=before,
        summary=reason.strip()[:500],
    )


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
    initiative, before = _changing(
        session, actor, initiative_id, expected_version, "report progress"
    )
    draft = draft_of(session=session, initiative=initiative).model_copy(
        update={
            "status": status,
            "people_reached": people_reached,
            "actual_start": actual_start or initiative.actual_start,
            "actual_end": actual_end or initiative.actual_end,
        }
    )
    workflow.report_progress(initiative, validate_draft(session=session, draft=draft), now=utcnow())
    return save_initiative(
        session=session, actor=actor, initiative=initiative, action="report_progress", before=before
    )


def confirm_initiative(
    *, session: Session, actor: Principal | None, initiative_id: int, expected_version: int
) -> Initiative:
    """The partner says: still current as it stands."""
    initiative, before = _changing(session, actor, initiative_id, expected_version, "confirm")
    initiative.last_confirmed_at = utcnow()
    return save_initiative(
        session=session, actor=actor, initiative=initiative, action="confirm", before=before
    )


# --- review --------------------------------------------------------------------------


def review_diff(
    *, session: Session, actor: Principal | None, initiative_id: int
) -> list[tuple[str, Any, Any]]:
    """Field by field: (field, published value, value after approval), changed fields
    only (a field changed since the proposal, e.g. by a progress report, stays)."""
    require_staff(actor)
    initiative = get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    if initiative.pending_changes is None:
        return []
    draft = draft_of(session=session, initiative=initiative)
    current = draft_json(draft)
    proposed = draft_json(
        workflow.approved_draft(
            draft,
            initiative.pending_changes,
            workflow.proposal_base(session=session, initiative=initiative),
        )
    )
    return [
        (f, current.get(f), proposed.get(f)) for f in proposed if current.get(f) != proposed.get(f)
    ]


def _reviewing(
    session: Session, actor: Principal | None, initiative_id: int, expected_version: int
) -> tuple[Initiative, dict[str, Any]]:
    require_staff(actor)
    initiative = get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    check_version(initiative, expected_version)
    return initiative, full_snapshot(session=session, initiative=initiative)


def approve(
    *, session: Session, actor: Principal | None, initiative_id: int, expected_version: int
) -> Initiative:
    """Publish a submission, or apply a proposed edit of a published initiative."""
    initiative, before = _reviewing(session, actor, initiative_id, expected_version)
    with stale_guard(session=session, record=initiative):
        action, content = workflow.approve(
            session=session,
            initiative=initiative,
            current=draft_of(session=session, initiative=initiative),
            now=utcnow(),
        )
        if content is not None:
            apply_draft(
                session=session,
                initiative=initiative,
                draft=validate_draft(session=session, draft=content),
            )
        _notify(
            session, initiative, "review", workflow.review_message(action, title=initiative.title)
        )
        workflow.announce(session=session, initiative=initiative, action=action)
        return save_initiative(
            session=session, actor=actor, initiative=initiative, action=action, before=before
        )


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
    reason = strip_controls(reason, multiline=True).strip()
    if not reason:
        raise InvalidInput(
            _("Reason: tell the partner what to change or why it is rejected."), field="reason"
        )
    initiative, before = _reviewing(session, actor, initiative_id, expected_version)
    action = workflow.send_back(initiative, reason=reason, reject=reject)
    _notify(
        session,
        initiative,
        "review",
        workflow.review_message(action, title=initiative.title, reason=reason),
    )
    workflow.announce(session=session, initiative=initiative, action=action)
    return save_initiative(
        session=session,
        actor=actor,
        initiative=initiative,
        action=action,
        before=before,
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
