"""What the public single point of contact shows, gathered once per request or export.

Everything here is public by construction: stories come from feeds.service's public
shape, initiatives from initiatives.queries.list_public (published only, no contacts,
no review notes). Both the Streamlit page and the plain HTML page read this.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, true
from sqlmodel import Session, col, select

from answers.directory import list_public_contacts, list_public_measures
from answers.models import (
    TOPIC_LABELS,
    AnswerPublic,
    Contact,
    ContactPublic,
    Measure,
    MeasurePublic,
    Question,
    QuestionState,
)
from answers.service import list_public_answers
from feeds.models import FeedItem, StoryPublic
from feeds.service import list_public_stories
from geo.areas import area_hierarchy, area_names, country_code
from hub.i18n import _
from initiatives.models import Channel, Initiative, InitiativePublic, ReviewState, VocabularyKind
from initiatives.queries import RegistryFilter, list_public
from initiatives.vocabulary import term_labels

PAGE_SIZE = 20
MAX_QUERY = 200  # characters of search text kept; longer queries are cut, not refused
STORIES_SHOWN = 30
ANSWERS_SHOWN = 30  # most asked first; the HTML page stays under 100 KB
MEASURES_SHOWN = 30


@dataclass(frozen=True)
class PublicQuery:
    text: str = ""
    area: str = ""
    audience: str = ""
    channel: str = ""
    page: int = 1
    answers_text: str = ""  # ?aq=: search in the questions answered (issue 8)

    @classmethod
    def from_params(cls, params: dict[str, str]) -> PublicQuery:
        """Tolerant parsing of URL parameters: anything odd becomes 'no filter'."""
        try:
            page = max(1, min(int(params.get("page", "1")), 10_000))
        except ValueError:
            page = 1
        channel = params.get("channel", "")
        return cls(
            text=" ".join(params.get("q", "").replace("\x00", " ").split())[:MAX_QUERY],
            area=params.get("area", "").strip()[:12],
            audience=params.get("audience", "").strip()[:40],
            channel=channel if channel in {c.value for c in Channel} else "",
            page=page,
            answers_text=" ".join(params.get("aq", "").replace("\x00", " ").split())[:MAX_QUERY],
        )

    def as_params(self, **overrides: object) -> dict[str, str]:
        values = {
            "q": self.text,
            "area": self.area,
            "audience": self.audience,
            "channel": self.channel,
            "page": str(self.page),
            "aq": self.answers_text,
        }
        values.update({k: str(v) for k, v in overrides.items()})
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}


@dataclass
class PortalContent:
    language: str
    query: PublicQuery
    stories_by_topic: list[tuple[str, list[StoryPublic]]]
    stories_updated_at: datetime | None
    initiatives: list[InitiativePublic]
    initiatives_total: int
    initiatives_updated_at: datetime | None
    pages: int
    area_names: dict[str, str]
    districts: list[tuple[str, str]]
    municipalities: list[tuple[str, str]]
    audiences: dict[str, str]
    categories: dict[str, str]
    notices: list[str] = field(default_factory=list)
    # issue 8: official answers, measures in force, contacts directory
    contacts: list[ContactPublic] = field(default_factory=list)
    answers_by_topic: list[tuple[str, list[AnswerPublic]]] = field(default_factory=list)
    answers_total: int = 0
    measures_by_area: list[tuple[str, list[MeasurePublic]]] = field(default_factory=list)


def where_i_live(code: str, parents: dict[str, str | None]) -> list[str]:
    """A place and every area containing it: an initiative for the district or the whole
    country also reaches someone in the municipality."""
    chain: list[str] = []
    while code and code not in chain:
        chain.append(code)
        code = parents.get(code) or ""
    return chain


def gather(*, session: Session, query: PublicQuery, language: str) -> PortalContent:
    names = area_names(session=session)
    parents = area_hierarchy(session=session)
    notices: list[str] = []
    filters = RegistryFilter(text=query.text, sort="updated_at")
    if query.area:
        if query.area in names:
            filters.areas_any = where_i_live(query.area, parents)
        else:
            notices.append(
                _("We do not know the area code '{code}'; showing every area.").format(
                    code=query.area
                )
            )
    audiences = term_labels(session=session, kind=VocabularyKind.TARGET_GROUP, language=language)
    if query.audience:
        if query.audience in audiences:
            filters.target_group = query.audience
        else:
            notices.append(_("Unknown audience; showing support for everyone."))
    if query.channel:
        filters.channel = Channel(query.channel)
    initiatives, total = list_public(
        session=session, filters=filters, limit=PAGE_SIZE, offset=(query.page - 1) * PAGE_SIZE
    )
    pages = max(1, -(-total // PAGE_SIZE))
    stories = list_public_stories(session=session, limit=STORIES_SHOWN)
    if query.text:
        words = query.text.lower().split()
        stories = [
            s for s in stories if all(w in f"{s.title} {s.summary_html}".lower() for w in words)
        ]
    by_topic: dict[str, list[StoryPublic]] = {}
    for story in stories:
        by_topic.setdefault(story.topic_label or story.topic or _("General"), []).append(story)
    country = country_code()
    districts = sorted(
        ((c, n) for c, n in names.items() if parents.get(c) == country), key=lambda pair: pair[1]
    )
    municipalities = sorted(
        ((c, n) for c, n in names.items() if parents.get(c) not in (None, country)),
        key=lambda pair: pair[1],
    )
    return PortalContent(
        language=language,
        query=query,
        stories_by_topic=list(by_topic.items()),
        stories_updated_at=max((s.first_seen_at for s in stories), default=None),
        initiatives=initiatives,
        initiatives_total=total,
        initiatives_updated_at=latest_initiative_change(session=session),
        pages=pages,
        area_names=names,
        districts=districts,
        municipalities=municipalities,
        audiences=audiences,
        categories=term_labels(session=session, kind=VocabularyKind.CATEGORY, language=language),
        notices=notices,
        **official_information(session=session, query=query),
    )


def official_information(*, session: Session, query: PublicQuery) -> dict[str, Any]:
    """Contacts, answers by topic (most asked first) and measures in force by area."""
    answers = list_public_answers(session=session, text=query.answers_text, limit=ANSWERS_SHOWN)
    by_topic: dict[str, list[AnswerPublic]] = {}
    for answer in answers:
        by_topic.setdefault(_(TOPIC_LABELS[answer.topic]), []).append(answer)
    by_area: dict[str, list[MeasurePublic]] = {}
    for measure in list_public_measures(session=session, limit=MEASURES_SHOWN):
        by_area.setdefault(_(TOPIC_LABELS[measure.area]), []).append(measure)
    return {
        "contacts": list_public_contacts(session=session),
        "answers_by_topic": list(by_topic.items()),
        "answers_total": len(answers),
        "measures_by_area": list(by_area.items()),
    }


def latest_initiative_change(*, session: Session) -> datetime | None:
    return session.exec(
        select(func.max(Initiative.updated_at)).where(
            col(Initiative.review_state) == ReviewState.PUBLISHED
        )
    ).one()


def data_version(*, session: Session) -> str:
    """A cheap fingerprint of everything public: it changes whenever anything the public
    page shows may have changed (two indexed aggregate queries)."""
    initiatives = session.exec(select(func.count(), func.max(Initiative.updated_at))).one()
    items = session.exec(select(func.count(), func.max(FeedItem.updated_at))).one()
    raw = f"{initiatives[0]}|{initiatives[1]}|{items[0]}|{items[1]}"
    # issue 8: only published questions count, so a flood of new questions (which the
    # public never sees unreviewed) does not invalidate the public cache.
    for model, published in (
        (Question, col(Question.state) == QuestionState.PUBLISHED),
        (Measure, true()),
        (Contact, true()),
    ):
        count, latest = session.exec(
            select(func.count(), func.max(model.updated_at)).where(published)
        ).one()
        raw += f"|{count}|{latest}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]
