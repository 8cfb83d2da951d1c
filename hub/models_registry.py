"""Import every table model so SQLModel.metadata knows the whole schema (for Alembic)."""

from answers.models import (  # noqa: F401 - issue 8
    AnswerVersion,
    Contact,
    Measure,
    MeasureInitiative,
    Question,
    QuestionContact,
    RateBucket,
)
from connectivity.models import IndicatorValue  # noqa: F401 - issue 7
from feeds.models import FeedItem, FeedSource, FeedState
from hub.audit import AuditEntry
from initiatives.models import (
    Initiative,
    InitiativeArea,
    InitiativeChannel,
    InitiativeParticipant,
    InitiativeTargetGroup,
    InitiativeVersion,
    Notification,
    VocabularyTerm,
)
from initiatives.overlap_models import InitiativeLink, OverlapDecision, OverlapNote  # issue 4
from partners.models import Account, Organisation

__all__ = [
    "Account",
    "AuditEntry",
    "FeedItem",
    "FeedSource",
    "FeedState",
    "Initiative",
    "InitiativeArea",
    "InitiativeChannel",
    "InitiativeLink",
    "InitiativeParticipant",
    "InitiativeTargetGroup",
    "InitiativeVersion",
    "Notification",
    "Organisation",
    "OverlapDecision",
    "OverlapNote",
    "VocabularyTerm",
]
