"""What the public single point of contact shows, gathered once per request or export.

Everything here is public by construction: stories come from feeds.service's public
shape, initiatives from initiatives.queries.list_public (published only, no contacts,
no review notes). Both the Streamlit page and the plain HTML page read this.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
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
from hub.i18n import _, ngettext
from hub.records import utcnow
from hub.text import fold
from initiatives.models import Channel, Initiative, InitiativePublic, ReviewState, VocabularyKind
from initiatives.queries import RegistryFilter, is_in_force, list_public
from initiatives.vocabulary import term_labels
from reports.models import Report, ReportState

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
    ended: bool = False  # ?ended=1: also show what has ended (issue 14)

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
            ended=params.get("ended", "") == "1",
        )

    def as_params(self, **overrides: object) -> dict[str, str]:
        values = {
            "q": self.text,
            "area": self.area,
            "audience": self.audience,
            "channel": self.channel,
            "page": str(self.page),
            "aq": self.answers_text,
            "ended": "1" if self.ended else "",
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
    # issue 14: is there anything at all (to tell "nothing matches your search" from
    # "nothing yet"), what has ended, and a page number past the end
    initiatives_exist: bool = False
    answers_exist: bool = False
    ended_codes: frozenset[str] = frozenset()
    today: date | None = None
    page_past_end: bool = False


def where_i_live(code: str, parents: dict[str, str | None]) -> list[str]:
    """A place and every area containing it: an initiative for the district or the whole
    country also reaches someone in the municipality."""
    chain: list[str] = []
    while code and code not in chain:
        chain.append(code)
        code = parents.get(code) or ""
    return chain


def collation_key(name: str) -> tuple[str, str]:
    """Portuguese order, locale-independent: letters compared without accents or case
    first ("Évora" among the E's, not after "Z"), the exact spelling breaking ties."""
    return (fold(name), name)


def area_labels(names: dict[str, str], parents: dict[str, str | None]) -> dict[str, str]:
    """Each area's name as the public reads it: a district and a municipality with the
    same name are told apart ("Lisboa (distrito)", "Lisboa (concelho)"), in the page's
    language."""
    country = country_code()

    def level(code: str) -> str:
        parent = parents.get(code)
        return "country" if parent is None else "district" if parent == country else "municipality"

    level_of = {code: level(code) for code in names}
    levels_of_name: dict[str, set[str]] = {}
    for code, name in names.items():
        levels_of_name.setdefault(fold(name), set()).add(level_of[code])
    labels: dict[str, str] = {}
    for code, name in names.items():
        if len(levels_of_name[fold(name)]) < 2:
            labels[code] = name
        elif level_of[code] == "district":
            labels[code] = _("{name} (district)").format(name=name)
        elif level_of[code] == "municipality":
            labels[code] = _("{name} (municipality)").format(name=name)
        else:
            labels[code] = _("{name} (country)").format(name=name)
    return labels


def gather(
    *, session: Session, query: PublicQuery, language: str, today: date | None = None
) -> PortalContent:
    today = today or utcnow().date()
    parents = area_hierarchy(session=session)
    names = area_labels(area_names(session=session), parents)
    notices: list[str] = []
    # "Available" means in force today, unless the visitor asks for what ended too.
    in_force_on = None if query.ended else today
    filters = RegistryFilter(public_text=query.text, sort="updated_at", in_force_on=in_force_on)
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
    page_past_end = total > 0 and query.page > pages
    if page_past_end:
        notices.append(
            ngettext(
                "There is no page {page}: the results fit on {pages} page.",
                "There is no page {page}: the results fit on {pages} pages.",
                pages,
            ).format(page=query.page, pages=pages)
        )
    exist = (
        total > 0
        or list_public(session=session, filters=RegistryFilter(in_force_on=in_force_on), limit=1)[1]
        > 0
    )
    # A search of the support section narrows that section only: news are never
    # filtered by it (so they never say "no news yet" while there are some).
    stories = list_public_stories(session=session, limit=STORIES_SHOWN)
    by_topic: dict[str, list[StoryPublic]] = {}
    for story in stories:
        by_topic.setdefault(story.topic_label or story.topic or _("General"), []).append(story)
    country = country_code()
    districts = sorted(
        ((c, n) for c, n in names.items() if parents.get(c) == country),
        key=lambda pair: collation_key(pair[1]),
    )
    municipalities = sorted(
        ((c, n) for c, n in names.items() if parents.get(c) not in (None, country)),
        key=lambda pair: collation_key(pair[1]),
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
        initiatives_exist=exist,
        ended_codes=frozenset(i.code for i in initiatives if not is_in_force(i, today)),
        today=today,
        page_past_end=page_past_end,
        **official_information(session=session, query=query),
    )


def official_information(*, session: Session, query: PublicQuery) -> dict[str, Any]:
    """Contacts, answers by topic (most asked first) and measures in force by area."""
    answers = list_public_answers(session=session, text=query.answers_text, limit=ANSWERS_SHOWN)
    exist = bool(answers) or (
        bool(query.answers_text) and bool(list_public_answers(session=session, limit=1))
    )
    by_topic: dict[str, list[AnswerPublic]] = {}
    for answer in answers:
        by_topic.setdefault(_(TOPIC_LABELS[answer.topic]), []).append(answer)
    by_area: dict[str, list[MeasurePublic]] = {}
    for measure in list_public_measures(
        session=session, limit=MEASURES_SHOWN, ended_too=query.ended
    ):
        by_area.setdefault(_(TOPIC_LABELS[measure.area]), []).append(measure)
    return {
        "contacts": list_public_contacts(session=session),
        "answers_by_topic": list(by_topic.items()),
        "answers_total": len(answers),
        "answers_exist": exist,
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
    # Today's date too: what is "in force" changes at midnight without any write.
    raw = f"{utcnow().date()}|{initiatives[0]}|{initiatives[1]}|{items[0]}|{items[1]}"
    # issue 8: only published questions count, so a flood of new questions (which the
    # public never sees unreviewed) does not invalidate the public cache.
    for model, published in (
        (Question, col(Question.state) == QuestionState.PUBLISHED),
        (Measure, true()),
        (Contact, true()),
        (Report, col(Report.state) == ReportState.PUBLISHED),  # issue 20: datapackage.json
    ):
        count, latest = session.exec(
            select(func.count(), func.max(model.updated_at)).where(published)
        ).one()
        raw += f"|{count}|{latest}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]
