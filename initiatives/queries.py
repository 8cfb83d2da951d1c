"""Reading the registry: the filtered, sorted, paginated list (in SQL, fast at 100k rows),
the review queue, freshness flags, dashboard counts and the public shape.

It stays one module: every reader here shares the one filter and visibility rule
(``_filtered``, ``visible_to``), which must not be copied into a second module."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import and_, case, func, literal_column, or_, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from geo.areas import area_names
from hub import settings
from hub.auth import Principal, require_staff
from hub.errors import Gone, NotFound
from hub.i18n import _
from hub.records import utcnow
from hub.text import fold, stem_words
from initiatives.models import (
    Channel,
    Initiative,
    InitiativeArea,
    InitiativeChannel,
    InitiativeParticipant,
    InitiativePublic,
    InitiativeRow,
    InitiativeTargetGroup,
    ParticipantPublic,
    ReviewState,
    Status,
    VocabularyKind,
)
from initiatives.overlap_models import InitiativeLink, LinkKind
from initiatives.vocabulary import term_labels
from partners.models import Organisation

SORTABLE = {
    "updated_at": Initiative.updated_at,
    "title": Initiative.title,
    "planned_start": Initiative.planned_start,
    "planned_end": Initiative.planned_end,
    "people_targeted": Initiative.people_targeted,
    "people_reached": Initiative.people_reached,
    "status": Initiative.status,
    "category": Initiative.category,
}


@dataclass
class RegistryFilter:
    organisation_id: int | None = None
    category: str | None = None
    target_group: str | None = None
    area: str | None = None
    # Any of these codes (e.g. a municipality, its district and the country: "what is
    # available where I live").
    areas_any: list[str] = field(default_factory=list)
    status: Status | None = None
    review_state: ReviewState | None = None
    channel: Channel | None = None
    active_on_or_after: date | None = None  # ends on/after this day (or has no end)
    active_on_or_before: date | None = None  # starts on/before this day (or has no start)
    text: str = ""
    stale_only: bool = False
    # The public list: Portuguese search as people type it (stems), and "in force on
    # this day" (status active or planned, end not past); None shows ended ones too.
    public_text: str = ""
    in_force_on: date | None = None
    sort: str = "updated_at"
    descending: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def unconfirmed_days() -> int:
    return int(settings.get("HUB_CONFIRM_AFTER_DAYS"))


def _stale_conditions(today: date) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    cutoff = utcnow() - timedelta(days=unconfirmed_days())
    live = col(Initiative.status).in_([Status.PLANNED, Status.ACTIVE])
    past_end = and_(
        live, col(Initiative.planned_end).is_not(None), col(Initiative.planned_end) < today
    )
    unconfirmed = and_(
        live,
        or_(
            col(Initiative.last_confirmed_at).is_(None), col(Initiative.last_confirmed_at) < cutoff
        ),
    )
    return past_end, unconfirmed


def visible_to(actor: Principal | None) -> ColumnElement[bool]:
    """The rows an actor may list: staff all; a partner their lead or joint initiatives."""
    if actor is not None and actor.is_staff:
        return true()
    if actor is None or actor.organisation_id is None:
        return col(Initiative.review_state) == ReviewState.PUBLISHED
    joint = _ids_in(
        InitiativeParticipant, col(InitiativeParticipant.organisation_id) == actor.organisation_id
    )
    return or_(col(Initiative.lead_organisation_id) == actor.organisation_id, joint)


def _ids_in(table: Any, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``initiative.id IN (ids from a side table matching condition)``.

    Driven by the side table's (code, initiative_id) index. A correlated EXISTS made
    SQLite visit every initiative instead: 369 ms against 2 ms for one municipality at
    100k initiatives (benchmarks/registry_list.py).
    """
    return col(Initiative.id).in_(select(table.initiative_id).where(condition))


