"""What the API takes and gives: request bodies and response shapes.

Inputs forbid unknown fields (a misspelt field is an error naming it, not silently
ignored). Outputs are built from the services' shapes; the public ones reuse the
``*Public`` models, so a public endpoint cannot give a private field away.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from initiatives.models import (
    Channel,
    Cost,
    InitiativeDraft,
    InitiativePublic,
    Participant,
    ReviewState,
    Status,
)

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


class InitiativeInput(InitiativeDraft):
    """An initiative's content, as the registry form takes it. ``code`` is the
    partner's own identifier (letters, digits, . _ : / -); the registry makes one when
    it is left out. ``lead_organisation_id`` defaults to the key's organisation."""

    model_config = ConfigDict(extra="forbid")


class InitiativeUpdate(InitiativeInput):
    version: int = Field(description="The version you read: a newer save refuses this one.")
    submit: bool = False


class VersionInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int


class WithdrawInput(VersionInput):
    reason: str = Field(default="", max_length=500)


class ProgressInput(VersionInput):
    status: Status
    people_reached: int | None = None
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


def jsonable(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
