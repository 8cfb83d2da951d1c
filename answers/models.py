"""Questions from the public, official answers, measures in force and the contacts
directory: table models, form inputs and the public shapes.

What the public may see is only ever built from the ``*Public`` models below: they
carry no asker e-mail (kept in ``question_contact``, a table of its own), no question as
it was typed (``text`` may hold personal data; ``public_text`` is the redacted, staff-
reviewed wording) and nothing that is not published.

Full-text search lives outside these models (answers/search.py): each searchable table
keeps a folded ``search_text`` column, indexed by an SQLite FTS5 table or a PostgreSQL
generated ``tsvector`` column that the migration creates.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.clean import CleanInput
from hub.i18n import N_
from hub.records import UTCDateTime, Versioned, enum_type, utcnow


class Topic(enum.StrEnum):
    """Government area: the topic of a question and the area of a measure."""

    HEALTH = "health"
    LABOUR = "labour_social_security"
    EDUCATION = "education"
    ECONOMY = "economy"
    JUSTICE = "justice"
    INTERNAL = "internal_administration"
    TRANSPORT = "transport"
    DIGITAL = "digital"
    CULTURE = "culture"
    OTHER = "other"


TOPIC_LABELS = {
    Topic.HEALTH: N_("Health"),
    Topic.LABOUR: N_("Labour and social security"),
    Topic.EDUCATION: N_("Education"),
    Topic.ECONOMY: N_("Economy"),
    Topic.JUSTICE: N_("Justice"),
    Topic.INTERNAL: N_("Internal administration"),
    Topic.TRANSPORT: N_("Transport"),
    Topic.DIGITAL: N_("Digital"),
    Topic.CULTURE: N_("Culture"),
    Topic.OTHER: N_("Other"),
}

# Competent authorities offered on the staff form (free text is allowed too).
KNOWN_AUTHORITIES = ("DGS", "SNS 24", "SPMS", "INEM", "INSA", "INFARMED", "Segurança Social")


class QuestionState(enum.StrEnum):
    RECEIVED = "received"  # asked by the public, nobody has looked at it yet
    TRIAGED = "triaged"  # topic / authority / answer being prepared
    PUBLISHED = "published"
    MERGED = "merged"  # folded into another question (merged_into_id)
    REJECTED = "rejected"  # spam, abuse or not a question


QUESTION_STATE_LABELS = {
    QuestionState.RECEIVED: N_("New"),
    QuestionState.TRIAGED: N_("Being answered"),
    QuestionState.PUBLISHED: N_("Published"),
    QuestionState.MERGED: N_("Merged"),
    QuestionState.REJECTED: N_("Rejected"),
}


class Question(Versioned, SQLModel, table=True):
    __table_args__ = (
        Index("ix_question_state_asks", "state", "ask_count"),
        Index("ix_question_state_reviewed", "state", "reviewed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    state: QuestionState = Field(
        default=QuestionState.RECEIVED, sa_type=enum_type(QuestionState), index=True
    )
    # As the asker typed it (plain text, tags refused): may hold personal data; staff only.
    text: str = Field(sa_type=Text)
    # The wording the public may see: personal data redacted, edited by staff.
    public_text: str = Field(default="", sa_type=Text)
    topic: Topic | None = Field(default=None, sa_type=enum_type(Topic), index=True)
    authority: str = Field(default="", max_length=120)
    answer_text: str = Field(default="", sa_type=Text)
    answered_by: str = Field(default="", max_length=200)  # who at the authority answered
    source_url: str = Field(default="", max_length=500)
    answer_version: int = 0
    ask_count: int = 1  # this question plus every question merged into it
    useful_count: int = 0
    merged_into_id: int | None = Field(default=None, foreign_key="question.id", index=True)
    asked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when the answer changes after it was first published: "updated on".
    answer_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Folded (lower case, no accents) public wording + answer + authority, for search.
    search_text: str = Field(default="", sa_type=Text)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_by: str = ""


class QuestionContact(SQLModel, table=True):
    """The optional e-mail of an asker, apart from the question: never public."""

    __tablename__ = "question_contact"

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="question.id", index=True)
    email: str = Field(max_length=254)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AnswerVersion(SQLModel, table=True):
    """Every answer ever written for a question, oldest first."""

    __tablename__ = "answer_version"
    __table_args__ = (UniqueConstraint("question_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="question.id", index=True)
    number: int
    answer_text: str = Field(sa_type=Text)
    authority: str = Field(max_length=120)
    answered_by: str = Field(default="", max_length=200)
    source_url: str = Field(default="", max_length=500)
    written_by: str = ""  # the staff member who entered it
    written_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Measure(Versioned, SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    area: Topic = Field(sa_type=enum_type(Topic), index=True)
    title: str = Field(max_length=200)
    summary: str = Field(sa_type=Text)
    audience: str = Field(default="", max_length=300)
    in_force_from: date | None = None
    in_force_to: date | None = None
    legal_reference: str = Field(default="", max_length=300)
    legal_link: str = Field(default="", max_length=500)
    documents: str = Field(default="", sa_type=Text)  # one form or document per line
    published: bool = Field(default=False, index=True)
    search_text: str = Field(default="", sa_type=Text)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_by: str = ""


class MeasureInitiative(SQLModel, table=True):
    """The support initiatives that carry a measure out.

    No foreign key to ``initiative``: this schema branch (0006) may be applied before
    the registry's (0002), so the service checks the ids instead (validate_measure).
    """

    __tablename__ = "measure_initiative"

    measure_id: int = Field(foreign_key="measure.id", primary_key=True, ondelete="CASCADE")
    initiative_id: int = Field(primary_key=True, index=True)


class Contact(Versioned, SQLModel, table=True):
    """One line of the consolidated directory of emergency and support contacts."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=254)  # the service's own, public address
    web: str = Field(default="", max_length=500)
    opening_hours: str = Field(default="", max_length=200)
    languages: str = Field(default="", max_length=200)
    audience: str = Field(default="", max_length=300)
    area_code: str = Field(default="", max_length=12)
    organisation: str = Field(default="", max_length=200)
    last_verified: date | None = None
    emergency: bool = False  # shown first and most prominently
    note: str = Field(default="", max_length=300)
    published: bool = Field(default=False, index=True)
    position: int = 0
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_by: str = ""