def _filtered(actor: Principal | None, filters: RegistryFilter, today: date) -> Any:
    query = select(Initiative.id).where(visible_to(actor))
    if filters.organisation_id is not None:
        joint = _ids_in(
            InitiativeParticipant,
            col(InitiativeParticipant.organisation_id) == filters.organisation_id,
        )
        query = query.where(
            or_(col(Initiative.lead_organisation_id) == filters.organisation_id, joint)
        )
    if filters.category:
        query = query.where(Initiative.category == filters.category)
    if filters.status is not None:
        query = query.where(Initiative.status == filters.status)
    if filters.review_state is not None:
        query = query.where(Initiative.review_state == filters.review_state)
    if filters.target_group:
        query = query.where(
            _ids_in(InitiativeTargetGroup, col(InitiativeTargetGroup.code) == filters.target_group)
        )
    if filters.area:
        query = query.where(_ids_in(InitiativeArea, col(InitiativeArea.area_code) == filters.area))
    if filters.areas_any:
        query = query.where(
            _ids_in(InitiativeArea, col(InitiativeArea.area_code).in_(filters.areas_any))
        )
    if filters.channel is not None:
        query = query.where(
            _ids_in(InitiativeChannel, col(InitiativeChannel.channel) == filters.channel)
        )
    if filters.active_on_or_after:
        query = query.where(
            or_(
                col(Initiative.planned_end).is_(None),
                col(Initiative.planned_end) >= filters.active_on_or_after,
            )
        )
    if filters.active_on_or_before:
        query = query.where(
            or_(
                col(Initiative.planned_start).is_(None),
                col(Initiative.planned_start) <= filters.active_on_or_before,
            )
        )
    words = fold(filters.text).split()
    for word in words[:8]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(col(Initiative.search_text).like(f"%{escaped}%", escape="\\"))
    if filters.stale_only:
        past_end, unconfirmed = _stale_conditions(today)
        query = query.where(or_(past_end, unconfirmed))
    if filters.in_force_on is not None:
        query = query.where(in_force(filters.in_force_on))
    return query


LIVE_STATUSES = (Status.ACTIVE, Status.PLANNED)


def end_date() -> ColumnElement[Any]:
    """The end the public sees: the actual end, else the planned one."""
    return func.coalesce(col(Initiative.actual_end), col(Initiative.planned_end))


def in_force(today: date) -> ColumnElement[bool]:
    """Available today: active or planned, and not past its end."""
    ends = end_date()
    return and_(col(Initiative.status).in_(LIVE_STATUSES), or_(ends.is_(None), ends >= today))


def is_in_force(initiative: InitiativePublic, today: date) -> bool:
    """``in_force`` for a public shape already read."""
    return initiative.status in LIVE_STATUSES and (
        initiative.end_date is None or initiative.end_date >= today
    )


MAX_SEARCH_WORDS = 8
_SEARCH_WORD = re.compile(r"[a-z0-9]+")


def stemmed_search(*, session: Session, text: str) -> ColumnElement[bool] | None:
    """Every word of ``text`` starts a word of the initiative's text, both stemmed in
    Portuguese ("idosos" finds "pessoas idosas"; accents and case ignored).

    PostgreSQL stems with its own ``portuguese`` configuration (the expression index of
    migration 0008); SQLite has no stemmer, so the Snowball stems are stored on save
    (``search_stems``) and the query's stems are matched there. Only letters and digits
    reach the database, so a query cannot inject search operators."""
    if session.get_bind().dialect.name == "postgresql":
        terms = _SEARCH_WORD.findall(fold(text))[:MAX_SEARCH_WORDS]
        if not terms:
            return None
        config: ColumnElement[Any] = literal_column("'portuguese'::regconfig")
        return func.to_tsvector(config, col(Initiative.search_text)).op("@@")(
            func.to_tsquery(config, " & ".join(f"{term}:*" for term in terms))
        )
    stems = stem_words(text)[:MAX_SEARCH_WORDS]
    if not stems:
        return None
    return and_(*(col(Initiative.search_stems).like(f"% {stem}%") for stem in stems))


