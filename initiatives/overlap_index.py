"""The overlap engine: features, candidate search and an explainable score. No database.

Pipeline (docs/overlaps.md explains the choices and the measured figures):

1. ``OverlapRecord``: what / where / when / for whom / by whom of one initiative.
2. Text is folded (lower case, accents removed), Portuguese and English stop words
   dropped, and each word cut to a six-letter stem (``apoiar``/``apoio`` and
   ``students``/``student`` meet). TF-IDF (scikit-learn) on titles and on descriptions.
3. Candidates: one sparse row per record (title and description stems plus blocking
   keys such as ``organisation+category`` and ``category+district``), keys held by too
   many records dropped, then a sparse top-k self-join (sparse_dot_topn). Cost grows
   with records x k, not records squared.
4. Each candidate pair gets comparison levels per field and Fellegi-Sunter weights
   (log2 m/u); their sum plus a prior is mapped to 0..1. The explanation is built from
   the same parts, so it always says why a pair scored as it did.
5. Pairs above the threshold are grouped into clusters (connected components).

``OverlapIndex`` supports adding and replacing records one at a time (a saved
initiative) and checking one draft against everything in a few milliseconds.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer

from hub.i18n import _

# --- text --------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]{2,}")
STEM_LENGTH = 6

STOP_WORDS = frozenset(
    """
    a ao aos as ate com como da das de dela dele deles do dos e ela elas ele eles em entre
    era essa esse esta este eu foi ha isso isto ja la lhe lhes mais mas me mesmo meu minha
    muito na nas nem no nos nossa nosso num numa o os ou para pela pelas pelo pelos por
    quais qual quando que quem se sem ser seu seus sua suas so sobre tambem te tem todo
    todos tu um uma umas uns voce vos sao nao estao sera serao ter foram pode podem cada
    via apos durante ate todo toda pais
    about after all also an and any are as at be been but by can do during each for from
    has have how in into is it its more no not of on or other our out over per so such than
    that the their them then there these they this those through to under up us was we
    were what when where which while who will with within you your whole country
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def fold(text: str) -> str:
    """Lower case, accents removed ("Saúde" -> "saude"); other non-ASCII signs dropped."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def stems(text: str, ignore: frozenset[str] = STOP_WORDS) -> list[str]:
    """Folded words without stop words, cut to a short stem."""
    return [w[:STEM_LENGTH] for w in _WORD.findall(fold(text)) if w not in ignore]


class Stemmer:
    """The analyzer given to TfidfVectorizer: stems, minus stop words and place names.

    Place names are left to the "where" comparison: counted again as words, two
    different efforts in the same town would look alike twice over."""

    def __init__(self, place_names: Iterable[str] = ()) -> None:
        words = {w for name in place_names for w in _WORD.findall(fold(name))}
        self.ignore = STOP_WORDS | words

    def __call__(self, text: str) -> list[str]:
        return stems(text, self.ignore)


# --- records -----------------------------------------------------------------------------


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


# --- comparison levels and weights ------------------------------------------------------

# Fellegi-Sunter weights: log2(m/u) per comparison level, m = P(level | same effort),
# u = P(level | different efforts among the candidates). Estimated by
# benchmarks/overlap_quality.py --fit on the training half of the labelled benchmark
# (Laplace-smoothed) and rounded; the held-out half gives the printed figures.
FIELDS = ("title", "description", "category", "where", "when", "for_whom", "by_whom")
LEVELS: dict[str, tuple[str, ...]] = {
    "title": ("high", "good", "some", "low", "missing"),
    "description": ("high", "good", "some", "low", "missing", "boilerplate"),
    "category": ("same", "different", "missing"),
    "where": ("same", "contains", "municipalities", "district", "none", "unknown"),
    "when": ("most", "some", "none", "unknown"),
    "for_whom": ("same", "some", "none", "unknown"),
    "by_whom": ("same", "different", "unknown"),
}
TITLE_CUTS = (0.75, 0.5, 0.25)
DESCRIPTION_CUTS = (0.6, 0.45, 0.3)
WEIGHTS: dict[str, tuple[float, ...]] = {
    "title": (0.5, 0.0, -1.0, -1.0, 0.0),
    "description": (2.0, 1.0, 0.0, -4.0, 0.0, 0.0),
    "category": (-0.5, -1.0, 0.0),
    "where": (2.0, 1.0, 2.5, 0.0, -6.5, 0.0),
    "when": (4.0, 1.5, -7.0, 0.0),
    "for_whom": (0.5, 0.0, -2.0, 0.0),
    "by_whom": (-1.5, 0.0, 0.0),
}
PRIOR = -2.5
BOILERPLATE_MIN = 4  # the same description on this many records carries no evidence


def probability(total: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-total))


@dataclass(frozen=True)
class PairScore:
    key_a: str
    key_b: str
    score: float
    parts: tuple[tuple[str, str, float, str], ...]  # field, level, weight, sentence

    @property
    def explanation(self) -> str:
        return "; ".join(sentence for _f, _l, _w, sentence in self.parts if sentence)

    @property
    def pair(self) -> tuple[str, str]:
        return (self.key_a, self.key_b)


# --- areas ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaTree:
    """Area code -> parent code (None for the country), from connectivity.areas."""

    parents: Mapping[str, str | None]
    country: str = "PT"
    names: Mapping[str, str] = field(default_factory=dict)

    def level(self, code: str) -> str:
        if code == self.country or (code in self.parents and self.parents[code] is None):
            return "country"
        parent = self.parents.get(code)
        if parent is not None and self.parents.get(parent, "") is None:
            return "district"
        return "municipality"

    def districts(self) -> list[str]:
        return sorted(c for c, parent in self.parents.items() if parent == self.country)

    def district_of(self, code: str) -> str | None:
        parent = self.parents.get(code)
        return parent if parent is not None and self.level(parent) == "district" else None


# --- the index ----------------------------------------------------------------------------


def _sparse_rows(rows: Sequence[Iterable[str]], vocabulary: dict[str, int]) -> sp.csr_matrix:
    """Binary rows over a vocabulary that grows as new values appear."""
    indptr = [0]
    indices: list[int] = []
    for values in rows:
        for value in set(values):
            indices.append(vocabulary.setdefault(value, len(vocabulary)))
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix(
        (data, np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
        shape=(len(rows), max(len(vocabulary), 1)),
    )


def _widen(matrix: sp.csr_matrix, columns: int) -> sp.csr_matrix:
    if matrix.shape[1] >= columns:
        return matrix
    return sp.csr_matrix((matrix.data, matrix.indices, matrix.indptr), (matrix.shape[0], columns))


def _stack(top: sp.csr_matrix | None, bottom: sp.csr_matrix) -> sp.csr_matrix:
    if top is None:
        return bottom
    columns = max(top.shape[1], bottom.shape[1])
    return sp.vstack([_widen(top, columns), _widen(bottom, columns)], format="csr")


def row_dots(a: sp.csr_matrix, i: np.ndarray, j: np.ndarray, chunk: int = 400_000) -> np.ndarray:
    """Dot product of rows i[n] and j[n] of ``a``, in chunks to bound memory."""
    out = np.zeros(len(i), dtype=np.float32)
    for start in range(0, len(i), chunk):
        ia, ja = i[start : start + chunk], j[start : start + chunk]
        out[start : start + chunk] = np.asarray(a[ia].multiply(a[ja]).sum(axis=1)).ravel()
    return out


@dataclass
class _Features:
    """Per-record arrays and matrices, in index order."""

    title: sp.csr_matrix
    description: sp.csr_matrix
    candidate: sp.csr_matrix
    municipalities: sp.csr_matrix
    districts_all: sp.csr_matrix
    districts_whole: sp.csr_matrix
    national: np.ndarray
    area_hash: np.ndarray
    has_areas: np.ndarray
    category: np.ndarray
    organisation: np.ndarray
    groups: np.ndarray
    start: np.ndarray
    end: np.ndarray
    description_hash: np.ndarray  # in-process hash of the normalised text; 0: empty
    title_empty: np.ndarray
    description_empty: np.ndarray


@dataclass
class OverlapIndex:
    """Records, their features and a candidate matrix; add or replace records one by one."""

    tree: AreaTree
    top_k: int = 40
    max_key_share: float = 0.01
    min_key_cap: int = 200
    keys: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    fingerprints: list[str] = field(default_factory=list)
    alive: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    position: dict[str, int] = field(default_factory=dict)
    _stemmer: Stemmer = field(default_factory=Stemmer)
    _title_vectorizer: TfidfVectorizer | None = None
    _description_vectorizer: TfidfVectorizer | None = None
    _vocab: dict[str, dict[str, int]] = field(default_factory=dict)
    _features: _Features | None = None
    _candidate_base_t: sp.csr_matrix | None = None  # transposed, for one-row queries
    _base_rows: int = 0
    _dropped_keys: np.ndarray | None = None
    _description_counts: dict[int, int] = field(default_factory=dict)
    keep_fingerprints: bool = False  # the registry keeps them, for staff decisions
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

    def _fit(self, records: Sequence[OverlapRecord]) -> None:
        self._stemmer = Stemmer(self.tree.names.values())
        self._title_vectorizer = TfidfVectorizer(
            analyzer=_given, sublinear_tf=True, dtype=np.float32
        )
        self._description_vectorizer = TfidfVectorizer(
            analyzer=_given, sublinear_tf=True, dtype=np.float32
        )
        titles = [self._stemmer(r.title) for r in records]
        descriptions = [self._stemmer(r.description) for r in records]
        fitted = []
        for vectorizer, tokens in (
            (self._title_vectorizer, titles),
            (self._description_vectorizer, descriptions),
        ):
            try:
                fitted.append(vectorizer.fit_transform(tokens).tocsr())
            except ValueError:  # no word at all (or no record): a vocabulary of one
                vectorizer.fit([["placeholder"]])
                fitted.append(vectorizer.transform(tokens).tocsr())
        self._vocab = {name: {} for name in ("keys", "mun", "dist", "cat", "org", "groups")}
        self.keys, self.states, self.fingerprints = [], [], []
        self.position = {}
        self.alive = np.zeros(0, dtype=bool)
        self._features = None
        self._description_counts = {}
        self._dropped_keys = None
        self._append(records, title=fitted[0], description=fitted[1])
        self._freeze_candidates()
        self.generation += 1

    def _freeze_candidates(self) -> None:
        """Drop keys held by too many records; keep the transposed matrix for queries."""
        features = self._features
        if features is None:
            self._candidate_base_t = None
            self._base_rows = 0
            return
        live = features.candidate[np.flatnonzero(self.alive)]
        df = np.bincount(live.indices, minlength=live.shape[1])
        cap = max(self.min_key_cap, int(self.max_key_share * max(len(self), 1)))
        self._dropped_keys = df > cap
        features.candidate = self._prune(features.candidate)
        self._candidate_base_t = features.candidate.T.tocsr()
        self._base_rows = features.candidate.shape[0]

    def _prune(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        if self._dropped_keys is None:
            return matrix
        dropped = self._dropped_keys
        matrix = matrix.tocsr(copy=True)
        in_range = matrix.indices < len(dropped)
        mask = np.zeros(len(matrix.indices), dtype=bool)
        mask[in_range] = dropped[matrix.indices[in_range]]
        matrix.data[mask] = 0
        matrix.eliminate_zeros()
        return normalize(matrix, copy=False)

    def __len__(self) -> int:
        return int(self.alive.sum())

    # -- features ---------------------------------------------------------------------

    def _area_parts(self, areas: frozenset[str]) -> tuple[bool, list[str], list[str], list[str]]:
        national = False
        municipalities: list[str] = []
        whole: list[str] = []
        districts: set[str] = set()
        for code in areas:
            level = self.tree.level(code)
            if level == "country":
                national = True
            elif level == "district":
                whole.append(code)
                districts.add(code)
            else:
                municipalities.append(code)
                parent = self.tree.district_of(code)
                if parent:
                    districts.add(parent)
        return national, municipalities, sorted(districts), whole

    def _featurise(
        self,
        records: Sequence[OverlapRecord],
        title: sp.csr_matrix | None = None,
        description: sp.csr_matrix | None = None,
    ) -> _Features:
        assert self._title_vectorizer is not None and self._description_vectorizer is not None
        if title is None:
            title = _tfidf(self._title_vectorizer, [self._stemmer(r.title) for r in records])
        if description is None:
            description = _tfidf(
                self._description_vectorizer, [self._stemmer(r.description) for r in records]
            )
        title, description = title.tocsr(), description.tocsr()
        parts = [self._area_parts(r.areas) for r in records]
        keys: list[list[str]] = []
        all_districts = self.tree.districts()
        for record, (national, _m, districts, _w) in zip(records, parts, strict=True):
            cat = record.category
            mine = [f"oc:{record.organisation}|{cat}"] if record.organisation else []
            mine += [f"cg:{cat}|{g}" for g in record.target_groups]
            quarters = _quarters(record.start, record.end)
            # What x where x when: a national record meets every district's records.
            places = all_districts if national else districts[:MAX_KEY_DISTRICTS]
            mine += [f"cdq:{cat}|{d}|{q}" for d in places for q in quarters]
            if not quarters:
                mine += [f"cd:{cat}|{d}" for d in places]
            keys.append(mine)
        key_rows = normalize(_sparse_rows(keys, self._vocab["keys"]))
        candidate = normalize(
            sp.hstack([title, 0.8 * description, 0.8 * key_rows], format="csr", dtype=np.float32)
        )
        groups = np.zeros(len(records), dtype=np.uint64)
        group_bits = self._vocab.setdefault("groups", {})
        for n, record in enumerate(records):
            mask = 0
            for group in record.target_groups:
                mask |= 1 << (group_bits.setdefault(group, len(group_bits)) % 64)
            groups[n] = mask
        cat_codes = self._vocab["cat"]
        org_codes = self._vocab["org"]
        return _Features(
            title=title,
            description=description,
            candidate=candidate,
            municipalities=_sparse_rows([p[1] for p in parts], self._vocab["mun"]),
            districts_all=_sparse_rows([p[2] for p in parts], self._vocab["dist"]),
            districts_whole=_sparse_rows([p[3] for p in parts], self._vocab["dist"]),
            national=np.array([p[0] for p in parts], dtype=bool),
            area_hash=np.array([hash(r.areas) for r in records], dtype=np.int64),
            has_areas=np.array([bool(r.areas) for r in records], dtype=bool),
            category=np.array(
                [
                    cat_codes.setdefault(r.category, len(cat_codes)) if r.category else -1
                    for r in records
                ],
                dtype=np.int32,
            ),
            organisation=np.array(
                [
                    org_codes.setdefault(r.organisation, len(org_codes)) if r.organisation else -1
                    for r in records
                ],
                dtype=np.int64,
            ),
            groups=groups,
            start=np.array([_day(r.start) for r in records], dtype=np.float64),
            end=np.array([_day(r.end) for r in records], dtype=np.float64),
            description_hash=np.array(
                [
                    hash(" ".join(r.description.lower().split())) or 1
                    if r.description.strip()
                    else 0
                    for r in records
                ],
                dtype=np.int64,
            ),
            title_empty=np.asarray(title.getnnz(axis=1) == 0),
            description_empty=np.asarray(description.getnnz(axis=1) == 0),
        )

    def _append(self, records: Sequence[OverlapRecord], **matrices: sp.csr_matrix) -> None:
        if not records:
            return
        new = self._featurise(records, **matrices)
        if self._dropped_keys is not None:
            new.candidate = self._prune(new.candidate)
        for record in records:
            old = self.position.get(record.key)
            if old is not None and self.alive[old]:
                self.alive[old] = False
                self._count_description(self._features, old, -1)  # type: ignore[arg-type]
        start = len(self.keys)
        for n, record in enumerate(records):
            self.position[record.key] = start + n
            self.keys.append(record.key)
            self.states.append(record.state)
            self.fingerprints.append(
                record.material_fingerprint() if self.keep_fingerprints else ""
            )
        self.alive = np.concatenate([self.alive, np.ones(len(records), dtype=bool)])
        old_features = self._features
        if old_features is None:
            self._features = new
        else:
            self._features = _Features(
                **{
                    name: _merge(getattr(old_features, name), getattr(new, name))
                    for name in old_features.__dataclass_fields__
                }
            )
        for n in range(start, len(self.keys)):
            self._count_description(self._features, n, +1)

    def _count_description(self, features: _Features, n: int, delta: int) -> None:
        digest = int(features.description_hash[n])
        if digest:
            self._description_counts[digest] = self._description_counts.get(digest, 0) + delta

    def upsert(self, records: Sequence[OverlapRecord]) -> None:
        """Add new records or replace changed ones; refit now and then, not per save."""
        if not records:
            return
        if self._features is None or self._title_vectorizer is None:
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
                self._count_description(self._features, n, -1)  # type: ignore[arg-type]
        self.generation += 1

    # -- searching -----------------------------------------------------------------------

    def candidate_pairs(self, *, threshold: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (i < j) of live records among each other's top k, as position arrays."""
        from sparse_dot_topn import sp_matmul_topn

        features = self._features
        if features is None or len(self) < 2:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        live = np.flatnonzero(self.alive)
        matrix = features.candidate[live]
        chunk = 200_000
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        transposed = matrix.T.tocsr()
        for start in range(0, matrix.shape[0], chunk):
            block = sp_matmul_topn(
                matrix[start : start + chunk],
                transposed,
                top_n=self.top_k + 1,
                threshold=threshold,
                n_threads=2,
            ).tocoo()
            rows.append(block.row.astype(np.int64) + start)
            cols.append(block.col.astype(np.int64))
        i, j = np.concatenate(rows), np.concatenate(cols)
        keep = i < j
        i, j = live[i[keep]], live[j[keep]]
        swap = i > j
        i[swap], j[swap] = j[swap], i[swap]
        pairs = np.unique(np.stack([i, j], axis=1), axis=0) if len(i) else np.zeros((0, 2), int)
        return pairs[:, 0], pairs[:, 1]

    def query(self, record: OverlapRecord, *, limit: int | None = None) -> list[int]:
        """Positions of the live records closest to ``record`` (not itself)."""
        features = self._features
        if features is None or self._candidate_base_t is None:
            return []
        q = self._prune(self._featurise([record]).candidate)
        base_t = self._candidate_base_t
        sims = np.zeros(len(self.keys), dtype=np.float32)
        hits = (_widen(q, base_t.shape[0])[:, : base_t.shape[0]] @ base_t).tocsr()
        sims[hits.indices] = hits.data
        if len(self.keys) > self._base_rows:
            delta = features.candidate[self._base_rows :]
            columns = max(delta.shape[1], q.shape[1])
            extra = _widen(delta, columns) @ _widen(q, columns).T
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

    def score_pairs(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and comparison levels (pairs x fields) for position pairs."""
        return score_arrays(self._features, self._description_counts, i, j)  # type: ignore[arg-type]

    def score_against(self, record: OverlapRecord, positions: Sequence[int]) -> list[PairScore]:
        """Score ``record`` (not necessarily in the index) against indexed positions."""
        if not positions or self._features is None:
            return []
        one = self._featurise([record])
        merged = _Features(
            **{
                name: _merge(_take(getattr(self._features, name), positions), getattr(one, name))
                for name in one.__dataclass_fields__
            }
        )
        counts = dict(self._description_counts)
        digest = int(one.description_hash[0])
        if digest and record.key not in self.position:
            counts[digest] = counts.get(digest, 0) + 1
        n = len(positions)
        probabilities, levels = score_arrays(
            merged, counts, np.full(n, n, dtype=np.int64), np.arange(n, dtype=np.int64)
        )
        details = _details(merged, np.full(n, n), np.arange(n))
        return [
            PairScore(
                key_a=record.key,
                key_b=self.keys[positions[m]],
                score=float(probabilities[m]),
                parts=explain(levels[m], details[m]),
            )
            for m in range(n)
        ]

    def pair_scores(self, i: np.ndarray, j: np.ndarray, threshold: float) -> list[PairScore]:
        probabilities, levels = self.score_pairs(i, j)
        keep = np.flatnonzero(probabilities >= threshold)
        keep = keep[np.argsort(-probabilities[keep], kind="stable")]
        details = _details(self._features, i[keep], j[keep])  # type: ignore[arg-type]
        return [
            PairScore(
                key_a=self.keys[int(i[m])],
                key_b=self.keys[int(j[m])],
                score=float(probabilities[m]),
                parts=explain(levels[m], details[n]),
            )
            for n, m in enumerate(keep)
        ]

    def find_pairs(self, threshold: float) -> list[PairScore]:
        i, j = self.candidate_pairs()
        return self.pair_scores(i, j, threshold)


MAX_KEY_DISTRICTS = 4
MAX_KEY_QUARTERS = 4


def _quarters(start: date | None, end: date | None) -> list[int]:
    if start is None:
        return []
    first = start.year * 4 + (start.month - 1) // 3
    last = first if end is None else end.year * 4 + (end.month - 1) // 3
    return list(range(first, min(last, first + MAX_KEY_QUARTERS - 1) + 1))


def normalize(matrix: sp.csr_matrix, copy: bool = True) -> sp.csr_matrix:
    """L2-normalise rows (sklearn's normalize, without its per-call validation cost)."""
    matrix = matrix.tocsr(copy=copy)
    lengths = np.diff(matrix.indptr)
    squares = np.bincount(
        np.repeat(np.arange(matrix.shape[0]), lengths),
        weights=matrix.data.astype(np.float64) ** 2,
        minlength=matrix.shape[0],
    )
    norms = np.sqrt(squares)
    norms[norms == 0] = 1.0
    matrix.data = (matrix.data / np.repeat(norms, lengths)).astype(np.float32)
    return matrix


def _tfidf(vectorizer: TfidfVectorizer, documents: Sequence[list[str]]) -> sp.csr_matrix:
    """What ``vectorizer.transform`` gives (sublinear tf x idf, L2), for a few documents
    in microseconds rather than sklearn's per-call milliseconds."""
    vocabulary, idf = vectorizer.vocabulary_, vectorizer.idf_
    indptr, indices, data = [0], [], []
    for tokens in documents:
        counts: dict[int, int] = {}
        for token in tokens:
            column = vocabulary.get(token)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        for column, count in counts.items():
            indices.append(column)
            data.append((1.0 + math.log(count)) * idf[column])
        indptr.append(len(indices))
    matrix = sp.csr_matrix(
        (np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int32), indptr),
        shape=(len(documents), len(idf)),
    )
    return normalize(matrix, copy=False)


def _given(tokens: list[str]) -> list[str]:
    """The vectorizers receive stems already made (each text is stemmed once)."""
    return tokens


def _day(value: date | None) -> float:
    return float(value.toordinal()) if value else math.nan


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, sp.csr_matrix):
        return _stack(old, new)
    if isinstance(old, list):
        return old + new
    return np.concatenate([old, new])


