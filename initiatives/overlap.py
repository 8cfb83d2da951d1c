"""Overlap detection over the registry: the per-database index, staff decisions, merges,
links, the partner's warning while submitting, the coverage grid and the batch check.

The engine itself (features, candidates, scoring, explanations) is in
``initiatives.overlap_index``; the design and its figures are in docs/overlaps.md.

Where the index lives: in the process, one per database URL, built from the database on
first use. Every use first reads a cheap watermark (highest id and latest
``updated_at``); when another process (or a bulk import) changed rows, only those rows
are read again and replaced in the index, so a save (by this process or any other) is
seen by the next read without the services calling in here. After much churn the index
is rebuilt from the database (IDF refitted). Nothing about the index is stored;
decisions are, with fingerprints of both records' material content.

Why one module (about 800 lines): every part reads the same per-database index cache and
the same decisions and links; split, the cache's internals would cross modules.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy import select as select_columns  # more columns than sqlmodel types
from sqlmodel import Session, col, select

from geo.areas import area_hierarchy, area_names, country_code
from hub import settings
from hub.audit import record_change, snapshot
from hub.auth import Principal, require_staff
from hub.clean import strip_controls
from hub.errors import InvalidInput, NotFound, PermissionDenied
from hub.i18n import _, format_date
from hub.records import utcnow
from hub.text import fold_ascii
from initiatives import workflow
from initiatives.exchange.tables import area_code, parse_date, read_table, split_cell
from initiatives.models import (
    REVIEW_STATE_LABELS,
    Initiative,
    InitiativeArea,
    InitiativeDraft,
    InitiativeTargetGroup,
    ReviewState,
)
from initiatives.overlap_index import (
    AreaTree,
    OverlapIndex,
    OverlapRecord,
    PairScore,
    clusters,
)
from initiatives.overlap_models import (
    Decision,
    InitiativeLink,
    LinkKind,
    OverlapDecision,
    OverlapNote,
)
from initiatives.records import full_snapshot, save_initiative
from initiatives.service import can_see, get_initiative, require_lead
from partners import webhooks
from partners.models import Organisation

# Not compared: a withdrawn or rejected initiative is no longer an effort anyone runs.
INDEXED_STATES = frozenset(
    {
        ReviewState.DRAFT,
        ReviewState.SUBMITTED,
        ReviewState.PUBLISHED,
        ReviewState.CHANGES_REQUESTED,
    }
)
# Rows whose commit lands later than a newer row's (concurrent writers) are still seen.
WATERMARK_MARGIN = timedelta(minutes=2)
REFIT_CHURN = 0.2  # rebuild (and refit IDF) when this share of rows changed since
CACHE_SIZE = 4


def threshold() -> float:
    return float(settings.get("HUB_OVERLAP_THRESHOLD"))


def warn_threshold() -> float:
    return float(settings.get("HUB_OVERLAP_WARN_THRESHOLD"))


def top_k() -> int:
    return int(settings.get("HUB_OVERLAP_TOP_K"))


# --- records from the database -----------------------------------------------------------


def area_tree(*, session: Session) -> AreaTree:
    return AreaTree(
        parents=area_hierarchy(session=session),
        country=country_code(),
        names=area_names(session=session),
    )


def _records(session: Session, initiatives: Sequence[Any]) -> list[OverlapRecord]:
    ids = [row.id for row in initiatives]
    areas: dict[int, set[str]] = defaultdict(set)
    groups: dict[int, set[str]] = defaultdict(set)
    for part in _chunks(ids):
        for initiative_id, code in session.exec(
            select(InitiativeArea.initiative_id, InitiativeArea.area_code).where(
                col(InitiativeArea.initiative_id).in_(part)
            )
        ).all():
            areas[initiative_id].add(code)
        for initiative_id, code in session.exec(
            select(InitiativeTargetGroup.initiative_id, InitiativeTargetGroup.code).where(
                col(InitiativeTargetGroup.initiative_id).in_(part)
            )
        ).all():
            groups[initiative_id].add(code)
    return [
        OverlapRecord(
            key=str(row.id),
            title=row.title,
            description=row.description,
            organisation=str(row.lead_organisation_id),
            category=row.category,
            target_groups=frozenset(groups[row.id]),
            areas=frozenset(areas[row.id]),
            start=row.planned_start or row.actual_start,
            end=row.planned_end or row.actual_end,
            state=row.review_state.value,
        )
        for row in initiatives
    ]


_COLUMNS = (
    Initiative.id,
    Initiative.title,
    Initiative.description,
    Initiative.lead_organisation_id,
    Initiative.category,
    Initiative.planned_start,
    Initiative.planned_end,
    Initiative.actual_start,
    Initiative.actual_end,
    Initiative.review_state,
)


def _chunks(values: Sequence[int], size: int = 900) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def registry_records(
    *,
    session: Session,
    since: datetime | None = None,
    above_id: int | None = None,
    ids: Sequence[int] | None = None,
) -> tuple[list[OverlapRecord], list[str]]:
    """Indexed records, and keys of rows that left the index (withdrawn, rejected): all,
    those changed since ``since`` (or above ``above_id``), or those of ``ids``."""
    query: Any = select(*_COLUMNS)  # type: ignore[call-overload]
    if since is not None:
        query = query.where(_changed_since(since, above_id))
    if ids is not None:
        rows = [
            row
            for part in _chunks(sorted(ids))
            for row in session.exec(query.where(col(Initiative.id).in_(part))).all()
        ]
    else:
        rows = session.exec(query.order_by(col(Initiative.id))).all()
    live = [r for r in rows if r.review_state in INDEXED_STATES]
    gone = [str(r.id) for r in rows if r.review_state not in INDEXED_STATES]
    return _records(session, live), gone


def record_of_draft(draft: InitiativeDraft, key: str = "draft") -> OverlapRecord:
    return OverlapRecord(
        key=key,
        title=draft.title,
        description=draft.description,
        organisation=str(draft.lead_organisation_id or ""),
        category=draft.category,
        target_groups=frozenset(draft.target_groups),
        areas=frozenset(draft.areas),
        start=draft.planned_start or draft.actual_start,
        end=draft.planned_end or draft.actual_end,
    )


# --- the per-database index ------------------------------------------------------------


@dataclass
class _Entry:
    index: OverlapIndex
    watermark: tuple[int, datetime | None]
    lock: threading.Lock = field(default_factory=threading.Lock)
    pairs: dict[tuple[int, float], list[PairScore]] = field(default_factory=dict)
    # (version, updated_at) of the rows inside the watermark's margin, as last read: a
    # catch-up re-reads only rows whose stamp differs, not every row of the margin.
    recent: dict[int, tuple[int, datetime | None]] = field(default_factory=dict)


def _changed_since(since: datetime, above_id: int | None) -> Any:
    return or_(col(Initiative.updated_at) >= since, col(Initiative.id) > (above_id or 0))


def _margin_start(mark: tuple[int, datetime | None]) -> datetime:
    seen_at = mark[1]
    # An empty registry has no watermark: everything is newer (aware, as the column is).
    return (seen_at - WATERMARK_MARGIN) if seen_at else datetime.min.replace(tzinfo=UTC)


def _stamps(
    session: Session, mark: tuple[int, datetime | None]
) -> dict[int, tuple[int, datetime | None]]:
    """(version, updated_at) of every row inside ``mark``'s margin, or newer."""
    rows = session.exec(
        select(Initiative.id, Initiative.version, Initiative.updated_at).where(
            _changed_since(_margin_start(mark), mark[0])
        )
    ).all()
    return {int(i or 0): (version, at) for i, version, at in rows}