class RateBucket(SQLModel, table=True):
    """A token bucket per client key (a hash, never the address itself) and action."""

    __tablename__ = "rate_bucket"

    key: str = Field(max_length=80, primary_key=True)
    tokens: float
    stamp: float = Field(index=True)  # seconds since the epoch of the last refill


# --- forms -------------------------------------------------------------------------------


class QuestionDraft(CleanInput):
    """The public question form."""

    MULTILINE_FIELDS: ClassVar[frozenset[str]] = frozenset({"text"})

    text: str
    email: str = ""


class AnswerDraft(CleanInput):
    """Staff: triage and answer in one form."""

    MULTILINE_FIELDS: ClassVar[frozenset[str]] = frozenset({"public_text", "answer_text"})

    public_text: str
    topic: Topic | None = None
    authority: str = ""
    answer_text: str = ""
    answered_by: str = ""
    source_url: str = ""


class MeasureDraft(CleanInput):
    MULTILINE_FIELDS: ClassVar[frozenset[str]] = frozenset({"summary"})

    area: Topic
    title: str
    summary: str
    audience: str = ""
    in_force_from: date | None = None
    in_force_to: date | None = None
    legal_reference: str = ""
    legal_link: str = ""
    documents: list[str] = PydanticField(default_factory=list)
    initiative_codes: list[str] = PydanticField(default_factory=list)
    published: bool = False


class ContactDraft(CleanInput):
    MULTILINE_FIELDS: ClassVar[frozenset[str]] = frozenset({"note", "opening_hours"})

    name: str
    phone: str = ""
    email: str = ""
    web: str = ""
    opening_hours: str = ""
    languages: str = ""
    audience: str = ""
    area_code: str = ""
    organisation: str = ""
    last_verified: date | None = None
    emergency: bool = False
    note: str = ""
    published: bool = False
    position: int = 0


# --- public shapes -----------------------------------------------------------------------


class AnswerPublic(BaseModel):
    """A published question and its official answer: no asker, no e-mail, no draft."""

    id: int
    question: str
    answer: str
    topic: Topic
    authority: str
    answered_by: str
    source_url: str  # scheme-checked, or empty
    published_at: datetime
    updated_at: datetime | None  # the answer changed after it was published
    reviewed_at: datetime | None
    ask_count: int
    useful_count: int
    version: int = 0  # the answer's version number (answer_version)
    url: str = ""  # its page on the public site (set by the public site)


class LinkedInitiative(BaseModel):
    code: str
    title: str


class MeasurePublic(BaseModel):
    id: int
    area: Topic
    title: str
    summary: str
    audience: str
    in_force_from: date | None
    in_force_to: date | None
    legal_reference: str
    legal_link: str
    documents: list[str]
    initiatives: list[LinkedInitiative]
    updated_at: datetime
    url: str = ""  # its page on the public site (set by the public site)


class ContactPublic(BaseModel):
    id: int
    name: str
    phone: str
    tel: str  # the phone as a tel: URI target (digits and +), or empty
    email: str
    web: str
    opening_hours: str
    languages: str
    audience: str
    area_code: str
    organisation: str
    last_verified: date | None
    emergency: bool
    note: str
