"""Initiative records, following the 3W/4W practice and the IATI activity standard.

An initiative's row holds its current content: for a published initiative, exactly what
the public sees. A partner's edit to a published initiative waits in
``pending_changes`` until staff approve it, so the published version stays live.
Multi-valued fields (areas, target groups, channels, participants) live in their own
indexed tables so the staff list filters them in SQL at 100k rows.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any, ClassVar

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.clean import CleanInput
from hub.i18n import N_
from hub.records import UTCDateTime, Versioned, enum_type, utcnow


class ReviewState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    CHANGES_REQUESTED = "changes_requested"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


REVIEW_STATE_LABELS = {
    ReviewState.DRAFT: N_("Draft"),
    ReviewState.SUBMITTED: N_("Waiting for review"),
    ReviewState.PUBLISHED: N_("Published"),
    ReviewState.CHANGES_REQUESTED: N_("Changes requested"),
    ReviewState.REJECTED: N_("Rejected"),
    ReviewState.WITHDRAWN: N_("Withdrawn"),
}


class Status(enum.StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"


STATUS_LABELS = {
    Status.PLANNED: N_("Planned"),
    Status.ACTIVE: N_("Active"),
    Status.COMPLETED: N_("Completed"),
    Status.CANCELLED: N_("Cancelled"),
    Status.SUSPENDED: N_("Suspended"),
}


class Channel(enum.StrEnum):
    ONLINE = "online"
    PHONE = "phone"
    IN_PERSON = "in_person"
    SMS = "sms"
    BROADCAST = "broadcast"


CHANNEL_LABELS = {
    Channel.ONLINE: N_("Online"),
    Channel.PHONE: N_("Phone"),
    Channel.IN_PERSON: N_("In person"),
    Channel.SMS: N_("SMS"),
    Channel.BROADCAST: N_("Broadcast (TV, radio)"),
}


class Cost(enum.StrEnum):
    FREE = "free"
    DISCOUNTED = "discounted"
    PAID = "paid"


COST_LABELS = {Cost.FREE: N_("Free"), Cost.DISCOUNTED: N_("Discounted"), Cost.PAID: N_("Paid")}


class ParticipantRole(enum.StrEnum):
    LEAD = "lead"
    IMPLEMENTING = "implementing"
    FUNDING = "funding"


PARTICIPANT_ROLE_LABELS = {
    ParticipantRole.LEAD: N_("Lead"),
    ParticipantRole.IMPLEMENTING: N_("Implementing"),
    ParticipantRole.FUNDING: N_("Funding"),
}


class VocabularyKind(enum.StrEnum):
    CATEGORY = "category"
    TARGET_GROUP = "target_group"


class VocabularyTerm(SQLModel, table=True):
    """Configurable lists (categories, target groups), in both languages."""

    __tablename__ = "vocabulary_term"
    __table_args__ = (UniqueConstraint("kind", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: VocabularyKind = Field(sa_type=enum_type(VocabularyKind))
    code: str = Field(max_length=40)
    label_en: str = Field(max_length=120)
    label_pt: str = Field(max_length=120)
    position: int = 0
    active: bool = True


class Initiative(Versioned, SQLModel, table=True):
    __table_args__ = (
        Index("ix_initiative_review_lead", "review_state", "lead_organisation_id"),
        Index("ix_initiative_queue", "review_state", "submitted_at"),
        # Covers the freshness flags (stale_only, freshness_counts) without reading rows.
        Index("ix_initiative_freshness", "status", "planned_end", "last_confirmed_at"),
        Index("ix_initiative_title", "title"),  # the registry sorted by title
        # The API's list: an exact filter, then its order (migration 0011_api_indexes).
        Index("ix_initiative_category_updated", "category", "updated_at", "id"),
        Index("ix_initiative_status_updated", "status", "updated_at", "id"),
        Index("ix_initiative_review_updated", "review_state", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=80, unique=True, index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=Text)
    lead_organisation_id: int = Field(foreign_key="organisation.id", index=True)
    category: str = Field(max_length=40, index=True)
    is_national: bool = Field(default=False, index=True)
    status: Status = Field(default=Status.PLANNED, sa_type=enum_type(Status), index=True)
    review_state: ReviewState = Field(
        default=ReviewState.DRAFT, sa_type=enum_type(ReviewState), index=True
    )
    planned_start: date | None = Field(default=None, index=True)
    planned_end: date | None = Field(default=None, index=True)
    actual_start: date | None = None
    actual_end: date | None = None
    people_targeted: int | None = None
    people_reached: int | None = None
    cost: Cost | None = Field(default=None, sa_type=enum_type(Cost))
    link: str = Field(default="", max_length=500)
    contact_email: str = Field(default="", max_length=254)  # never public
    # Lower-cased, accent-free title + description + organisation, for text search.
    search_text: str = Field(default="", sa_type=Text)
    # Portuguese Snowball stems of search_text, space-led (" pesso idos"): the public
    # search on SQLite (hub.text.stem_words; PostgreSQL uses its own `portuguese` config).
    search_stems: str = Field(default="", sa_type=Text)
    last_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A partner's proposed edit of a published initiative (the draft's fields as JSON).
    # none_as_null: "no pending edit" must be SQL NULL (the queue filters on it), not JSON null.
    pending_changes: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True))
    )
    pending_submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_note: str = Field(default="", sa_type=Text)  # reason the partner sees; not public
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_by: str = ""


class InitiativeArea(SQLModel, table=True):
    __tablename__ = "initiative_area"
    __table_args__ = (Index("ix_initiative_area_code", "area_code", "initiative_id"),)

    initiative_id: int = Field(foreign_key="initiative.id", primary_key=True, ondelete="CASCADE")
    area_code: str = Field(max_length=12, primary_key=True)


class InitiativeTargetGroup(SQLModel, table=True):
    __tablename__ = "initiative_target_group"
    __table_args__ = (Index("ix_initiative_target_group_code", "code", "initiative_id"),)

    initiative_id: int = Field(foreign_key="initiative.id", primary_key=True, ondelete="CASCADE")
    code: str = Field(max_length=40, primary_key=True)


class InitiativeChannel(SQLModel, table=True):
    __tablename__ = "initiative_channel"
    __table_args__ = (Index("ix_initiative_channel_channel", "channel", "initiative_id"),)

    initiative_id: int = Field(foreign_key="initiative.id", primary_key=True, ondelete="CASCADE")
    channel: Channel = Field(sa_type=enum_type(Channel), primary_key=True)


class InitiativeParticipant(SQLModel, table=True):
    """Organisations taking part besides the lead (joint initiatives)."""

    __tablename__ = "initiative_participant"
    __table_args__ = (Index("ix_initiative_participant_org", "organisation_id", "initiative_id"),)

    initiative_id: int = Field(foreign_key="initiative.id", primary_key=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    role: ParticipantRole = Field(sa_type=enum_type(ParticipantRole))


class InitiativeVersion(SQLModel, table=True):
    """Every saved version of an initiative, for its history."""

    __tablename__ = "initiative_version"
    __table_args__ = (UniqueConstraint("initiative_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True, ondelete="CASCADE")
    number: int
    action: str = Field(max_length=40)
    review_state: ReviewState = Field(sa_type=enum_type(ReviewState))
    snapshot: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    actor_label: str
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Notification(SQLModel, table=True):
    """A message to a partner organisation's users (freshness reminders, review outcomes)."""

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    initiative_id: int | None = Field(default=None, foreign_key="initiative.id", index=True)
    kind: str = Field(max_length=40)
    message: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    emailed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- shapes that are not tables ------------------------------------------------------


