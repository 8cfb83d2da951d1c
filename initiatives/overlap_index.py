"""The overlap engine's entry: ``OverlapIndex`` composes the stages. No database.

Pipeline (docs/overlaps.md explains it and the measured figures), a module per stage:
``OverlapRecord`` (here) is one initiative; ``overlap_tokens`` folds text into stems,
lexicon concepts, character trigrams and identifiers; ``overlap_arrays`` holds the
sparse building blocks and ``overlap_areas`` areas as integer ids;
``overlap_candidates`` makes blocking keys and runs the sparse top-k self-join (cost
grows with records x k, not records squared); ``overlap_scoring`` gives a
Fellegi-Sunter weight per field (0 for a field unknown on either side); and
``overlap_explain`` the sentences of a score (from the same parts) and clusters.

``OverlapIndex`` adds and replaces records one at a time and checks a draft against
all in a few ms; ``initiatives.overlap`` builds its records and ``AreaTree``.
"""

from __future__ import annotations

import hashlib
from collections import ChainMap, Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from itertools import chain, repeat
from typing import Any

import numpy as np
import scipy.sparse as sp

from initiatives.overlap_areas import COUNTRY, DISTRICT, MUNICIPALITY, AreaCodes, AreaTree
from initiatives.overlap_arrays import (
    append_rows,
    binary_rows,
    codes_of,
    days_and_quarters,
    drop_columns,
    idf,
    normalize,
    row_dots,
    tfidf,
    widen,
)
from initiatives.overlap_candidates import (
    JOIN_ROWS,
    blocking_keys,
    key_columns_of,
    quarters_run,
    top_k_pairs,
)
from initiatives.overlap_explain import PairScore, clusters, explain, pair_details
from initiatives.overlap_scoring import (
    FEATURE_NAMES,
    FIELDS,
    SCORE_PAIRS,
    SCORE_THREADS,
    Features,
    ScoringContext,
    identifier_weights,
    score_arrays,
)
from initiatives.overlap_tokens import (
    GramVocabulary,
    StemVocabulary,
    Texts,
    identifier_columns,
    record_texts,
)

# The public face: initiatives.overlap takes these from here, whichever stage defines them.
__all__ = ["AreaTree", "OverlapIndex", "OverlapRecord", "PairScore", "clusters"]