_CACHE: OrderedDict[str, _Entry] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _database_key(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=False)


def _watermark(session: Session) -> tuple[int, datetime | None]:
    highest, latest = session.exec(
        select(func.max(Initiative.id), func.max(Initiative.updated_at))
    ).one()
    return int(highest or 0), latest


def registry_index(*, session: Session) -> OverlapIndex:
    """The index of this session's database, brought up to date with the database."""
    key = _database_key(session)
    mark = _watermark(session)
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
        if entry is not None:
            _CACHE.move_to_end(key)
    if entry is None:
        stamps = _stamps(session, mark)  # before the records: a row changed between is re-read
        records, _gone = registry_records(session=session)
        entry = _Entry(
            index=OverlapIndex.build(
                records, area_tree(session=session), top_k=top_k(), keep_fingerprints=True
            ),
            watermark=mark,
            recent=stamps,
        )
        with _CACHE_LOCK:
            _CACHE[key] = entry
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        return entry.index
    if mark != entry.watermark:
        with entry.lock:
            _catch_up(session, entry, mark)
    return entry.index


def _catch_up(session: Session, entry: _Entry, mark: tuple[int, datetime | None]) -> None:
    if mark == entry.watermark:
        return
    if entry.index.churn > REFIT_CHURN:
        stamps = _stamps(session, mark)
        records, _gone = registry_records(session=session)
        entry.index = OverlapIndex.build(
            records, area_tree(session=session), top_k=top_k(), keep_fingerprints=True
        )
    else:
        # Every row of the old margin or newer; re-read those whose stamp is new to us.
        stamps = _stamps(session, entry.watermark)
        changed = [i for i, stamp in stamps.items() if entry.recent.get(i) != stamp]
        records, gone = registry_records(session=session, ids=changed)
        entry.index.remove(gone)
        entry.index.upsert(records)
    entry.recent = stamps
    entry.watermark = mark
    entry.pairs.clear()