class Participant(BaseModel):
    organisation_id: int
    role: ParticipantRole = ParticipantRole.IMPLEMENTING


class InitiativeDraft(CleanInput):
    """What a form or an import row submits. Validation is in initiatives.validation."""

    MULTILINE_FIELDS: ClassVar[frozenset[str]] = frozenset({"description"})

    code: str | None = None
    title: str = ""
    description: str = ""
    lead_organisation_id: int | None = None
    participants: list[Participant] = PydanticField(default_factory=list)
    category: str = ""
    target_groups: list[str] = PydanticField(default_factory=list)
    areas: list[str] = PydanticField(default_factory=list)
    channels: list[Channel] = PydanticField(default_factory=list)
    planned_start: date | None = None
    planned_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None
    status: Status = Status.PLANNED
    people_targeted: int | None = None
    people_reached: int | None = None
    cost: Cost | None = None
    link: str = ""
    contact_email: str = ""


class InitiativeRow(BaseModel):
    """One line of the staff or partner registry list."""

    id: int
    code: str
    title: str
    organisation: str
    category: str
    status: Status
    review_state: ReviewState
    planned_start: date | None
    planned_end: date | None
    people_targeted: int | None
    people_reached: int | None
    areas: list[str]
    has_pending_edit: bool
    past_end: bool
    unconfirmed: bool
    updated_at: datetime


class ParticipantPublic(BaseModel):
    """A participating organisation and its role, as the public may see it (issue 16)."""

    organisation: str
    role: ParticipantRole


class InitiativePublic(BaseModel):
    """What the public may see of a published initiative: no contact, no review notes."""

    id: int
    code: str
    title: str
    description: str
    organisation: str
    participants: list[str]
    participant_roles: list[ParticipantPublic] = []  # the same with each one's role
    category: str
    target_groups: list[str]
    areas: list[str]
    channels: list[Channel]
    start_date: date | None
    end_date: date | None
    status: Status
    people_targeted: int | None
    people_reached: int | None
    cost: Cost | None
    link: str
    updated_at: datetime
    url: str = ""  # its page on the public site (set by the public site)
