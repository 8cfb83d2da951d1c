"""Tables of overlap detection: staff decisions on pairs, links between initiatives, and
what a partner said about the similar initiatives shown to them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.i18n import N_
from hub.records import UTCDateTime, enum_type, utcnow


class Decision(enum.StrEnum):
    DUPLICATE = "duplicate"  # one effort recorded twice: merge, withdraw the other
    JOINT = "joint"  # one effort run together: link both (IATI related-activity)
    COMPLEMENTARY = "complementary"  # both kept, reason noted
    UNRELATED = "unrelated"  # a false alarm


DECISION_LABELS = {
    Decision.DUPLICATE: N_("Duplicate: merge into one record"),
    Decision.JOINT: N_("One joint effort: link them"),
    Decision.COMPLEMENTARY: N_("Complementary: keep both"),
    Decision.UNRELATED: N_("Unrelated"),
}


class LinkKind(enum.StrEnum):
    JOINT = "joint"  # staff decided: one effort, several records (exported to IATI)
    MERGED = "merged"  # the kept record of a merge -> the withdrawn one
    RELATED = "related"  # a partner said, when submitting, that theirs relates to it


class OverlapDecision(SQLModel, table=True):
    """Staff's decision on a pair (a < b). The fingerprints are of both records' material
    content when decided: the pair is shown again only if one of them changes."""

    __tablename__ = "overlap_decision"
    __table_args__ = (UniqueConstraint("initiative_a_id", "initiative_b_id"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_a_id: int = Field(foreign_key="initiative.id", index=True, ondelete="CASCADE")
    initiative_b_id: int = Field(foreign_key="initiative.id", index=True, ondelete="CASCADE")
    decision: Decision = Field(sa_type=enum_type(Decision))
    reason: str = Field(default="", sa_type=Text)
    score: float = 0.0
    explanation: str = Field(default="", sa_type=Text)
    fingerprint_a: str = Field(max_length=64)
    fingerprint_b: str = Field(max_length=64)
    decided_by: str = ""
    decided_by_id: int | None = None
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InitiativeLink(SQLModel, table=True):
    __tablename__ = "initiative_link"

    initiative_id: int = Field(foreign_key="initiative.id", primary_key=True, ondelete="CASCADE")
    other_initiative_id: int = Field(
        foreign_key="initiative.id", primary_key=True, index=True, ondelete="CASCADE"
    )
    kind: LinkKind = Field(sa_type=enum_type(LinkKind))
    created_by: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OverlapNote(SQLModel, table=True):
    """A partner's answer to "similar initiatives exist": related, or how theirs differs."""

    __tablename__ = "overlap_note"

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True, ondelete="CASCADE")
    other_initiative_id: int = Field(foreign_key="initiative.id", index=True, ondelete="CASCADE")
    related: bool = False
    note: str = Field(default="", sa_type=Text)
    author: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