def refresh_loaded_index(*, session: Session) -> None:
    """After a save: bring this database's index up to date, if this process holds one.

    Called after a staff decision's commit. The index is a cache: a failure here
    must not turn a saved record into an error, so it only drops the cached index."""
    key = _database_key(session)
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
    if entry is None:
        return
    try:
        with entry.lock:
            _catch_up(session, entry, _watermark(session))
    except Exception:  # rebuilt from the database on next use
        with _CACHE_LOCK:
            _CACHE.pop(key, None)


def forget_indexes() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


# --- staff: pairs, groups, decisions -----------------------------------------------------


@dataclass(frozen=True)
class OverlapPair:
    initiative_a_id: int
    initiative_b_id: int
    score: float
    explanation: str
    parts: tuple[tuple[str, str, float, str], ...]
    decision: Decision | None = None  # a past decision whose records have since changed


def _as_pair(p: PairScore, decision: Decision | None = None) -> OverlapPair:
    a, b = sorted((int(p.key_a), int(p.key_b)))
    return OverlapPair(a, b, p.score, p.explanation, p.parts, decision)


def find_overlaps(
    *,
    session: Session,
    actor: Principal | None,
    min_score: float | None = None,
    include_decided: bool = False,
) -> list[OverlapPair]:
    """Candidate pairs above the threshold, highest score first. A pair staff decided is
    left out while neither record has changed materially since."""
    require_staff(actor)
    cut = threshold() if min_score is None else min_score
    index = registry_index(session=session)
    key = _database_key(session)
    entry = _CACHE.get(key)
    cache_key = (index.generation, cut)
    if entry is not None and cache_key in entry.pairs:
        scored = entry.pairs[cache_key]
    else:
        scored = index.find_pairs(cut)
        if entry is not None:
            entry.pairs = {cache_key: scored}
    decided = _decisions(session)
    out: list[OverlapPair] = []
    for p in scored:
        pair = _as_pair(p)
        decision = decided.get((pair.initiative_a_id, pair.initiative_b_id))
        if decision is not None:
            if _still_valid(index, decision):
                if include_decided:
                    out.append(_as_pair(p, decision.decision))
                continue
            pair = _as_pair(p, decision.decision)
        out.append(pair)
    return out


def _decisions(session: Session) -> dict[tuple[int, int], OverlapDecision]:
    return {
        (d.initiative_a_id, d.initiative_b_id): d for d in session.exec(select(OverlapDecision))
    }


def _still_valid(index: OverlapIndex, decision: OverlapDecision) -> bool:
    def current(initiative_id: int) -> str | None:
        n = index.position.get(str(initiative_id))
        return index.fingerprints[n] if n is not None else None

    return (
        current(decision.initiative_a_id) == decision.fingerprint_a
        and current(decision.initiative_b_id) == decision.fingerprint_b
    )


def initiative_titles(*, session: Session, ids: Iterable[int]) -> dict[int, str]:
    """ "CODE · title" of each initiative, for lists of pairs."""
    wanted = sorted(ids)
    titles: dict[int, str] = {}
    for part in _chunks(wanted):
        for initiative_id, code, title in session.exec(
            select(Initiative.id, Initiative.code, Initiative.title).where(
                col(Initiative.id).in_(part)
            )
        ).all():
            titles[initiative_id or 0] = f"{code} · {title}"
    return titles


