"""What the API takes and gives: request bodies and response shapes.

Inputs forbid unknown fields (a misspelt field is an error naming it, not silently
ignored). Outputs are built from the services' shapes; the public ones reuse the
``*Public`` models, so a public endpoint cannot give a private field away.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict
from sqlalchemy import select as core_select
from sqlmodel import Session

from geo.areas import known_area_codes
from initiatives.models import (
    Channel,
    Cost,
    InitiativeDraft,
    InitiativePublic,
    Participant,
    ReviewState,
    Status,
    VocabularyKind,
)
from initiatives.validation import DESCRIPTION_MAX, LINK_MAX, PEOPLE_MAX, TITLE_MAX
from initiatives.vocabulary import vocabulary
from partners.models import Organisation

MAX_PAGE = 200
MAX_BULK = 1000


class Problem(BaseModel):
    """An RFC 9457 problem: ``errors`` lists each bad field (its path and the message)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    instance: str = ""
    errors: list[FieldProblem] = Field(default_factory=list)


class FieldProblem(BaseModel):
    field: str
    message: str


# The document states the rules ``initiatives.validation`` applies, so a request the
# document allows is one the registry takes (schemathesis' "positive data acceptance").
# They are stated in the document only (``json_schema_extra``): the services stay the one
# place that enforces them, with their messages in the caller's language. A little
# stricter than the services where a rule cannot be said exactly (the link, the e-mail);
# the lists kept in the database (categories, target groups, areas, organisations) are
# filled in when the document is served (``state_reference_lists``). One rule a JSON
# schema cannot state: an end date on or after its start date.
# A character that is neither white space nor one ``hub.clean`` removes: a title needs one.
VISIBLE_CHARACTER = "[^\\s\\x00-\\x1f\\x7f-\\x9f]"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/\-]{0,79}$"
LINK_PATTERN = (
    r"^(https://[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*\.[a-z]{2,12}"
    r"(/[A-Za-z0-9._~-]{1,40}){0,8})?$"
)
EMAIL_PATTERN = (
    r"^([a-z0-9._%+-]{1,64}@[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*\.[a-z]{2,12})?$"
)
PEOPLE: JsonDict = {"minimum": 0, "maximum": PEOPLE_MAX}


class InitiativeInput(InitiativeDraft):
    """An initiative's content, as the registry form takes it. ``code`` is the
    partner's own identifier (letters, digits, . _ : / -); the registry makes one when
    it is left out. ``lead_organisation_id`` defaults to the key's organisation.
    ``planned_end`` (``actual_end``) is on or after ``planned_start`` (``actual_start``)."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, json_schema_extra={"pattern": CODE_PATTERN})
    title: str = Field(
        json_schema_extra={"minLength": 1, "maxLength": TITLE_MAX, "pattern": VISIBLE_CHARACTER}
    )
    description: str = Field(default="", json_schema_extra={"maxLength": DESCRIPTION_MAX})
    category: str = Field(description="A code of /categories.")
    target_groups: list[str] = Field(default_factory=list, description="Codes of /target-groups.")
    areas: list[str] = Field(default_factory=list, description="Codes of /areas.")
    people_targeted: int | None = Field(default=None, json_schema_extra=PEOPLE)
    people_reached: int | None = Field(default=None, json_schema_extra=PEOPLE)
    link: str = Field(
        default="",
        description="A public web page (https://).",
        json_schema_extra={"maxLength": LINK_MAX, "pattern": LINK_PATTERN},
    )
    contact_email: str = Field(
        default="", json_schema_extra={"maxLength": 254, "pattern": EMAIL_PATTERN}
    )


class InitiativeUpdate(InitiativeInput):
    version: int = Field(description="The version you read: a newer save refuses this one.")
    submit: bool = False


class VersionInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int


class WithdrawInput(VersionInput):
    reason: str = Field(default="", max_length=500)


class ProgressInput(VersionInput):
    """``actual_end`` is on or after ``actual_start`` (and the record's other dates)."""

    status: Status
    people_reached: int | None = Field(default=None, json_schema_extra=PEOPLE)
    actual_start: date | None = None
    actual_end: date | None = None


class OverlapHint(BaseModel):
    """A similar initiative and why (what, where, when, for whom, by whom)."""

    code: str
    title: str
    organisation: str
    score: float
    explanation: str


class InitiativeOut(BaseModel):
    """An initiative as its own organisation (or staff) sees it."""

    id: int
    code: str
    title: str
    description: str
    lead_organisation_id: int
    organisation: str
    participants: list[Participant]
    category: str
    target_groups: list[str]
    areas: list[str]
    channels: list[Channel]
    planned_start: date | None
    planned_end: date | None
    actual_start: date | None
    actual_end: date | None
    status: Status
    people_targeted: int | None
    people_reached: int | None
    cost: Cost | None
    link: str
    contact_email: str
    review_state: ReviewState
    review_note: str
    pending_review: bool = Field(description="An edit waits for the office's review.")
    version: int
    last_confirmed_at: datetime | None
    updated_at: datetime


class InitiativeSaved(BaseModel):
    initiative: InitiativeOut
    overlap_hints: list[OverlapHint]


class InitiativePage(BaseModel):
    items: list[InitiativeOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


class PublicInitiativePage(BaseModel):
    items: list[InitiativePublic]
    next_cursor: str | None


class BulkInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[InitiativeInput] = Field(max_length=MAX_BULK)
    submit: bool = False


class BulkRow(BaseModel):
    index: int
    code: str
    result: str = Field(description="created, updated, unchanged, refused, or (dry run) valid")
    problems: list[FieldProblem] = Field(default_factory=list)
    overlap_hints: list[OverlapHint] = Field(default_factory=list)


class BulkReport(BaseModel):
    dry_run: bool
    written: bool
    rows: list[BulkRow]
    counts: dict[str, int]


class Term(BaseModel):
    code: str
    label_en: str
    label_pt: str


class AreaOut(BaseModel):
    code: str
    name_en: str
    name_pt: str
    level: str
    parent_code: str | None


def state_reference_lists(document: dict[str, Any], *, session: Session) -> dict[str, Any]:
    """``document`` with the lists the registry keeps in its database as enums: the
    categories, target groups, area codes and active organisations an initiative may
    name. A copy per request (cheap: a few small queries), so a term staff add today is
    in the document at once."""
    result = copy.deepcopy(document)
    schemas = result.get("components", {}).get("schemas", {})
    organisations = Organisation.__table__  # type: ignore[attr-defined]
    active = sorted(
        session.connection()
        .execute(core_select(organisations.c.id).where(organisations.c.active.is_(True)))
        .scalars()
    )
    lists: dict[str, list[Any]] = {
        "category": [t.code for t in vocabulary(session=session, kind=VocabularyKind.CATEGORY)],
        "target_groups": [
            t.code for t in vocabulary(session=session, kind=VocabularyKind.TARGET_GROUP)
        ],
        "areas": sorted(known_area_codes(session=session)),
        "lead_organisation_id": active,
    }
    for name in ("InitiativeInput", "InitiativeUpdate"):
        properties = schemas.get(name, {}).get("properties", {})
        for field, values in lists.items():
            if field not in properties:
                continue
            target = properties[field]
            if target.get("type") == "array":
                target = target.setdefault("items", {})
            # An empty list (no category configured yet) allows nothing: [None].
            target["enum"] = values or [None]
    participant = schemas.get("Participant", {}).get("properties", {}).get("organisation_id")
    if participant is not None:
        participant["enum"] = active or [None]
    return result


def jsonable(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
