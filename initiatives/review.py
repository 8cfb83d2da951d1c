"""Reviewing many submissions in one action (issue 21): approve, send back or reject.

Each record is still decided by the one review rule (``initiatives.workflow.approve``
and ``send_back``), checked against the version the reviewer saw, versioned, notified,
announced and audited as one, exactly as ``initiatives.service`` does for a single
record. What changes is the cost: a batch of records is loaded with one query per
table (``bulk.drafts_of``), and committed every ``CHUNK`` records, so 1,000 approvals
take seconds rather than minutes, and a crash loses none of the batches committed.

Each record runs in a SAVEPOINT: a record refused (stale version, nothing waiting,
invalid content) rolls back alone, leaving nothing half-written, and is reported with
its reason; the others go on. (On SQLite the driver opens no transaction before the
first write, so each record's SAVEPOINT is a transaction of its own, committed when
released: a crash there loses nothing decided at all; it measured 2.8 ms a record.)
Staff only: a partner is refused before anything is read.
The overlap index needs nothing here: it catches up from the database when read.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import func, or_
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from hub.audit import record_change
from hub.auth import Principal, require_staff
from hub.clean import strip_controls
from hub.errors import HubError, InvalidInput
from hub.i18n import _
from hub.records import check_version, stale_error, stamp, utcnow
from hub.tabular import safe_cell
from initiatives import workflow
from initiatives.bulk import chunks, drafts_of
from initiatives.models import (
    Initiative,
    InitiativeDraft,
    InitiativeVersion,
    Notification,
    ReviewState,
)
from initiatives.records import apply_draft, audit_snapshot, version_row
from initiatives.validation import validate_draft
from partners.models import Organisation

# Records per transaction: a crash loses at most this many decisions, none half-written.
CHUNK = 200
# An import writes all its new rows with one timestamp (initiatives.bulk.write_many), so
# the creation time names the import: this is its id, as the page and the CLI show it.
IMPORT_ID_FORMAT = "%Y%m%dT%H%M%S.%f"


class Decision(enum.StrEnum):
    APPROVE = "approve"
    SEND_BACK = "send-back"
    REJECT = "reject"


@dataclass(frozen=True)
class Candidate:
    """A record waiting for review, with what a bulk selection filters on."""

    initiative_id: int
    code: str
    title: str
    organisation_id: int
    organisation: str
    category: str
    kind: str  # new or edit
    version: int
    import_id: str


@dataclass(frozen=True)
class Refusal:
    initiative_id: int
    code: str
    reason: str


@dataclass
class BulkReviewResult:
    decision: Decision
    done: list[str] = field(default_factory=list)  # codes decided
    refused: list[Refusal] = field(default_factory=list)

    def summary(self) -> str:
        return _("{done} done, {refused} refused.").format(
            done=len(self.done), refused=len(self.refused)
        )

    def refusals_csv(self) -> bytes:
        """The refusals for a spreadsheet (UTF-8 with a BOM, cells guarded, as every CSV
        the hub writes)."""
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([_("Id"), _("Reason")])
        for refusal in self.refused:
            writer.writerow([safe_cell(refusal.code), safe_cell(refusal.reason)])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def import_id(created_at: datetime) -> str:
    return created_at.strftime(IMPORT_ID_FORMAT)


def waiting(
    *,
    session: Session,
    actor: Principal | None,
    organisation_id: int | None = None,
    import_id_: str | None = None,
    category: str | None = None,
) -> list[Candidate]:
    """Records waiting for review (new submissions and proposed edits), oldest first,
    filtered by lead organisation, import and category. One query, columns only."""
    require_staff(actor)
    query = (
        sa.select(  # nine columns: more than sqlmodel's select is typed for
            col(Initiative.id),
            col(Initiative.code),
            col(Initiative.title),
            col(Initiative.lead_organisation_id),
            col(Organisation.name),
            col(Initiative.category),
            col(Initiative.pending_changes).is_not(None),
            col(Initiative.version),
            col(Initiative.created_at),
        )
        .join(Organisation, col(Organisation.id) == Initiative.lead_organisation_id)
        .where(
            or_(
                col(Initiative.review_state) == ReviewState.SUBMITTED,
                col(Initiative.pending_changes).is_not(None),
            ),
            col(Initiative.review_state) != ReviewState.WITHDRAWN,
        )
        .order_by(
            func.coalesce(Initiative.pending_submitted_at, Initiative.submitted_at).asc(),
            col(Initiative.id),
        )
    )
    if organisation_id is not None:
        query = query.where(col(Initiative.lead_organisation_id) == organisation_id)
    if category:
        query = query.where(col(Initiative.category) == category)
    found = [
        Candidate(
            initiative_id=i or 0,
            code=code,
            title=title,
            organisation_id=org_id,
            organisation=name,
            category=cat,
            kind="edit" if is_edit else "new",
            version=version,
            import_id=import_id(created),
        )
        for i, code, title, org_id, name, cat, is_edit, version, created in session.execute(query)
    ]
    if import_id_:
        found = [c for c in found if c.import_id == import_id_]
    return found


def review_many(
    *,
    session: Session,
    actor: Principal | None,
    ids: Sequence[int],
    decision: Decision,
    message: str | None = None,
    versions: Mapping[int, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BulkReviewResult:
    """Approve, send back (``message`` required) or reject (likewise) every record of
    ``ids``, each checked against ``versions`` (the version the reviewer saw, when
    given) and audited as one. ``progress(done, total)`` after each record."""
    require_staff(actor)
    assert actor is not None
    reason = strip_controls(message or "", multiline=True).strip()
    if decision is not Decision.APPROVE and not reason:
        raise InvalidInput(
            _("Reason: tell the partner what to change or why it is rejected."), field="reason"
        )
    result = BulkReviewResult(decision=decision)
    total, handled = len(ids), 0
    for part in chunks(list(dict.fromkeys(ids)), CHUNK):
        rows = session.exec(
            select(Initiative)
            .where(col(Initiative.id).in_(part))
            .execution_options(populate_existing=True)
        ).all()
        by_id = {row.id: row for row in rows}
        drafts = drafts_of(session=session, initiatives=rows)
        numbers = dict(
            session.exec(
                select(InitiativeVersion.initiative_id, func.max(InitiativeVersion.number))
                .where(col(InitiativeVersion.initiative_id).in_(part))
                .group_by(col(InitiativeVersion.initiative_id))
            ).all()
        )
        for initiative_id in part:
            initiative = by_id.get(initiative_id)
            if initiative is None:
                result.refused.append(
                    Refusal(initiative_id, str(initiative_id), _("That initiative does not exist."))
                )
            else:
                refusal = _decide(
                    session,
                    actor,
                    initiative,
                    drafts[initiative_id],
                    decision=decision,
                    reason=reason,
                    expected=(versions or {}).get(initiative_id),
                    number=int(numbers.get(initiative_id) or 0) + 1,
                )
                if refusal is None:
                    result.done.append(initiative.code)
                else:
                    result.refused.append(Refusal(initiative_id, initiative.code, refusal))
            handled += 1
            if progress is not None:
                progress(handled, total)
        session.commit()
    return result


def _decide(
    session: Session,
    actor: Principal,
    initiative: Initiative,
    current: InitiativeDraft,
    *,
    decision: Decision,
    reason: str,
    expected: int | None,
    number: int,
) -> str | None:
    """One record's review in its own SAVEPOINT; returns why it was refused, or None.

    The steps of ``service.approve`` / ``service.send_back`` and of the save sequence
    (``hub.records.save_record``: stamp, flush under the version check, version row,
    audit), with the record's content known from the batch load rather than re-read."""
    code = initiative.code
    try:
        check_version(initiative, expected)
        with session.begin_nested():
            before = audit_snapshot(initiative, current)
            content = current
            if decision is Decision.APPROVE:
                action, proposed = workflow.approve(
                    session=session, initiative=initiative, current=current, now=utcnow()
                )
                if proposed is not None:
                    content = validate_draft(session=session, draft=proposed)
                    apply_draft(session=session, initiative=initiative, draft=content)
            else:
                action = workflow.send_back(
                    initiative, reason=reason, reject=decision is Decision.REJECT
                )
            session.add(
                Notification(
                    organisation_id=initiative.lead_organisation_id,
                    initiative_id=initiative.id,
                    kind="review",
                    message=workflow.review_message(action, title=initiative.title, reason=reason),
                )
            )
            workflow.announce(session=session, initiative=initiative, action=action)
            stamp(initiative, actor)
            session.flush()  # the UPDATE checks the version (optimistic lock)
            session.add(version_row(initiative, content, number=number, action=action, actor=actor))
            record_change(
                session=session,
                actor=actor,
                action=action,
                entity_type="initiative",
                entity_id=initiative.id,
                before=before,
                after=audit_snapshot(initiative, content),
                summary=reason[:500],
            )
            session.flush()
    except StaleDataError:  # changed by someone else between the load and this save
        session.expire(initiative)
        fresh = session.get(Initiative, initiative.id, populate_existing=True)
        return str(stale_error(fresh))
    except HubError as err:
        if session.is_modified(initiative):
            session.expire(initiative)
        return str(err) or code
    return None