def overlap_groups(pairs: Sequence[OverlapPair]) -> list[list[int]]:
    """Initiatives linked by pairs, as groups (connected components), largest first."""
    scored = [
        PairScore(str(p.initiative_a_id), str(p.initiative_b_id), p.score, p.parts) for p in pairs
    ]
    return [sorted(int(k) for k in group) for group in clusters(scored)]


def score_pair(
    *, session: Session, actor: Principal | None, initiative_a_id: int, initiative_b_id: int
) -> OverlapPair:
    """The score and explanation of one pair (for the side-by-side view)."""
    require_staff(actor)
    first, second = _load_pair(session, initiative_a_id, initiative_b_id)
    record_a, record_b = _records(session, [first, second])
    index = registry_index(session=session)
    position = index.position.get(record_b.key)
    if position is None:
        index.upsert([record_b])
        position = index.position[record_b.key]
    [scored] = index.score_against(record_a, [position])
    return _as_pair(scored)


def _load_pair(session: Session, a: int, b: int) -> tuple[Initiative, Initiative]:
    if a == b:
        raise InvalidInput(_("Choose two different initiatives."))
    first, second = session.get(Initiative, a), session.get(Initiative, b)
    if first is None or second is None:
        raise NotFound(_("That initiative does not exist."))
    return first, second


def decide_pair(
    *,
    session: Session,
    actor: Principal | None,
    initiative_a_id: int,
    initiative_b_id: int,
    decision: Decision | str,
    reason: str = "",
    keep_id: int | None = None,
) -> OverlapDecision:
    """Record staff's decision on a pair; "duplicate" also merges, "joint" also links.

    Everything (decision, merge, link, history, audit entries) is one transaction."""
    actor = require_staff(actor)
    decision = Decision(decision)
    reason = strip_controls(reason, multiline=True).strip()[:2000]
    if decision is Decision.COMPLEMENTARY and not reason:
        raise InvalidInput(
            _("Reason: say how the two initiatives complement each other."), field="reason"
        )
    a, b = sorted((initiative_a_id, initiative_b_id))
    first, second = _load_pair(session, a, b)
    scored = score_pair(session=session, actor=actor, initiative_a_id=a, initiative_b_id=b)
    record_a, record_b = _records(session, [first, second])
    existing = session.exec(
        select(OverlapDecision).where(
            OverlapDecision.initiative_a_id == a, OverlapDecision.initiative_b_id == b
        )
    ).first()
    before = snapshot(existing) if existing else None
    row = existing or OverlapDecision(
        initiative_a_id=a, initiative_b_id=b, decision=decision, fingerprint_a="", fingerprint_b=""
    )
    row.decision = decision
    row.reason = reason
    row.score = scored.score
    row.explanation = scored.explanation
    row.fingerprint_a = record_a.material_fingerprint()
    row.fingerprint_b = record_b.material_fingerprint()
    row.decided_by = actor.label
    row.decided_by_id = actor.account_id
    row.decided_at = utcnow()
    session.add(row)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        action="overlap_decision",
        entity_type="overlap_decision",
        entity_id=row.id,
        before=before,
        after=snapshot(row),
        summary=f"{decision.value}: {first.code} / {second.code}",
    )
    if decision is Decision.DUPLICATE:
        keep_id = keep_id if keep_id in (a, b) else a
        kept, merged = (first, second) if keep_id == a else (second, first)
        if merged.review_state is ReviewState.WITHDRAWN:
            raise InvalidInput(_("That initiative was already withdrawn."))
        merged_before = full_snapshot(session=session, initiative=merged)
        workflow.withdraw(
            merged,
            note=_("Merged into {code} by the coordination office.").format(code=kept.code),
        )
        save_initiative(
            session=session,
            actor=actor,
            initiative=merged,
            action="merge",
            version_action="merge_withdraw",
            before=merged_before,
            summary=f"merged into {kept.code}",
            commit=False,
        )
        _link(session, actor, kept, merged, LinkKind.MERGED)
    elif decision is Decision.JOINT:
        _link(session, actor, first, second, LinkKind.JOINT)
    if decision is not Decision.UNRELATED:  # to both partners (issue 17)
        webhooks.emit(
            session=session,
            event_type="overlap.flagged",
            organisation_ids=[first.lead_organisation_id, second.lead_organisation_id],
            data={
                "codes": [first.code, second.code],
                "decision": decision.value,
                "score": round(scored.score, 3),
                "explanation": scored.explanation,
            },
        )
    session.commit()
    refresh_loaded_index(session=session)
    return row