@dataclass(frozen=True)
class OverlapRecord:
    """What the engine compares. ``key`` is the initiative id (or a file's id column)."""

    key: str
    title: str
    description: str = ""
    organisation: str = ""  # an id or a name; equal means the same organisation
    category: str = ""
    target_groups: frozenset[str] = frozenset()
    areas: frozenset[str] = frozenset()
    start: date | None = None
    end: date | None = None
    state: str = ""  # review state, for filtering what a viewer may see

    def material_fingerprint(self) -> str:
        """Changes when the effort changes (not when e.g. people reached is updated)."""
        parts = [
            " ".join(self.title.split()),
            " ".join(self.description.split()),
            self.organisation,
            self.category,
            ",".join(sorted(self.target_groups)),
            ",".join(sorted(self.areas)),
            self.start.isoformat() if self.start else "",
            self.end.isoformat() if self.end else "",
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass
class OverlapIndex:
    """Records, their features and a candidate matrix; add or replace records one by one."""

    tree: AreaTree
    top_k: int = 40
    # A key or stem held by more records than the cap is dropped from the candidate rows:
    # it costs the join most (its holders squared) and says least. The cap is 1 % of the
    # records, at least min_key_cap and at most max_key_cap. Without the upper bound the
    # join's work per record grew with the registry: at 1M records (cap 10,000) the join
    # alone took 469 s; with 1,000, 8 s.
    max_key_share: float = 0.01
    min_key_cap: int = 200
    max_key_cap: int = 1000
    keys: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    fingerprints: list[str] = field(default_factory=list)
    alive: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    position: dict[str, int] = field(default_factory=dict)
    _words: StemVocabulary = field(default_factory=StemVocabulary)
    _grams: GramVocabulary = field(default_factory=lambda: GramVocabulary())
    _char_idf: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.float32))
    _title_idf: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.float32))
    _description_idf: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.float32))
    _areas: AreaCodes | None = None
    _codes: dict[str, dict[Any, int]] = field(default_factory=dict)
    _key_columns: dict[int, int] = field(default_factory=dict)
    _features: Features | None = None
    _candidate_base_t: sp.csr_matrix | None = None  # transposed, for one-row queries
    _base_rows: int = 0
    _dropped_keys: np.ndarray | None = None
    _description_counts: Counter[int] = field(default_factory=Counter)
    _last_draft: tuple[int, OverlapRecord, Features] | None = None
    keep_fingerprints: bool = False  # the registry keeps them, for staff decisions
    _identifier_weights: dict[str, np.ndarray] | None = None
    _identifier_records: int = -1
    generation: int = 0

    # -- building --------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        records: Sequence[OverlapRecord],
        tree: AreaTree,
        *,
        top_k: int = 40,
        keep_fingerprints: bool = False,
    ) -> OverlapIndex:
        index = cls(tree=tree, top_k=top_k, keep_fingerprints=keep_fingerprints)
        index._fit(records)
        return index

    def _analyse(self, records: Sequence[OverlapRecord], *, grow: bool) -> Texts:
        titles, descriptions = [r.title for r in records], [r.description for r in records]
        return record_texts(self._words, self._grams, titles, descriptions, grow=grow)

    def _weighted(self, texts: Texts) -> Texts:
        return texts._replace(
            title=tfidf(texts.title, self._title_idf),
            description=tfidf(texts.description, self._description_idf),
            characters=tfidf(widen(texts.characters, len(self._char_idf)), self._char_idf),
        )

    def _fit(self, records: Sequence[OverlapRecord]) -> None:
        # Titles and descriptions share one word table (each word folded and stemmed
        # once) and one stem id space; each field has its own IDF.
        self._words = StemVocabulary(self.tree.names.values())
        self._grams = GramVocabulary()
        counts = self._analyse(records, grow=True)
        self._words.freeze()
        self._grams.freeze()
        width = max(len(self._words), 1)
        title, description = widen(counts.title, width), widen(counts.description, width)
        characters = widen(counts.characters, max(len(self._grams), 1))
        self._title_idf, self._description_idf = idf(title), idf(description)
        self._char_idf = idf(characters[np.flatnonzero(counts.short)])
        self._areas = AreaCodes(self.tree)
        self._codes = {
            "category": {},
            "organisation": {},
            "group": {},
            "area_set": {},
            "identifier_L": {},
            "identifier_S": {},
            "identifier_D": {},
        }
        self._key_columns = {}
        self.keys, self.states, self.fingerprints = [], [], []
        self.position = {}
        self.alive = np.zeros(0, dtype=bool)
        self._features = None
        self._description_counts = Counter()
        # Stems held by too many records are known from the text alone: dropping them
        # before the candidate rows are assembled keeps the build's memory peak down.
        # Keys are counted once the rows exist (_freeze_candidates).
        cap = self._key_cap(len(records))
        self._dropped_keys = np.concatenate(
            [
                np.bincount(m.indices, minlength=m.shape[1]) > cap
                for m in (title, description, characters)
            ]
        )
        texts = self._weighted(
            counts._replace(title=title, description=description, characters=characters)
        )
        self._append(records, texts)
        self._freeze_candidates()
        self.generation += 1

    def _freeze_candidates(self) -> None:
        """Drop keys held by too many records; keep the transposed matrix for queries."""
        features = self._features
        if features is None:
            self._candidate_base_t = None
            self._base_rows = 0
            return
        live = features.candidate
        if not self.alive.all():
            live = live[np.flatnonzero(self.alive)]
        dropped = np.bincount(live.indices, minlength=live.shape[1]) > self._key_cap(len(self))
        if self._dropped_keys is not None:  # the stems dropped before the rows were built
            dropped[: len(self._dropped_keys)] |= self._dropped_keys
        self._dropped_keys = dropped
        features.candidate = self._prune(features.candidate)
        self._candidate_base_t = features.candidate.T.tocsr()
        self._base_rows = features.candidate.shape[0]

    def _key_cap(self, records: int) -> int:
        return max(self.min_key_cap, min(int(self.max_key_share * records), self.max_key_cap))

    def _prune(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """``matrix`` without the dropped keys, rows L2-normalised (in place: candidate
        rows are always freshly built)."""
        if self._dropped_keys is not None:
            matrix = drop_columns(matrix, self._dropped_keys)
        return normalize(matrix, copy=False)

    def __len__(self) -> int:
        return int(self.alive.sum())

    # -- features ---------------------------------------------------------------------

    def _featurise(
        self,
        records: Sequence[OverlapRecord],
        texts: Texts | None = None,
        *,
        grow: bool = True,
    ) -> Features:
        """Features of ``records`` with this index's vocabularies; ``grow=False`` (a
        query) gives new values temporary codes instead of adding them."""
        assert self._areas is not None
        n = len(records)
        if texts is None:
            texts = self._weighted(self._analyse(records, grow=grow))
        title, description, characters = texts.title, texts.description, texts.characters
        identifier_matrices = identifier_columns(self._codes, texts, n, grow=grow)

        areas = self._areas
        area_sets = [r.areas for r in records]
        area_rows, area_ids = areas.entries(area_sets)
        shape = (n, len(areas.ids))
        level = areas.level[area_ids]
        national = np.zeros(n, dtype=bool)
        national[area_rows[level == COUNTRY]] = True
        municipal, whole = level == MUNICIPALITY, level == DISTRICT
        district = areas.district[area_ids]
        known = district >= 0
        districts_all = binary_rows(area_rows[known], district[known], shape)

        category = codes_of(self._codes["category"], [r.category for r in records], grow=grow)
        organisation = codes_of(
            self._codes["organisation"], [r.organisation for r in records], grow=grow
        )
        group_sets = [r.target_groups for r in records]
        group_counts = np.fromiter(map(len, group_sets), dtype=np.int64, count=n)
        group_rows = np.repeat(np.arange(n), group_counts)
        group_ids = codes_of(self._codes["group"], list(chain.from_iterable(group_sets)), grow=grow)
        named = group_ids >= 0  # an empty group name is no group
        group_rows, group_ids = group_rows[named], group_ids[named]
        groups = np.zeros(n, dtype=np.uint64)
        np.bitwise_or.at(groups, group_rows, np.uint64(1) << (group_ids % 64).astype(np.uint64))

        start, start_quarter = days_and_quarters([r.start for r in records])
        end, end_quarter = days_and_quarters([r.end for r in records])
        quarters = quarters_run(start_quarter, end_quarter, start, end)
        key_rows, key_codes = blocking_keys(
            category=category,
            organisation=organisation,
            group_rows=group_rows,
            group_ids=group_ids,
            national=national,
            districts=districts_all,
            all_districts=areas.all_districts,
            first_quarter=start_quarter,
            quarters=quarters,
        )
        key_columns = key_columns_of(self._key_columns, key_codes, grow=grow)
        # A query's new keys have temporary columns past the vocabulary's.
        key_width = max(len(self._key_columns), int(key_columns.max(initial=-1)) + 1, 1)
        keys = normalize(binary_rows(key_rows, key_columns, (n, key_width)), copy=False)

        # Candidate row: title | 0.8 x description | 0.8 x character trigrams (short
        # records) | 0.8 x keys, without the stems, trigrams and keys held by too many
        # records, L2-normalised. The stems dropped at the fit go before the rows are
        # stacked: at a million records they are most of the text. The trigrams find
        # pairs of short records whose words differ (a typo, "deli" and "delicatessen").
        stems = title.shape[1]
        title_part, description_part, character_part = title, description, characters
        if self._dropped_keys is not None:
            title_part = drop_columns(title, self._dropped_keys)
            description_part = drop_columns(description, self._dropped_keys, stems)
            character_part = drop_columns(characters, self._dropped_keys, 2 * stems)
        candidate = sp.hstack(
            [title_part, description_part, character_part, keys], format="csr", dtype=np.float32
        )
        candidate.data[candidate.indices >= stems] *= 0.8
        candidate = self._prune(candidate)
        return Features(
            title=title,
            description=description,
            candidate=candidate,
            municipalities=binary_rows(area_rows[municipal], area_ids[municipal], shape),
            districts_all=districts_all,
            districts_whole=binary_rows(area_rows[whole], area_ids[whole], shape),
            national=national,
            area_set=codes_of(self._codes["area_set"], area_sets, grow=grow),
            has_areas=np.fromiter(map(bool, area_sets), dtype=bool, count=n),
            category=category,
            organisation=organisation,
            groups=groups,
            start=start,
            end=end,
            description_hash=texts.description_hash,
            title_empty=np.diff(title.indptr) == 0,
            description_empty=np.diff(description.indptr) == 0,
            characters=characters,
            short=texts.short & (np.diff(characters.indptr) > 0),
            language=texts.language,
            long_numbers=identifier_matrices[0],
            short_numbers=identifier_matrices[1],
            domains=identifier_matrices[2],
        )

    def _draft_features(self, record: OverlapRecord) -> Features:
        """Features of a record checked against the index (not added). The form's check
        asks ``query`` then ``score_against`` for the same draft: the last one is kept."""
        last = self._last_draft
        if last is not None and last[0] == self.generation and last[1] == record:
            return last[2]
        features = self._featurise([record], grow=False)
        self._last_draft = (self.generation, record, features)
        return features

    def _append(self, records: Sequence[OverlapRecord], texts: Texts | None = None) -> None:
        if not records:
            return
        new = self._featurise(records, texts)
        for record in records:
            old = self.position.get(record.key)
            if old is not None and self.alive[old]:
                self.alive[old] = False
                self._count_descriptions(np.array([old]), -1)
        start = len(self.keys)
        self.position.update((r.key, start + n) for n, r in enumerate(records))
        self.keys.extend(r.key for r in records)
        self.states.extend(r.state for r in records)
        if self.keep_fingerprints:
            self.fingerprints.extend(r.material_fingerprint() for r in records)
        else:
            self.fingerprints.extend(repeat("", len(records)))
        self.alive = np.concatenate([self.alive, np.ones(len(records), dtype=bool)])
        old_features = self._features
        if old_features is None:
            self._features = new
        else:
            self._features = Features(
                **{
                    name: append_rows(getattr(old_features, name), getattr(new, name))
                    for name in FEATURE_NAMES
                }
            )
        self._count_descriptions(np.arange(start, len(self.keys)), +1)

    def _count_descriptions(self, positions: np.ndarray, delta: int) -> None:
        """How many live records carry each description (boilerplate detection)."""
        assert self._features is not None
        digests = self._features.description_hash[positions]
        digests = digests[digests != 0].tolist()
        if delta > 0:
            self._description_counts.update(digests)
        else:
            self._description_counts.subtract(digests)

    def upsert(self, records: Sequence[OverlapRecord]) -> None:
        """Add new records or replace changed ones; refit now and then, not per save."""
        if not records:
            return
        if self._features is None or self._areas is None:
            self._fit(records)
            return
        self._append(records)
        self.generation += 1

    @property
    def churn(self) -> float:
        """Share of rows added or replaced since the last fit; refit when it grows."""
        return (len(self.keys) - self._base_rows + len(self.keys) - len(self)) / max(len(self), 1)

    def remove(self, keys: Iterable[str]) -> None:
        for key in keys:
            n = self.position.pop(key, None)
            if n is not None and self.alive[n]:
                self.alive[n] = False
                self._count_descriptions(np.array([n]), -1)
        self.generation += 1

    # -- searching -----------------------------------------------------------------------

    def candidate_pairs(
        self, *, threshold: float = 0.1, rows_per_call: int = JOIN_ROWS
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (i < j) of live records where either is among the other's top k, as
        position arrays sorted by (i, j).

        The self-join runs ``rows_per_call`` rows at a time (each call spread over
        JOIN_THREADS threads); every row's top k is independent of the others, so the
        pairs do not depend on the chunking."""
        features = self._features
        if features is None or len(self) < 2:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        live = np.flatnonzero(self.alive)
        everyone = len(live) == features.candidate.shape[0]
        matrix = features.candidate if everyone else features.candidate[live]
        if everyone and self._base_rows == len(live) and self._candidate_base_t is not None:
            transposed = self._candidate_base_t  # built at the fit for queries; the same
        else:
            transposed = matrix.T.tocsr()
        n = matrix.shape[0]
        pairs = top_k_pairs(matrix, transposed, self.top_k, threshold, rows_per_call)
        i, j = np.divmod(pairs, n)
        if not everyone:
            i, j = live[i], live[j]
        return i, j

    def query(self, record: OverlapRecord, *, limit: int | None = None) -> list[int]:
        """Positions of the live records closest to ``record`` (not itself)."""
        features = self._features
        if features is None or self._candidate_base_t is None:
            return []
        q = self._draft_features(record).candidate
        base_t = self._candidate_base_t
        sims = np.zeros(len(self.keys), dtype=np.float32)
        hits = (widen(q, base_t.shape[0])[:, : base_t.shape[0]] @ base_t).tocsr()
        sims[hits.indices] = hits.data
        if len(self.keys) > self._base_rows:
            delta = features.candidate[self._base_rows :]
            columns = max(delta.shape[1], q.shape[1])
            extra = widen(delta, columns) @ widen(q, columns).T
            sims[self._base_rows :] = np.asarray(extra.todense()).ravel()
        sims[~self.alive] = 0
        own = self.position.get(record.key)
        if own is not None:
            sims[own] = 0
        k = min(limit or self.top_k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        top = top[sims[top] > 0]
        return [int(n) for n in top[np.argsort(-sims[top])]]

    # -- scoring ------------------------------------------------------------------------

    def probabilities(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """The match probability of position pairs, SCORE_PAIRS at a time on
        SCORE_THREADS threads, keeping nothing else: at 19M candidate pairs the levels
        would take 170 MB and the weights 700 MB. ``score_pairs`` and ``pair_weights``
        give those for the pairs that are shown."""
        return self._scored(i, j, keep_levels=False)[0]

    def score_pairs(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and comparison levels (pairs x fields) for position pairs."""
        return self._scored(i, j, keep_levels=True)

    def _scored(
        self, i: np.ndarray, j: np.ndarray, *, keep_levels: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        probabilities = np.zeros(len(i))
        levels = np.zeros((len(i) if keep_levels else 0, len(FIELDS)), dtype=np.int8)
        context = self._context(self._description_counts)  # once, not in each thread

        def score(part: slice) -> None:
            probabilities[part], these, _weights = self._score(i[part], j[part], context)
            if keep_levels:
                levels[part] = these

        parts = [slice(start, start + SCORE_PAIRS) for start in range(0, len(i), SCORE_PAIRS)]
        if len(parts) == 1:
            score(parts[0])
        else:  # numpy and scipy's sparse kernels let go of the GIL: both cores work
            with ThreadPoolExecutor(SCORE_THREADS) as pool:
                list(pool.map(score, parts))
        return probabilities, levels

    def pair_weights(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """The weight of each field (pairs x fields, bits) for a few position pairs."""
        weights = np.zeros((len(i), len(FIELDS)), dtype=np.float32)
        context = self._context(self._description_counts)
        for start in range(0, len(i), SCORE_PAIRS):
            part = slice(start, start + SCORE_PAIRS)
            weights[part] = self._score(i[part], j[part], context)[2]
        return weights

    def _score(
        self, i: np.ndarray, j: np.ndarray, context: ScoringContext
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        features = self._features
        assert features is not None
        return score_arrays(features, features, context, i, j)

    def similarities(self, i: np.ndarray, j: np.ndarray) -> dict[str, np.ndarray]:
        """The raw similarities the continuous weights are read from (for fitting them):
        title and description TF-IDF cosines, and the character cosine of short pairs."""
        f = self._features
        assert f is not None
        short = f.short[i] & f.short[j]
        text = np.zeros(len(i), dtype=np.float32)
        at = np.flatnonzero(short)
        text[at] = row_dots(f.characters, f.characters, i[at], j[at])
        return {
            "title": row_dots(f.title, f.title, i, j),
            "description": row_dots(f.description, f.description, i, j),
            "text": text,
        }

    def _context(self, counts: Mapping[int, int]) -> ScoringContext:
        """What scoring needs besides two rows of features: how many records carry each
        description, and the weight of each identifier (from how many carry it)."""
        weights = self._identifier_weights
        if weights is None or self._identifier_records != len(self.keys):
            weights = self._identifier_weights = identifier_weights(self._features, len(self))
            self._identifier_records = len(self.keys)
        return ScoringContext(counts, weights)

    def score_against(self, record: OverlapRecord, positions: Sequence[int]) -> list[PairScore]:
        """Score ``record`` (not necessarily in the index) against indexed positions."""
        if not positions or self._features is None:
            return []
        one = self._draft_features(record)
        counts: Mapping[int, int] = self._description_counts
        digest = int(one.description_hash[0])
        if digest and record.key not in self.position:  # the draft counts as one more
            counts = ChainMap(
                {digest: self._description_counts[digest] + 1}, self._description_counts
            )
        n = len(positions)
        i, j = np.zeros(n, dtype=np.int64), np.asarray(positions, dtype=np.int64)
        context = self._context(counts)
        probabilities, levels, weights = score_arrays(one, self._features, context, i, j)
        details = pair_details(one, self._features, i, j)
        return [
            PairScore(
                key_a=record.key,
                key_b=self.keys[positions[m]],
                score=float(probabilities[m]),
                parts=explain(levels[m], weights[m], details[m]),
            )
            for m in range(n)
        ]

    def pair_scores(self, i: np.ndarray, j: np.ndarray, threshold: float) -> list[PairScore]:
        if self._features is None:  # an empty registry (a fresh deployment): no pairs
            return []
        probabilities = self.probabilities(i, j)
        keep = np.flatnonzero(probabilities >= threshold)
        keep = keep[np.argsort(-probabilities[keep], kind="stable")]
        _p, levels = self.score_pairs(i[keep], j[keep])
        weights = self.pair_weights(i[keep], j[keep])
        features = self._features
        assert features is not None
        details = pair_details(features, features, i[keep], j[keep])
        return [
            PairScore(
                key_a=self.keys[int(i[m])],
                key_b=self.keys[int(j[m])],
                score=float(probabilities[m]),
                parts=explain(levels[n], weights[n], details[n]),
            )
            for n, m in enumerate(keep)
        ]

    def find_pairs(self, threshold: float) -> list[PairScore]:
        i, j = self.candidate_pairs()
        return self.pair_scores(i, j, threshold)