def search_registry(
    *,
    session: Session,
    actor: Principal | None,
    filters: RegistryFilter,
    limit: int = 50,
    offset: int = 0,
    today: date | None = None,
) -> tuple[list[InitiativeRow], int]:
    """One page of the registry, filtered, sorted and paginated in SQL; plus the total."""
    today = today or utcnow().date()
    ids = _filtered(actor, filters, today)
    total = int(session.exec(select(func.count()).select_from(ids.subquery())).one())
    sort_column: Any = SORTABLE.get(filters.sort, Initiative.updated_at)
    tie = col(Initiative.id)
    ordering = (
        [sort_column.desc(), tie.desc()] if filters.descending else [sort_column.asc(), tie.asc()]
    )
    if sort_column.expression.nullable:  # NOT NULL columns keep an ORDER BY an index serves
        ordering[0] = ordering[0].nulls_last()
    # The page's ids first (ordered and cut in SQL, often from an index alone), then only
    # those 50 rows: ordering the matches as whole rows sorted every wide row at 100k.
    page_order = [
        row_id for row_id in session.exec(ids.order_by(*ordering).limit(limit).offset(offset))
    ]
    past_end, unconfirmed = _stale_conditions(today)
    fetched = session.exec(
        select(
            Initiative,
            Organisation.name,
            case((past_end, True), else_=False),
            case((unconfirmed, True), else_=False),
        )
        .join(Organisation, col(Organisation.id) == Initiative.lead_organisation_id)
        .where(col(Initiative.id).in_(page_order))
    ).all()
    position = {row_id: n for n, row_id in enumerate(page_order)}
    rows = sorted(fetched, key=lambda row: position[row[0].id])
    page_ids = [initiative.id for initiative, *_rest in rows]
    areas: dict[int, list[str]] = defaultdict(list)
    for initiative_id, code in session.exec(
        select(InitiativeArea.initiative_id, InitiativeArea.area_code)
        .where(col(InitiativeArea.initiative_id).in_(page_ids))
        .order_by(col(InitiativeArea.area_code))
    ).all():
        areas[initiative_id].append(code)
    return [
        InitiativeRow(
            id=initiative.id or 0,
            code=initiative.code,
            title=initiative.title,
            organisation=organisation,
            category=initiative.category,
            status=initiative.status,
            review_state=initiative.review_state,
            planned_start=initiative.planned_start,
            planned_end=initiative.planned_end,
            people_targeted=initiative.people_targeted,
            people_reached=initiative.people_reached,
            areas=areas.get(initiative.id or 0, []),
            has_pending_edit=initiative.pending_changes is not None,
            past_end=bool(is_past_end),
            unconfirmed=bool(is_unconfirmed),
            updated_at=initiative.updated_at,
        )
        for initiative, organisation, is_past_end, is_unconfirmed in rows
    ], total


@dataclass(frozen=True)
class QueueItem:
    initiative_id: int
    code: str
    title: str
    organisation: str
    kind: str  # "new" or "edit"
    waiting_since: Any
    version: int


def review_queue(*, session: Session, actor: Principal | None) -> list[QueueItem]:
    """New submissions and proposed edits, oldest first."""
    require_staff(actor)
    waiting = or_(
        col(Initiative.review_state) == ReviewState.SUBMITTED,
        col(Initiative.pending_changes).is_not(None),
    )
    since = func.coalesce(Initiative.pending_submitted_at, Initiative.submitted_at)
    rows = session.exec(
        select(Initiative, Organisation.name)
        .join(Organisation, col(Organisation.id) == Initiative.lead_organisation_id)
        .where(waiting, col(Initiative.review_state) != ReviewState.WITHDRAWN)
        .order_by(since.asc(), col(Initiative.id))
    ).all()
    return [
        QueueItem(
            initiative_id=i.id or 0,
            code=i.code,
            title=i.title,
            organisation=name,
            kind="edit" if i.pending_changes is not None else "new",
            waiting_since=i.pending_submitted_at or i.submitted_at,
            version=i.version,
        )
        for i, name in rows
    ]


def review_queue_size(*, session: Session, actor: Principal | None) -> int:
    """How many items ``review_queue`` lists, counted in SQL (the overview's figure)."""
    require_staff(actor)
    waiting = or_(
        col(Initiative.review_state) == ReviewState.SUBMITTED,
        col(Initiative.pending_changes).is_not(None),
    )
    return int(
        session.exec(
            select(func.count())
            .select_from(Initiative)
            .join(Organisation, col(Organisation.id) == Initiative.lead_organisation_id)
            .where(waiting, col(Initiative.review_state) != ReviewState.WITHDRAWN)
        ).one()
    )


def counts_by(
    *, session: Session, actor: Principal | None, dimension: str, published_only: bool = False
) -> dict[str, int]:
    """Counts for the dashboard: category, status, review_state, area, target_group, month."""
    require_staff(actor)
    scope = (
        col(Initiative.review_state) == ReviewState.PUBLISHED
        if published_only
        else (col(Initiative.review_state) != ReviewState.WITHDRAWN)
    )
    if dimension in {"category", "status", "review_state"}:
        column = getattr(Initiative, dimension)
        query = select(column, func.count()).where(scope).group_by(column)
    elif dimension == "area":
        query = (
            select(InitiativeArea.area_code, func.count())
            .join(Initiative, col(Initiative.id) == InitiativeArea.initiative_id)
            .where(scope)
            .group_by(InitiativeArea.area_code)
        )
    elif dimension == "target_group":
        query = (
            select(InitiativeTargetGroup.code, func.count())
            .join(Initiative, col(Initiative.id) == InitiativeTargetGroup.initiative_id)
            .where(scope)
            .group_by(InitiativeTargetGroup.code)
        )
    elif dimension == "month":
        rows = session.exec(
            select(col(Initiative.planned_start)).where(
                scope, col(Initiative.planned_start).is_not(None)
            )
        ).all()
        months: dict[str, int] = defaultdict(int)
        for started in rows:
            months[started.strftime("%Y-%m")] += 1  # type: ignore[union-attr]
        return dict(sorted(months.items()))
    else:
        raise ValueError(f"unknown dimension {dimension}")
    return {str(key): int(count) for key, count in session.exec(query).all()}