def _take(values: Any, positions: Sequence[int]) -> Any:
    if isinstance(values, list):
        return [values[p] for p in positions]
    return values[np.asarray(positions, dtype=np.int64)]


def _level(values: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    levels = np.full(len(values), len(cuts), dtype=np.int8)
    for n, cut in reversed(list(enumerate(cuts))):
        levels[values >= cut] = n
    return levels


def score_arrays(
    f: _Features, description_counts: Mapping[int, int], i: np.ndarray, j: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Comparison levels per field for pairs (i[n], j[n]), and the match probability."""
    n = len(i)
    levels = np.zeros((n, len(FIELDS)), dtype=np.int8)
    if n == 0:
        return np.zeros(0), levels
    title = row_dots(f.title, i, j)
    level = _level(title, TITLE_CUTS)
    level[f.title_empty[i] | f.title_empty[j]] = 4
    levels[:, 0] = level

    description = row_dots(f.description, i, j)
    level = _level(description, DESCRIPTION_CUTS)
    level[f.description_empty[i] | f.description_empty[j]] = 4
    hi, hj = f.description_hash[i], f.description_hash[j]
    same = np.flatnonzero((hi == hj) & (hi != 0))
    boiler = [n for n in same if description_counts.get(int(hi[n]), 0) >= BOILERPLATE_MIN]
    level[boiler] = 5
    levels[:, 1] = level

    ci, cj = f.category[i], f.category[j]
    levels[:, 2] = np.where((ci < 0) | (cj < 0), 2, np.where(ci == cj, 0, 1))

    levels[:, 3] = _where_levels(f, i, j)

    si, ei, sj, ej = f.start[i], f.end[i], f.start[j], f.end[j]
    far = 1e9
    ei_f, ej_f = np.where(np.isnan(ei), far, ei), np.where(np.isnan(ej), far, ej)
    overlap = np.minimum(ei_f, ej_f) - np.maximum(si, sj) + 1
    shorter = np.minimum(ei_f - si + 1, ej_f - sj + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(shorter > 0, overlap / shorter, 0)
    when = np.where(share >= 0.8, 0, np.where(share > 0, 1, 2))
    when[np.isnan(si) | np.isnan(sj)] = 3
    levels[:, 4] = when

    gi, gj = f.groups[i], f.groups[j]
    shared = np.bitwise_count(gi & gj)
    levels[:, 5] = np.where(
        (gi == 0) | (gj == 0), 3, np.where(gi == gj, 0, np.where(shared > 0, 1, 2))
    )

    oi, oj = f.organisation[i], f.organisation[j]
    levels[:, 6] = np.where((oi < 0) | (oj < 0), 2, np.where(oi == oj, 0, 1))

    total = np.full(n, PRIOR)
    for column, name in enumerate(FIELDS):
        total += np.asarray(WEIGHTS[name])[levels[:, column]]
    return probability(total), levels


def _where_levels(f: _Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    mun = row_dots(f.municipalities, i, j)
    dist = row_dots(f.districts_all, i, j)
    dall_i = np.asarray(f.districts_all.getnnz(axis=1))[i]
    dall_j = np.asarray(f.districts_all.getnnz(axis=1))[j]
    j_in_i = row_dots_cross(f.districts_all, f.districts_whole, j, i)
    i_in_j = row_dots_cross(f.districts_all, f.districts_whole, i, j)
    contained = ((dall_j > 0) & (j_in_i >= dall_j)) | ((dall_i > 0) & (i_in_j >= dall_i))
    ni, nj = f.national[i], f.national[j]
    level = np.full(len(i), 4, dtype=np.int8)
    level[dist > 0] = 3
    level[mun > 0] = 2
    level[contained] = 1
    level[ni ^ nj] = 1
    level[(f.area_hash[i] == f.area_hash[j]) | (ni & nj)] = 0
    level[~f.has_areas[i] | ~f.has_areas[j]] = 5
    return level


def row_dots_cross(a: sp.csr_matrix, b: sp.csr_matrix, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    columns = max(a.shape[1], b.shape[1])
    a, b = _widen(a, columns), _widen(b, columns)
    out = np.zeros(len(i), dtype=np.float32)
    chunk = 400_000
    for start in range(0, len(i), chunk):
        ia, jb = i[start : start + chunk], j[start : start + chunk]
        out[start : start + chunk] = np.asarray(a[ia].multiply(b[jb]).sum(axis=1)).ravel()
    return out


def _details(f: _Features, i: np.ndarray, j: np.ndarray) -> list[dict[str, float]]:
    """The numbers the sentences quote, for pairs that are shown (few)."""
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    if len(i) == 0:
        return []
    title = row_dots(f.title, i, j)
    description = row_dots(f.description, i, j)
    mun = row_dots(f.municipalities, i, j)
    mun_n = np.asarray(f.municipalities.getnnz(axis=1))
    dist = row_dots(f.districts_all, i, j)
    dist_n = np.asarray(f.districts_all.getnnz(axis=1))
    out = []
    for m in range(len(i)):
        a, b = int(i[m]), int(j[m])
        si, ei, sj, ej = f.start[a], f.end[a], f.start[b], f.end[b]
        share = math.nan
        if not (math.isnan(si) or math.isnan(sj)):
            ei = 1e9 if math.isnan(ei) else ei
            ej = 1e9 if math.isnan(ej) else ej
            shorter = min(ei - si + 1, ej - sj + 1)
            share = max(0.0, min(ei, ej) - max(si, sj) + 1) / shorter if shorter > 0 else 0.0
        gi, gj = int(f.groups[a]), int(f.groups[b])
        out.append(
            {
                "title": float(title[m]),
                "description": float(description[m]),
                "mun_shared": float(mun[m]),
                "mun_union": float(mun_n[a] + mun_n[b] - mun[m]),
                "dist_shared": float(dist[m]),
                "dist_union": float(dist_n[a] + dist_n[b] - dist[m]),
                "when": share,
                "groups_shared": float(bin(gi & gj).count("1")),
                "groups_union": float(bin(gi | gj).count("1")),
                "national_a": float(f.national[a]),
                "national_b": float(f.national[b]),
            }
        )
    return out


def explain(levels: np.ndarray, d: Mapping[str, float]) -> tuple[tuple[str, str, float, str], ...]:
    """Plain-language sentences, one per field, from the levels and the numbers."""
    parts: list[tuple[str, str, float, str]] = []
    for column, name in enumerate(FIELDS):
        level = int(levels[column])
        label = LEVELS[name][level]
        parts.append((name, label, WEIGHTS[name][level], _sentence(name, label, d)))
    order = ("category", "where", "when", "for_whom", "title", "description", "by_whom")
    return tuple(sorted(parts, key=lambda p: order.index(p[0])))


def _sentence(name: str, label: str, d: Mapping[str, float]) -> str:
    if name == "category":
        return {"same": _("same category"), "different": _("different categories")}.get(label, "")
    if name == "where":
        if label == "same":
            both = d.get("national_a") and d.get("national_b")
            return _("both national") if both else _("same areas")
        if label == "contains":
            if d.get("national_a") or d.get("national_b"):
                return _("a national initiative covers the other's areas")
            return _("the areas of one lie within the other's")
        if label == "municipalities":
            return _("{k} of {n} municipalities shared").format(
                k=int(d["mun_shared"]), n=int(d["mun_union"])
            )
        if label == "district":
            return _("{k} of {n} districts shared").format(
                k=int(d["dist_shared"]), n=int(d["dist_union"])
            )
        if label == "none":
            return _("no area in common")
        return _("areas unknown")
    if name == "when":
        if label in {"most", "some"}:
            return _("dates overlap {p} %").format(p=round(100 * d["when"]))
        return _("dates do not overlap") if label == "none" else _("dates unknown")
    if name == "for_whom":
        if label == "same":
            return _("same target group")
        if label == "some":
            return _("{k} of {n} target groups shared").format(
                k=int(d["groups_shared"]), n=int(d["groups_union"])
            )
        return _("different target groups") if label == "none" else ""
    if name == "title":
        if label == "missing":
            return ""
        return _("titles {x:.2f} similar").format(x=d["title"])
    if name == "description":
        if label == "missing":
            return ""
        if label == "boilerplate":
            return _("same standard description (ignored)")
        return _("descriptions {x:.2f} similar").format(x=d["description"])
    if name == "by_whom":
        return {"same": _("same organisation"), "different": _("different organisations")}.get(
            label, ""
        )
    return ""


# --- clusters ---------------------------------------------------------------------------


def clusters(pairs: Sequence[PairScore]) -> list[list[str]]:
    """Groups of records linked by pairs (connected components), largest first."""
    keys = sorted({k for p in pairs for k in p.pair})
    if not keys:
        return []
    number = {k: n for n, k in enumerate(keys)}
    rows = [number[p.key_a] for p in pairs]
    cols = [number[p.key_b] for p in pairs]
    graph = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(keys), len(keys)))
    count, labels = connected_components(graph, directed=False)
    groups: list[list[str]] = [[] for _n in range(count)]
    for key, label in zip(keys, labels, strict=True):
        groups[label].append(key)
    return sorted((g for g in groups if len(g) > 1), key=lambda g: (-len(g), g[0]))
