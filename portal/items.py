"""The public page of one item: an initiative (by its code), a measure or an official
answer (by id). Every published item has a permanent address of its own; one never
published is not found (404), one published once and since withdrawn or taken down is
gone (410, with a short notice).

Names are "<kind>/<key>" (``initiatives/INI-000014``, ``measures/3``, ``answers/12``):
the public cache keys, routes and the static export speak of items this way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session

from answers.directory import get_public_measure
from answers.models import TOPIC_LABELS, AnswerPublic, MeasurePublic, Question, QuestionState
from answers.service import public_answer
from geo.areas import area_hierarchy, area_names
from hub.errors import Gone, NotFound
from hub.i18n import _
from hub.records import utcnow
from initiatives.models import STATUS_LABELS, InitiativePublic, VocabularyKind
from initiatives.queries import get_public_initiative, is_in_force
from initiatives.vocabulary import term_labels
from portal.content import area_labels

KINDS = ("initiatives", "measures", "answers")
MAX_KEY = 80  # the longest initiative code


@dataclass
class ItemContent:
    kind: str
    key: str
    language: str
    title: str
    today: date
    ended: bool = False
    description: str = ""
    status: str = ""
    topic: str = ""
    initiative: InitiativePublic | None = None
    measure: MeasurePublic | None = None
    answer: AnswerPublic | None = None
    area_names: dict[str, str] = field(default_factory=dict)
    audiences: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)


def get_public_answer(*, session: Session, question_id: int) -> AnswerPublic:
    """A published answer for its own page (answers.service.public_answer). Never
    published: NotFound; published once and since unpublished or merged: Gone (the
    question keeps its published_at)."""
    question = session.get(Question, question_id)
    if question is None or question.published_at is None:
        raise NotFound(_("There is no published answer {id}.").format(id=question_id))
    if question.state is not QuestionState.PUBLISHED:
        raise Gone(_("Answer {id} is no longer published.").format(id=question_id))
    return public_answer(question)


def split_name(name: str) -> tuple[str, str]:
    """("initiatives", "INI-000014") from "initiatives/INI-000014"; NotFound for
    anything that cannot be an item (so a route never reaches the database with it)."""
    kind, _slash, key = name.partition("/")
    if kind not in KINDS or not key or len(key) > MAX_KEY:
        raise NotFound(_("There is no such page."))
    if kind != "initiatives" and not (key.isascii() and key.isdigit() and len(key) < 10):
        raise NotFound(_("There is no such page."))
    return kind, key


def is_item(name: str) -> bool:
    return name.partition("/")[0] in KINDS


@dataclass(frozen=True)
class ItemLookups:
    """The labels an initiative's page needs, read once per language (the static export
    renders every item with one set)."""

    area_names: dict[str, str]
    audiences: dict[str, str]
    categories: dict[str, str]


def item_lookups(*, session: Session, language: str) -> ItemLookups:
    return ItemLookups(
        area_names=area_labels(area_names(session=session), area_hierarchy(session=session)),
        audiences=term_labels(session=session, kind=VocabularyKind.TARGET_GROUP, language=language),
        categories=term_labels(session=session, kind=VocabularyKind.CATEGORY, language=language),
    )


def gather_item(
    *,
    session: Session,
    name: str,
    language: str,
    today: date | None = None,
    lookups: ItemLookups | None = None,
) -> ItemContent:
    """The item's public content; raises NotFound or Gone (hub.errors)."""
    kind, key = split_name(name)
    today = today or utcnow().date()
    if kind == "initiatives":
        initiative = get_public_initiative(session=session, code=key)
        ended = not is_in_force(initiative, today)
        lookups = lookups or item_lookups(session=session, language=language)
        return ItemContent(
            kind=kind,
            key=key,
            language=language,
            title=initiative.title,
            today=today,
            ended=ended,
            description=initiative.description,
            initiative=initiative,
            area_names=lookups.area_names,
            audiences=lookups.audiences,
            categories=lookups.categories,
            status=_(STATUS_LABELS[initiative.status]),
        )
    if kind == "measures":
        measure = get_public_measure(session=session, measure_id=int(key))
        ended = measure.in_force_to is not None and measure.in_force_to < today
        upcoming = measure.in_force_from is not None and measure.in_force_from > today
        return ItemContent(
            kind=kind,
            key=key,
            language=language,
            title=measure.title,
            today=today,
            ended=ended,
            description=measure.summary,
            measure=measure,
            topic=_(TOPIC_LABELS[measure.area]),
            status=_("No longer in force")
            if ended
            else _("Not in force yet")
            if upcoming
            else _("In force"),
        )
    answer = get_public_answer(session=session, question_id=int(key))
    return ItemContent(
        kind=kind,
        key=key,
        language=language,
        title=answer.question,
        today=today,
        description=answer.answer,
        answer=answer,
        topic=_(TOPIC_LABELS[answer.topic]),
    )