def _link(
    session: Session, actor: Principal, source: Initiative, target: Initiative, kind: LinkKind
) -> None:
    """Link two initiatives. A partner's link never changes one that exists between the
    two (either way round): a staff decision (joint effort, merge) stays as staff set it."""
    assert source.id is not None and target.id is not None
    link = session.get(InitiativeLink, (source.id, target.id))
    if not actor.is_staff and (
        link is not None or session.get(InitiativeLink, (target.id, source.id)) is not None
    ):
        return
    if link is None:
        link = InitiativeLink(initiative_id=source.id, other_initiative_id=target.id, kind=kind)
    link.kind = kind
    link.created_by = actor.label
    link.created_at = utcnow()
    session.add(link)
    record_change(
        session=session,
        actor=actor,
        action=f"link_{kind.value}",
        entity_type="initiative",
        entity_id=source.id,
        after={"linked": target.code, "kind": kind.value},
        summary=f"{kind.value}: {source.code} -> {target.code}",
    )


def links_of(*, session: Session, initiative_id: int) -> list[tuple[LinkKind, str]]:
    """(kind, other code) of every link of an initiative, both directions."""
    rows = session.exec(
        select(InitiativeLink).where(
            or_(
                col(InitiativeLink.initiative_id) == initiative_id,
                col(InitiativeLink.other_initiative_id) == initiative_id,
            )
        )
    ).all()
    others = {
        i.id: i.code
        for i in session.exec(
            select(Initiative).where(
                col(Initiative.id).in_(
                    [r.other_initiative_id for r in rows] + [r.initiative_id for r in rows]
                )
            )
        )
    }
    return [
        (
            r.kind,
            others.get(
                r.other_initiative_id if r.initiative_id == initiative_id else r.initiative_id, ""
            ),
        )
        for r in rows
    ]


# --- partners: similar initiatives while filling in the form -----------------------------


@dataclass(frozen=True)
class SimilarInitiative:
    initiative_id: int
    code: str
    title: str
    organisation: str
    areas: list[str]
    start: date | None
    end: date | None
    target_groups: list[str]
    score: float
    explanation: str


def similar_to_draft(
    *,
    session: Session,
    actor: Principal | None,
    draft: InitiativeDraft,
    limit: int = 5,
    exclude_id: int | None = None,
    min_score: float | None = None,
) -> list[SimilarInitiative]:
    """The closest existing initiatives to a draft, and why. A partner sees published
    initiatives and their own organisation's; staff see all. ``min_score`` (default the
    warn threshold) 0 gives the nearest ones even when none is similar enough to warn."""
    if actor is None:
        raise PermissionDenied(_("Please sign in first."))
    if not draft.title.strip() and not draft.description.strip():
        return []
    index = registry_index(session=session)
    record = record_of_draft(draft, key=str(exclude_id) if exclude_id else "draft")
    positions = index.query(record, limit=max(limit * 4, 20))
    visible = [
        n
        for n in positions
        if actor.is_staff
        or index.states[n] == ReviewState.PUBLISHED.value
        or _own(session, actor, index.keys[n])
    ]
    floor = warn_threshold() if min_score is None else min_score
    scored = [s for s in index.score_against(record, visible) if s.score >= floor]
    scored.sort(key=lambda s: -s.score)
    scored = scored[:limit]
    if not scored:
        return []
    ids = [int(s.key_b) for s in scored]
    rows = {
        i.id: (i, name)
        for i, name in session.exec(
            select(Initiative, Organisation.name)
            .join(Organisation, col(Organisation.id) == Initiative.lead_organisation_id)
            .where(col(Initiative.id).in_(ids))
        ).all()
    }
    records = {int(r.key): r for r in _records(session, [rows[i][0] for i in ids if i in rows])}
    out = []
    for s in scored:
        found = rows.get(int(s.key_b))
        if found is None:
            continue
        initiative, organisation = found
        r = records[int(s.key_b)]
        out.append(
            SimilarInitiative(
                initiative_id=initiative.id or 0,
                code=initiative.code,
                title=initiative.title,
                organisation=organisation,
                areas=sorted(r.areas),
                start=r.start,
                end=r.end,
                target_groups=sorted(r.target_groups),
                score=s.score,
                explanation=s.explanation,
            )
        )
    return out