def freshness_counts(
    *, session: Session, actor: Principal | None, today: date | None = None
) -> dict[str, int]:
    require_staff(actor)
    today = today or utcnow().date()
    past_end, unconfirmed = _stale_conditions(today)
    published = col(Initiative.review_state) == ReviewState.PUBLISHED
    row = session.exec(
        select(
            func.sum(case((and_(published, past_end), 1), else_=0)),
            func.sum(case((and_(published, unconfirmed), 1), else_=0)),
        )
    ).one()
    return {"past_end": int(row[0] or 0), "unconfirmed": int(row[1] or 0)}


def list_public(
    *, session: Session, filters: RegistryFilter | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[InitiativePublic], int]:
    """Published initiatives in the public shape (no contacts, no review notes)."""
    filters = filters or RegistryFilter()
    filters.review_state = ReviewState.PUBLISHED
    ids = _filtered(None, filters, utcnow().date())
    if filters.public_text:
        condition = stemmed_search(session=session, text=filters.public_text)
        if condition is not None:
            ids = ids.where(condition)
    total = int(session.exec(select(func.count()).select_from(ids.subquery())).one())
    initiatives = session.exec(
        select(Initiative)
        .where(col(Initiative.id).in_(ids))
        .order_by(col(Initiative.updated_at).desc(), col(Initiative.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return public_shapes(session=session, initiatives=list(initiatives)), total


def get_public_initiative(*, session: Session, code: str) -> InitiativePublic:
    """A published initiative's public shape by its code. Never published: NotFound;
    published once and since withdrawn or taken down: Gone."""
    initiative = session.exec(select(Initiative).where(col(Initiative.code) == code)).first()
    if initiative is None or (
        initiative.review_state is not ReviewState.PUBLISHED and initiative.published_at is None
    ):
        raise NotFound(_("There is no published initiative {code}.").format(code=code))
    if initiative.review_state is not ReviewState.PUBLISHED:
        raise Gone(_("Initiative {code} is no longer published.").format(code=code))
    return public_shapes(session=session, initiatives=[initiative])[0]


def public_shapes(*, session: Session, initiatives: list[Initiative]) -> list[InitiativePublic]:
    """Build public shapes for many initiatives with one query per side table."""
    ids = [i.id for i in initiatives]
    if not ids:
        return []
    names = dict(session.exec(select(Organisation.id, Organisation.name)).all())
    areas, groups, channels, participants = (defaultdict(list) for _ in range(4))
    roles: defaultdict[int, list[ParticipantPublic]] = defaultdict(list)
    for i, code in session.exec(
        select(InitiativeArea.initiative_id, InitiativeArea.area_code).where(
            col(InitiativeArea.initiative_id).in_(ids)
        )
    ).all():
        areas[i].append(code)
    for i, code in session.exec(
        select(InitiativeTargetGroup.initiative_id, InitiativeTargetGroup.code).where(
            col(InitiativeTargetGroup.initiative_id).in_(ids)
        )
    ).all():
        groups[i].append(code)
    for i, channel in session.exec(
        select(InitiativeChannel.initiative_id, InitiativeChannel.channel).where(
            col(InitiativeChannel.initiative_id).in_(ids)
        )
    ).all():
        channels[i].append(channel)
    for i, organisation_id, role in session.exec(
        select(
            InitiativeParticipant.initiative_id,
            InitiativeParticipant.organisation_id,
            InitiativeParticipant.role,
        ).where(col(InitiativeParticipant.initiative_id).in_(ids))
    ).all():
        participants[i].append(names.get(organisation_id, ""))
        roles[i].append(ParticipantPublic(organisation=names.get(organisation_id, ""), role=role))
    return [
        InitiativePublic(
            id=i.id or 0,
            code=i.code,
            title=i.title,
            description=i.description,
            organisation=names.get(i.lead_organisation_id, ""),
            participants=sorted(participants[i.id or 0]),
            participant_roles=sorted(
                roles[i.id or 0], key=lambda p: (p.organisation, p.role.value)
            ),
            category=i.category,
            target_groups=sorted(groups[i.id or 0]),
            areas=sorted(areas[i.id or 0]),
            channels=sorted(channels[i.id or 0]),
            start_date=i.actual_start or i.planned_start,
            end_date=i.actual_end or i.planned_end,
            status=i.status,
            people_targeted=i.people_targeted,
            people_reached=i.people_reached,
            cost=i.cost,
            link=i.link,
            updated_at=i.updated_at,
        )
        for i in initiatives
    ]


@dataclass(frozen=True)
class PublishedReach:
    """A published initiative as the connectivity gap score reads it (the attribute names
    of ``connectivity.gaps.InitiativeReach``; this package knows nothing of connectivity)."""

    initiative_id: int
    title: str
    organisation: str
    status: str
    category: str
    channels: tuple[str, ...]
    area_codes: tuple[str, ...]
    people_reached: int | None
    people_targeted: int | None


def published_reach(*, session: Session) -> list[PublishedReach]:
    """Published initiatives as the connectivity gap score reads them, newest first.

    Plain column rows, one query per table (no ORM objects, no public shapes): the gap
    map reads every published initiative, 50,000 of them at real size (issue 21)."""
    ids = _filtered(None, RegistryFilter(review_state=ReviewState.PUBLISHED), utcnow().date())
    names = dict(session.exec(select(Organisation.id, Organisation.name)).all())
    areas: defaultdict[int, list[str]] = defaultdict(list)
    channels: defaultdict[int, list[str]] = defaultdict(list)
    for i, code in session.exec(
        select(InitiativeArea.initiative_id, InitiativeArea.area_code).where(
            col(InitiativeArea.initiative_id).in_(ids)
        )
    ).all():
        areas[i].append(code)
    for i, channel in session.exec(
        select(InitiativeChannel.initiative_id, InitiativeChannel.channel).where(
            col(InitiativeChannel.initiative_id).in_(ids)
        )
    ).all():
        channels[i].append(str(channel))  # StrEnum: str() is the value, and cheaper
    rows = session.execute(
        sa.select(  # seven columns: more than sqlmodel's select is typed for
            col(Initiative.id),
            col(Initiative.title),
            col(Initiative.lead_organisation_id),
            col(Initiative.status),
            col(Initiative.category),
            col(Initiative.people_reached),
            col(Initiative.people_targeted),
        )
        .where(col(Initiative.id).in_(ids))
        .order_by(col(Initiative.updated_at).desc(), col(Initiative.id).desc())
    ).all()
    return [
        PublishedReach(
            initiative_id=i or 0,
            title=title,
            organisation=names.get(lead, ""),
            status=str(status),
            category=category,
            channels=tuple(sorted(channels[i or 0])),
            area_codes=tuple(sorted(areas[i or 0])),
            people_reached=reached,
            people_targeted=targeted,
        )
        for i, title, lead, status, category, reached, targeted in rows
    ]


@dataclass(frozen=True)
class FormChoices:
    """Everything an initiative form offers, looked up once per page run."""

    organisations: dict[int, str]
    categories: dict[str, str]
    target_groups: dict[str, str]
    areas: dict[str, str]


def form_choices(*, session: Session, language: str) -> FormChoices:
    organisations = {
        organisation_id: name
        for organisation_id, name in session.exec(
            select(Organisation.id, Organisation.name)
            .where(col(Organisation.active).is_(True))
            .order_by(func.lower(Organisation.name))
        ).all()
        if organisation_id is not None
    }
    names = area_names(session=session)
    # Country first, then districts (PT-xx), then municipalities, each by name.
    ordered = sorted(
        names, key=lambda code: (len(code) != 2, not code.startswith("PT-"), names[code])
    )
    return FormChoices(
        organisations=organisations,
        categories=term_labels(session=session, kind=VocabularyKind.CATEGORY, language=language),
        target_groups=term_labels(
            session=session, kind=VocabularyKind.TARGET_GROUP, language=language
        ),
        areas={code: f"{names[code]} ({code})" for code in ordered},
    )


def related_for_export(*, session: Session) -> dict[int, list[str]]:
    """Initiative id -> codes of the initiatives of the same joint effort (IATI
    related-activity type 4), in both directions."""
    rows = session.exec(select(InitiativeLink).where(InitiativeLink.kind == LinkKind.JOINT)).all()
    if not rows:
        return {}
    ids = {r.initiative_id for r in rows} | {r.other_initiative_id for r in rows}
    codes = dict(
        session.exec(
            select(Initiative.id, Initiative.code).where(col(Initiative.id).in_(ids))
        ).all()
    )
    related: dict[int, list[str]] = defaultdict(list)
    for r in rows:
        related[r.initiative_id].append(codes[r.other_initiative_id])
        related[r.other_initiative_id].append(codes[r.initiative_id])
    return {k: sorted(set(v)) for k, v in related.items()}
