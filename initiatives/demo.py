"""Illustrative demo initiatives (data/demo/initiatives.json), loaded with the demo data.

They pass through the same validation and writing path as a partner's form, so the
demo also shows the review queue (some are submitted) and overlaps (three operators
offering the same data packages to health workers)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlmodel import Session, select

from hub.records import utcnow
from hub.settings import PROJECT_ROOT
from initiatives.models import (
    Initiative,
    InitiativeDraft,
    Participant,
    ParticipantRole,
    ReviewState,
)
from initiatives.records import apply_draft, save_initiative
from initiatives.validation import validate_draft
from partners.models import Organisation

DEMO_FILE = PROJECT_ROOT / "data" / "demo" / "initiatives.json"


def _organisation_ids(session: Session) -> dict[str, int]:
    ids: dict[str, int] = {}
    for organisation in session.exec(select(Organisation)).all():
        assert organisation.id is not None
        ids[organisation.name.lower()] = organisation.id
        if organisation.acronym:
            ids[organisation.acronym.lower()] = organisation.id
    return ids


def _draft(row: dict[str, Any], organisations: dict[str, int]) -> InitiativeDraft:
    participants = []
    for entry in row.get("participants", []):
        name, _sep, role = entry.partition(":")
        participants.append(
            Participant(
                organisation_id=organisations[name.lower()],
                role=ParticipantRole(role or "implementing"),
            )
        )
    return InitiativeDraft(
        code=row["code"],
        title=row["title"],
        description=row.get("description", ""),
        lead_organisation_id=organisations[row["organisation"].lower()],
        participants=participants,
        category=row["category"],
        target_groups=row.get("target_groups", []),
        areas=row.get("areas", []),
        channels=row.get("channels", []),
        planned_start=date.fromisoformat(row["planned_start"])
        if row.get("planned_start")
        else None,
        planned_end=date.fromisoformat(row["planned_end"]) if row.get("planned_end") else None,
        status=row.get("status", "planned"),
        people_targeted=row.get("people_targeted"),
        people_reached=row.get("people_reached"),
        cost=row.get("cost"),
        link=row.get("link", ""),
    )


def load_demo_initiatives(*, session: Session) -> int:
    """Add the demo initiatives that are not there yet (by code); returns how many."""
    organisations = _organisation_ids(session)
    existing = set(session.exec(select(Initiative.code)).all())
    added = 0
    for row in json.loads(DEMO_FILE.read_text(encoding="utf-8")):
        if row["code"] in existing:
            continue
        draft = validate_draft(session=session, draft=_draft(row, organisations))
        state = ReviewState(row["state"])
        now = utcnow()
        initiative = Initiative(
            code=row["code"],
            title=draft.title,
            lead_organisation_id=draft.lead_organisation_id or 0,
            category=draft.category,
            review_state=state,
            last_confirmed_at=now,
            submitted_at=now if state is not ReviewState.DRAFT else None,
            published_at=now if state is ReviewState.PUBLISHED else None,
            updated_by="demo loader",
        )
        apply_draft(session=session, initiative=initiative, draft=draft)
        save_initiative(
            session=session,
            actor=None,
            initiative=initiative,
            action="create",
            before=None,
            summary="demo data",
        )
        added += 1
    return added