# --- partners: their own earlier initiative with (nearly) the same title -----------------

# Why a rule apart from the duplicate score: the fitted score weighs "same organisation"
# (-3.0) and "dates do not overlap" (-9.75) against a duplicate, rightly (a partner's
# 2021 edition is not a duplicate of its 2020 one), so a renewal scores about 0.004 and
# is never shown. The question for the partner is another one: "is this a renewal or an
# update of that one?", asked on the title alone, whatever the dates.
#
# Threshold: Jaccard similarity of the titles' character trigrams, after folding accents
# and case and dropping punctuation, numbers and edition words ("2.ª edição", "2021").
# On the labelled overlap benchmark (benchmarks/data/overlap_labelled.csv and
# overlap_pairs.csv, 2026-12-02) 0.8 catches 216 of 222 same-partner resubmissions of
# one effort (97 %; the median pair is 0.92) and 77 of the 62,343 same-organisation
# pairs of different efforts (0.12 %; the hard negatives "same partner, other effort"
# reach at most 0.53). 0.7 catches no more resubmissions and half as many false ones
# again (115); 0.9 misses 67 resubmissions (30 %). "Teleconsultas ... em Lisboa"
# against "... no Porto" is 0.63: not flagged. The figures are re-checked by
# tests/unit/test_overlap_own.py on the same files.
OWN_TITLE_SIMILARITY = 0.8
OWN_EARLIER_LIMIT = 3
_TITLE_WORD = re.compile(r"[a-z0-9]+")
_EDITION_WORDS = frozenset({"edicao", "edition", "fase", "phase"})
_ORDINAL = re.compile(r"\d+\s*\.?\s*[ªºᵃᵒ°]")  # "2.ª": NFKD would leave a word "a"


def title_key(title: str) -> str:
    """A title as compared for renewals: folded (``hub.text.fold_ascii``), words only,
    without numbers and edition words, so "Cabazes 2021 (2.ª edição)" is "cabazes"."""
    words = _TITLE_WORD.findall(fold_ascii(_ORDINAL.sub(" ", title)))
    return " ".join(w for w in words if w not in _EDITION_WORDS and not any(c.isdigit() for c in w))


def _trigrams(key: str) -> frozenset[str]:
    padded = f"  {key} "  # word starts weigh as much as middles
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def title_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two titles' trigrams (0..1) after ``title_key``."""
    return _jaccard(_trigrams(title_key(a)), _trigrams(title_key(b)))


def _jaccard(first: frozenset[str], second: frozenset[str]) -> float:
    union = first | second
    return len(first & second) / len(union) if union else 0.0


@dataclass(frozen=True)
class OwnEarlierInitiative:
    """One of the drafting organisation's own initiatives with nearly the same title:
    a renewal or an update of it, rather than a new record?"""

    initiative_id: int
    code: str
    title: str
    state: ReviewState
    start: date | None
    end: date | None
    similarity: float
    explanation: str


def _drafting_organisation(actor: Principal, draft: InitiativeDraft) -> int | None:
    """Whose records may be listed: a partner's own organisation, whatever the draft
    says; for staff drafting for an organisation, that organisation."""
    if actor.is_staff:
        return draft.lead_organisation_id
    return actor.organisation_id


def _own_explanation(
    similarity: float, row: Any, draft: InitiativeDraft, start: date | None, end: date | None
) -> str:
    def when(first: date | None, last: date | None) -> str:
        if first is None and last is None:
            return _("no dates")
        return "–".join((format_date(first) or "…", format_date(last) or _("no end date")))

    return _("title {percent} alike; theirs {theirs}, yours {yours}; status: {state}").format(
        percent=f"{round(similarity * 100)} %",
        theirs=when(start, end),
        yours=when(
            draft.planned_start or draft.actual_start, draft.planned_end or draft.actual_end
        ),
        state=_(REVIEW_STATE_LABELS[row.review_state]),
    )


