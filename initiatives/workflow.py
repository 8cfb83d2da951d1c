"""The review workflow of an initiative, written once.

Every path that changes an initiative's review state calls these: the one-record
services (initiatives.service), the batch import (initiatives.bulk) and overlap merges
(initiatives.overlap). The rules:

- an edit by staff, or of a record that is not published yet, applies at once, and
  submits the record when asked and it is not published;
- a partner's edit of a published record waits in ``pending_changes`` for review, while
  the published version stays live;
- approving publishes a submission, or applies a proposed edit: only the fields the
  proposal changed relative to the record as it was when proposed, so whatever changed
  since (a progress report, a staff correction) is not rolled back;
- sending back turns down a proposed edit (the published version stays) or returns a
  submission for changes, or rejects it;
- withdrawing ends the record and drops any proposal.

``plan_edit`` is pure (the batch import decides per item with it, then writes in
batches); the other functions change the row in the session and leave the save
(``initiatives.records.save_initiative``) to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from hub.errors import InvalidInput
from hub.i18n import _
from initiatives.models import Initiative, InitiativeDraft, InitiativeVersion, ReviewState
from initiatives.records import changed_draft_fields, draft_json
from partners import webhooks

# States in which the lead partner edits the row itself (nothing public yet).
UNPUBLISHED_STATES = frozenset(
    {ReviewState.DRAFT, ReviewState.CHANGES_REQUESTED, ReviewState.REJECTED, ReviewState.SUBMITTED}
)
SUBMITTABLE_STATES = frozenset(
    {ReviewState.DRAFT, ReviewState.CHANGES_REQUESTED, ReviewState.REJECTED}
)
# The operational facts a partner reports at once (``report_progress``), not reviewed.
PROGRESS_FIELDS = ("status", "people_reached", "actual_start", "actual_end")
PROPOSE_ACTION = "propose_edit"
# The webhook event of each review step, by the action saved (issue 17).
EVENTS = {
    "submit": "initiative.submitted",
    "publish": "initiative.published",
    "approve_edit": "initiative.published",
    "request_changes": "initiative.changes_requested",
    "reject": "initiative.rejected",
}


@dataclass(frozen=True)
class EditPlan:
    """What an edit does: its action, and whether it waits for review or submits."""

    action: str  # update, submit or propose_edit
    proposes: bool = False  # the content waits in pending_changes; the row stays
    submits: bool = False  # the record becomes submitted

    @property
    def applies(self) -> bool:
        return not self.proposes


def plan_edit(state: ReviewState, *, by_staff: bool, submit: bool) -> EditPlan:
    """The rule of an edit, from the record's state and who edits (pure)."""
    if state is ReviewState.WITHDRAWN:
        raise InvalidInput(_("This initiative was withdrawn; it can no longer be edited."))
    if state is ReviewState.PUBLISHED and not by_staff:
        return EditPlan(PROPOSE_ACTION, proposes=True)
    return EditPlan(
        "submit" if submit else "update", submits=submit and state in UNPUBLISHED_STATES
    )


def mark_edit(
    initiative: Initiative,
    plan: EditPlan,
    draft: InitiativeDraft,
    *,
    current: InitiativeDraft,
    now: datetime,
) -> str:
    """The review side of an edit on the row; the caller writes the content when
    ``plan.applies``. Returns the audit summary (the fields a proposal changes)."""
    initiative.last_confirmed_at = now
    if plan.proposes:
        initiative.pending_changes = draft_json(draft)
        initiative.pending_submitted_at = now
        return ", ".join(changed_draft_fields(current, draft))
    if plan.submits:
        mark_submitted(initiative, now)
    return ""


def mark_submitted(initiative: Initiative, now: datetime) -> None:
    initiative.review_state = ReviewState.SUBMITTED
    initiative.submitted_at = now
    initiative.review_note = ""


def submit(initiative: Initiative, *, now: datetime) -> None:
    if initiative.review_state not in SUBMITTABLE_STATES:
        raise InvalidInput(_("Only a draft, or one sent back for changes, can be submitted."))
    mark_submitted(initiative, now)


def drop_proposal(initiative: Initiative) -> None:
    initiative.pending_changes = None
    initiative.pending_submitted_at = None


