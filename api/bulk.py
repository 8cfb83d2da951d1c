"""POST /initiatives/bulk: upsert up to 1,000 initiatives keyed on their identifier.

The same steps as the file import (``initiatives.exchange.importing``), for JSON rows:
the reference lists are read once, every row is validated with
``initiatives.validation.validate_draft`` and every problem of a row is reported (a
field that fails is set aside and the row validated again, so one call lists them all),
then ``initiatives.bulk.write_many`` writes, versions and audits every row in one
transaction, following the review rule (an edit of a published record waits for
review). All rows or none, unless ``partial=true``; ``dry_run=true`` reports without
writing. With an ``Idempotency-Key`` the first answer is kept and a retry gets it back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.deps import SessionDep, WriterDep
from api.initiatives import overlap_hints
from api.problems import PROBLEM_RESPONSES
from api.schemas import BulkInput, BulkReport, BulkRow, FieldProblem, InitiativeInput, jsonable
from hub.audit import record_change
from hub.auth import Principal
from hub.errors import InvalidInput
from hub.i18n import _
from initiatives import workflow
from initiatives.bulk import BulkItem, as_stored, drafts_of, initiatives_by_code, write_many
from initiatives.models import Initiative, InitiativeDraft, ReviewState, VocabularyKind
from initiatives.records import draft_json
from initiatives.validation import known_area_codes, validate_draft
from initiatives.vocabulary import vocabulary
from partners.api_keys import KeyPrincipal, remember_response, remembered_response
from partners.models import Organisation

router = APIRouter(prefix="/initiatives", tags=["initiatives"], responses=PROBLEM_RESPONSES)
MAX_PROBLEMS_PER_ROW = 20
# Overlap hints are looked up for at most this many written rows per call (each is a
# query of the overlap index, ~0.1 s at 100k initiatives); for the others ask
# GET /initiatives/{code}/similar.
MAX_HINTED_ROWS = 10


@dataclass
class _Reference:
    organisation_ids: set[int]
    categories: set[str]
    target_groups: set[str]
    area_codes: set[str]

    @classmethod
    def load(cls, session: Session) -> _Reference:
        return cls(
            organisation_ids={
                i
                for i in session.exec(
                    select(Organisation.id).where(col(Organisation.active).is_(True))
                ).all()
                if i is not None
            },
            categories={t.code for t in vocabulary(session=session, kind=VocabularyKind.CATEGORY)},
            target_groups={
                t.code for t in vocabulary(session=session, kind=VocabularyKind.TARGET_GROUP)
            },
            area_codes=known_area_codes(session=session),
        )

    def neutral(self, lead: int | None) -> dict[str, Any]:
        """Values every rule accepts, put in place of a field that failed, so the row is
        validated again for its other problems."""
        return {
            "title": "-",
            "description": "",
            "lead_organisation_id": lead
            if lead in self.organisation_ids
            else next(iter(self.organisation_ids), None),
            "participants": [],
            "category": next(iter(sorted(self.categories)), ""),
            "target_groups": [],
            "areas": [],
            "planned_end": None,
            "actual_end": None,
            "people_targeted": None,
            "people_reached": None,
            "link": "",
            "contact_email": "",
            "code": None,
        }


def validate_row(
    *, session: Session, draft: InitiativeDraft, ref: _Reference
) -> tuple[InitiativeDraft | None, list[FieldProblem]]:
    """The validated draft, or None and every problem of the row."""
    problems: list[FieldProblem] = []
    neutral = ref.neutral(draft.lead_organisation_id)
    attempt = draft
    for _round in range(MAX_PROBLEMS_PER_ROW):
        try:
            valid = validate_draft(
                session=session,
                draft=attempt,
                area_codes=ref.area_codes,
                categories=ref.categories,
                target_groups=ref.target_groups,
                organisation_ids=ref.organisation_ids,
            )
        except InvalidInput as err:
            field = err.field or ""
            problems.append(FieldProblem(field=field, message=str(err)))
            if field not in neutral:
                break
            attempt = attempt.model_copy(update={field: neutral[field]})
            continue
        return (None, problems) if problems else (valid, [])
    return None, problems


def request_hash(body: BulkInput, *, dry_run: bool, partial: bool) -> str:
    canonical = json.dumps(
        {"body": jsonable(body), "dry_run": dry_run, "partial": partial}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _problem(field: str, message: str) -> FieldProblem:
    return FieldProblem(field=field, message=message)


def bulk_upsert(
    *,
    session: Session,
    actor: Principal,
    items: list[InitiativeInput],
    submit: bool,
    dry_run: bool,
    partial: bool,
) -> BulkReport:
    ref = _Reference.load(session)
    codes = [(item.code or "").strip() for item in items]
    existing = initiatives_by_code(session=session, codes=[c for c in codes if c])
    current = drafts_of(session=session, initiatives=list(existing.values()))
    rows: list[BulkRow] = []
    writes: list[tuple[int, BulkItem]] = []
    denied: list[tuple[int, str, int | None]] = []
    seen: dict[str, int] = {}
    for index, (item, code) in enumerate(zip(items, codes, strict=True)):
        row = BulkRow(index=index, code=code, result="refused")
        rows.append(row)
        if not code:
            row.problems.append(_problem("code", _("code: every row needs your identifier.")))
            continue
        if code in seen:
            row.problems.append(
                _problem(
                    "code",
                    _("code: '{code}' is already used on row {row} of this call.").format(
                        code=code, row=seen[code]
                    ),
                )
            )
            continue
        seen[code] = index
        record = existing.get(code)
        lead = item.lead_organisation_id
        if lead is None:
            lead = record.lead_organisation_id if record is not None else actor.organisation_id
        mine = actor.is_staff or (
            (record is None or record.lead_organisation_id == actor.organisation_id)
            and lead == actor.organisation_id
        )
        if not mine:
            row.problems.append(
                _problem("code", _("You may only change your own organisation's initiatives."))
            )
            denied.append((index, code, record.id if record is not None else None))
            continue
        if record is not None and record.review_state is ReviewState.WITHDRAWN:
            row.problems.append(
                _problem(
                    "code",
                    _("'{code}' was withdrawn; it can no longer be edited.").format(code=code),
                )
            )
            continue
        draft = InitiativeDraft.model_validate(
            {**item.model_dump(), "code": code, "lead_organisation_id": lead}
        )
        valid, problems = validate_row(session=session, draft=draft, ref=ref)
        if valid is None:
            row.problems.extend(problems)
            continue
        before = current.get(record.id or 0) if record is not None else None
        if before is not None and draft_json(as_stored(before)) == draft_json(as_stored(valid)):
            row.result = "unchanged"
            continue
        row.result = "updated" if record is not None else "created"
        writes.append((index, BulkItem(draft=valid, existing=record, current=before)))

    refused = any(r.result == "refused" for r in rows)
    if denied:
        session.rollback()
        for index, code, record_id in denied:
            record_change(
                session=session,
                actor=actor,
                action="denied",
                entity_type="initiative",
                entity_id=record_id if record_id is not None else code,
                summary=f"refused: API bulk row {index} ({code})",
            )
        session.commit()
    written = False
    will_write = not dry_run and bool(writes) and (partial or not refused)
    if will_write:
        # Against the registry as it stands (the overlap index catches up with this
        # call's own rows later, on its next read, not inside this request).
        for index, hinted in writes[:MAX_HINTED_ROWS]:
            rows[index].overlap_hints = overlap_hints(
                session=session,
                actor=actor,
                draft=hinted.draft,
                initiative_id=hinted.existing.id if hinted.existing else None,
            )
        results = write_many(
            session=session, actor=actor, items=[w for _i, w in writes], submit=submit
        )
        for result in results:  # the webhook event of each submission, in this transaction
            if result.action == "submit":
                submitted = session.get(Initiative, result.initiative_id)
                if submitted is not None:
                    workflow.announce(session=session, initiative=submitted, action="submit")
        written = True
    elif writes and not dry_run:
        for index, _item in writes:
            rows[index].result = "not_written"
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.result] = counts.get(row.result, 0) + 1
    return BulkReport(dry_run=dry_run, written=written, rows=rows, counts=counts)


@router.post(
    "/bulk",
    summary="Create or update up to 1,000 initiatives by their identifier",
    response_model=BulkReport,
    responses={200: {"model": BulkReport, "description": "The per-row report"}},
)
def bulk(
    request: Request,
    session: SessionDep,
    key: WriterDep,
    body: BulkInput,
    dry_run: bool = False,
    partial: Annotated[
        bool, Query(description="Write the valid rows even when others are refused.")
    ] = False,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Rows are matched on ``code``. The answer lists every row: created, updated,
    unchanged, refused (with every problem) or, when others were refused and
    ``partial`` is false, not_written. Nothing is written on a dry run."""
    digest = request_hash(body, dry_run=dry_run, partial=partial)
    if idempotency_key and not dry_run:
        hit = remembered_response(
            session=session,
            key_id=key.key_id,
            idempotency_key=idempotency_key,
            request_hash=digest,
        )
        if hit is not None:
            return _json(hit[1], hit[0], replayed=True)
    report = bulk_upsert(
        session=session,
        actor=key.principal,
        items=list(body.items),
        submit=body.submit,
        dry_run=dry_run,
        partial=partial,
    )
    payload = jsonable(report)
    status = 200
    if idempotency_key and not dry_run:
        remember_response(
            session=session,
            key_id=key.key_id,
            idempotency_key=idempotency_key,
            request_hash=digest,
            status_code=status,
            response=payload,
        )
    try:
        session.commit()
    except IntegrityError:  # the same key, sent twice at once: the first one's answer
        session.rollback()
        hit = remembered_response(
            session=session,
            key_id=key.key_id,
            idempotency_key=idempotency_key or "",
            request_hash=digest,
        )
        if hit is None:
            raise
        return _json(hit[1], hit[0], replayed=True)
    return _json(payload, status)


def _json(payload: dict[str, Any], status: int, *, replayed: bool = False) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


__all__ = ["KeyPrincipal", "bulk_upsert", "router"]