def own_earlier_initiatives(
    *,
    session: Session,
    actor: Principal | None,
    draft: InitiativeDraft,
    exclude_id: int | None = None,
    limit: int = OWN_EARLIER_LIMIT,
) -> list[OwnEarlierInitiative]:
    """The drafting organisation's own initiatives whose title is very similar to the
    draft's (``OWN_TITLE_SIMILARITY``), whatever their dates, best first, at most
    ``limit``. Only that organisation's records are read (one query by organisation,
    on the review-state/lead index), so nothing of another organisation can show, and
    the work is bounded by one organisation's records, not the registry's."""
    if actor is None:
        raise PermissionDenied(_("Please sign in first."))
    organisation_id = _drafting_organisation(actor, draft)
    key = _trigrams(title_key(draft.title))
    if organisation_id is None or len(key) <= 2:  # no organisation, or no title words
        return []
    query = select_columns(
        col(Initiative.id),
        col(Initiative.code),
        col(Initiative.title),
        col(Initiative.review_state),
        col(Initiative.planned_start),
        col(Initiative.planned_end),
        col(Initiative.actual_start),
        col(Initiative.actual_end),
    ).where(
        col(Initiative.review_state).in_(list(INDEXED_STATES)),
        col(Initiative.lead_organisation_id) == organisation_id,
    )
    if exclude_id is not None:
        query = query.where(col(Initiative.id) != exclude_id)
    scored = []
    for row in session.execute(query).all():
        similarity = _jaccard(key, _trigrams(title_key(row.title)))
        if similarity >= OWN_TITLE_SIMILARITY:
            scored.append((similarity, row))
    scored.sort(key=lambda pair: (-pair[0], -(pair[1].id or 0)))  # ties: the latest first
    out = []
    for similarity, row in scored[:limit]:
        start = row.planned_start or row.actual_start
        end = row.planned_end or row.actual_end
        out.append(
            OwnEarlierInitiative(
                initiative_id=row.id,
                code=row.code,
                title=row.title,
                state=row.review_state,
                start=start,
                end=end,
                similarity=similarity,
                explanation=_own_explanation(similarity, row, draft, start, end),
            )
        )
    return out


def _own(session: Session, actor: Principal, key: str) -> bool:
    lead = session.exec(select(Initiative.lead_organisation_id).where(Initiative.id == int(key)))
    return lead.first() == actor.organisation_id


def note_overlap_response(
    *,
    session: Session,
    actor: Principal | None,
    initiative_id: int,
    shown_ids: Sequence[int],
    related_ids: Sequence[int],
    note: str = "",
) -> int:
    """Store what the partner said about the similar initiatives they were shown: which
    are related (linked), and how theirs differs from the others. Returns rows written.

    Only initiatives the partner may see (published, or their organisation's) can be
    named; any other id is refused exactly as one that does not exist, so the answer
    tells nothing about records the partner was never shown."""
    initiative = get_initiative(session=session, actor=actor, initiative_id=initiative_id)
    actor = require_lead(
        session=session, actor=actor, initiative=initiative, action="answer overlap warning"
    )
    note = strip_controls(note, multiline=True).strip()[:2000]
    others: list[Initiative] = []
    for other_id in dict.fromkeys([*shown_ids, *related_ids]):
        if other_id == initiative_id:
            continue
        other = session.get(Initiative, other_id)
        if other is None or not (
            other.review_state is ReviewState.PUBLISHED
            or can_see(session=session, actor=actor, initiative=other)
        ):
            raise NotFound(_("That initiative does not exist."))
        others.append(other)
    written = 0
    for other in others:
        other_id = other.id or 0
        related = other_id in related_ids
        if not related and not note:
            continue
        row = OverlapNote(
            initiative_id=initiative_id,
            other_initiative_id=other_id,
            related=related,
            note=note,
            author=actor.label,
        )
        session.add(row)
        session.flush()
        record_change(
            session=session,
            actor=actor,
            action="overlap_note",
            entity_type="overlap_note",
            entity_id=row.id,
            after=snapshot(row),
            summary=f"{initiative.code} / {other.code}",
        )
        if related:
            _link(session, actor, initiative, other, LinkKind.RELATED)
        written += 1
    session.commit()
    return written


def notes_for_pair(
    *, session: Session, actor: Principal | None, a: int, b: int
) -> list[OverlapNote]:
    require_staff(actor)
    return list(
        session.exec(
            select(OverlapNote).where(
                or_(
                    (col(OverlapNote.initiative_id) == a)
                    & (col(OverlapNote.other_initiative_id) == b),
                    (col(OverlapNote.initiative_id) == b)
                    & (col(OverlapNote.other_initiative_id) == a),
                )
            )
        ).all()
    )