def withdraw(initiative: Initiative, *, note: str = "") -> None:
    """End the record (a partner's withdrawal, or the losing record of a merge)."""
    initiative.review_state = ReviewState.WITHDRAWN
    drop_proposal(initiative)
    if note:
        initiative.review_note = note


def report_progress(initiative: Initiative, progress: InitiativeDraft, *, now: datetime) -> None:
    """Apply the reported facts at once; a waiting proposal carries them too, so neither
    its approval nor the form showing it brings the old figures back."""
    for field in PROGRESS_FIELDS:
        setattr(initiative, field, getattr(progress, field))
    initiative.last_confirmed_at = now
    if initiative.pending_changes is not None:
        reported = draft_json(progress)
        initiative.pending_changes = {
            **initiative.pending_changes,
            **{field: reported[field] for field in PROGRESS_FIELDS},
        }


def proposal_base(*, session: Session, initiative: Initiative) -> dict[str, Any] | None:
    """The record's content when the waiting edit was proposed (its history entry)."""
    row = session.exec(
        select(InitiativeVersion)
        .where(
            InitiativeVersion.initiative_id == initiative.id,
            InitiativeVersion.action == PROPOSE_ACTION,
        )
        .order_by(col(InitiativeVersion.number).desc())
        .limit(1)
    ).first()
    return dict(row.snapshot) if row is not None else None


def approved_draft(
    current: InitiativeDraft, proposed: dict[str, Any], base: dict[str, Any] | None
) -> InitiativeDraft:
    """The content approval gives: the current record with the fields the proposal
    changed relative to ``base`` (all of them when the base is unknown). Pure."""
    now = draft_json(current)
    changed = {
        field: value
        for field, value in proposed.items()
        if field in now and (base is None or base.get(field) != value)
    }
    return InitiativeDraft.model_validate({**now, **changed})


def approve(
    *, session: Session, initiative: Initiative, current: InitiativeDraft, now: datetime
) -> tuple[str, InitiativeDraft | None]:
    """Publish a submission, or accept a proposed edit. Returns the action and, for an
    edit, the content to write (the caller validates and writes it)."""
    content: InitiativeDraft | None = None
    if initiative.pending_changes is not None:
        content = approved_draft(
            current,
            initiative.pending_changes,
            proposal_base(session=session, initiative=initiative),
        )
        drop_proposal(initiative)
        action = "approve_edit"
    elif initiative.review_state is ReviewState.SUBMITTED:
        initiative.review_state = ReviewState.PUBLISHED
        initiative.published_at = now
        action = "publish"
    else:
        raise InvalidInput(_("There is nothing waiting for review on this initiative."))
    initiative.review_note = ""
    return action, content


def send_back(initiative: Initiative, *, reason: str, reject: bool) -> str:
    """Turn down a proposed edit (the published version stays live) or return a
    submission for changes (or reject it). Returns the action."""
    if initiative.pending_changes is not None:
        drop_proposal(initiative)
    elif initiative.review_state is ReviewState.SUBMITTED:
        initiative.review_state = ReviewState.REJECTED if reject else ReviewState.CHANGES_REQUESTED
    else:
        raise InvalidInput(_("There is nothing waiting for review on this initiative."))
    initiative.review_note = reason[:2000]
    return "reject" if reject else "request_changes"


def review_message(action: str, *, title: str, reason: str = "") -> str:
    """What the lead organisation is told of a review step (its notification)."""
    if action in {"publish", "approve_edit"}:
        return _("'{title}' was approved and is published.").format(title=title)
    if action == "reject":
        return _("'{title}' was rejected: {reason}").format(title=title, reason=reason)
    return _("Changes requested on '{title}': {reason}").format(title=title, reason=reason)


def announce(*, session: Session, initiative: Initiative, action: str) -> None:
    """Queue the webhook event of a review step in the step's own transaction (the
    caller's save commits both, or neither)."""
    event = EVENTS.get(action)
    if event is None:
        return
    webhooks.emit(
        session=session,
        event_type=event,
        organisation_ids=[initiative.lead_organisation_id],
        data={
            "code": initiative.code,
            "title": initiative.title,
            "organisation_id": initiative.lead_organisation_id,
            "review_state": initiative.review_state.value,
            "review_note": initiative.review_note,
        },
    )