# --- coverage -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    categories: list[str]
    areas: list[str]  # the country code first, then districts
    counts: dict[tuple[str, str], int]


def coverage(*, session: Session, actor: Principal | None) -> Coverage:
    """How many live initiatives act per category and district (municipalities count for
    their district; national initiatives in the country column)."""
    require_staff(actor)
    tree = area_tree(session=session)
    rows = session.exec(
        select(Initiative.id, Initiative.category, InitiativeArea.area_code)
        .join(InitiativeArea, col(InitiativeArea.initiative_id) == Initiative.id)
        .where(col(Initiative.review_state).in_(list(INDEXED_STATES)))
    ).all()
    seen: set[tuple[int, str, str]] = set()
    for initiative_id, category, code in rows:
        level = tree.level(code)
        column = code if level in {"country", "district"} else tree.district_of(code) or code
        seen.add((initiative_id or 0, category, column))
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for _id, category, column in seen:
        counts[(category, column)] += 1
    districts = sorted(c for c, parent in tree.parents.items() if parent == tree.country)
    categories = sorted({c for c, _a in counts})
    return Coverage(categories=categories, areas=[tree.country, *districts], counts=dict(counts))


# --- batch check of a file ------------------------------------------------------------------

FILE_COLUMNS = ("id", "title")


def read_overlap_file(data: bytes, *, filename: str = "") -> list[OverlapRecord]:
    """Records from a file in the registry exchange format (only id and title required).

    Raises InvalidInput with a message an operator can act on; never a traceback."""
    header, rows = read_table(data, filename=filename)
    missing = [c for c in FILE_COLUMNS if c not in header]
    if missing:
        shown = ", ".join(h for h in header[:6] if h) or "-"
        raise InvalidInput(
            _(
                "The file has no column {missing} (columns found: {found}). The first row "
                "must name the columns, separated by commas or semicolons, in UTF-8."
            ).format(missing=", ".join(missing), found=shown)
        )
    position = {name: n for n, name in enumerate(header)}

    def cell(values: list[Any], name: str) -> str:
        n = position.get(name)
        return "" if n is None or n >= len(values) or values[n] is None else str(values[n]).strip()

    def day(values: list[Any], name: str, number: int) -> date | None:
        try:
            return parse_date(cell(values, name))
        except ValueError:
            raise InvalidInput(
                _("Row {row}, column {column}: '{value}' is not a date (use 2020-03-20).").format(
                    row=number, column=name, value=cell(values, name)
                )
            ) from None

    records: list[OverlapRecord] = []
    seen: set[str] = set()
    country = country_code()
    for number, values in rows:
        key = cell(values, "id")
        if not key:
            raise InvalidInput(_("Row {row}: the id is empty.").format(row=number))
        if key in seen:
            raise InvalidInput(
                _("Row {row}: the id '{id}' appears twice.").format(row=number, id=key)
            )
        seen.add(key)
        records.append(
            OverlapRecord(
                key=key,
                title=cell(values, "title"),
                description=cell(values, "description"),
                organisation=cell(values, "organisation").lower(),
                category=cell(values, "category"),
                target_groups=frozenset(split_cell(cell(values, "target_groups"))),
                areas=frozenset(area_code(a, country) for a in split_cell(cell(values, "areas"))),
                start=day(values, "start_date", number),
                end=day(values, "end_date", number),
            )
        )
    return records


def batch_overlaps(
    records: Sequence[OverlapRecord],
    *,
    tree: AreaTree,
    min_score: float,
    against: Sequence[OverlapRecord] = (),
) -> list[PairScore]:
    """Overlapping pairs inside ``records`` and, when given, between them and ``against``
    (the registry; its keys are prefixed ``registry:``). Highest score first."""
    if len(records) + len(against) < 2:
        raise InvalidInput(
            _("The file has {n} row(s): at least two initiatives are needed to compare.").format(
                n=len(records)
            )
        )
    ours = {r.key for r in records}
    theirs = [OverlapRecord(**{**r.__dict__, "key": f"registry:{r.key}"}) for r in against]
    index = OverlapIndex.build([*records, *theirs], tree, top_k=top_k())
    pairs = index.find_pairs(min_score)
    return [p for p in pairs if p.key_a in ours or p.key_b in ours]
