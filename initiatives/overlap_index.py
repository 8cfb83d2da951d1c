"""The overlap engine: features, candidate search and an explainable score. No database.

Pipeline (docs/overlaps.md explains the choices and the measured figures):

1. ``OverlapRecord``: what / where / when / for whom / by whom of one initiative.
2. Text is folded (lower case, accents removed), Portuguese and English stop words
   dropped, and each word cut to a six-letter stem (``apoiar``/``apoio`` and
   ``students``/``student`` meet). TF-IDF (sublinear tf, smoothed idf, L2: what
   scikit-learn's ``TfidfVectorizer`` gives) on titles and on descriptions.
3. Candidates: one sparse row per record (title and description stems plus blocking
   keys such as ``organisation+category`` and ``category+district``), keys held by too
   many records dropped, then a sparse top-k self-join (sparse_dot_topn). Cost grows
   with records x k, not records squared.
4. Each candidate pair gets comparison levels per field and Fellegi-Sunter weights
   (log2 m/u); their sum plus a prior is mapped to 0..1. The explanation is built from
   the same parts, so it always says why a pair scored as it did.
5. Pairs above the threshold are grouped into clusters (connected components).

Features are built for many records at once with numpy (one split per batch of texts,
integer codes for every categorical value, blocking keys as int64 codes), never one
Python string per key per record: that loop was most of the build time at 100k.

``OverlapIndex`` supports adding and replacing records one at a time (a saved
initiative) and checking one draft against everything in a few milliseconds.

Why one module of some 1,300 lines: the stages share private numpy layouts (word ids,
integer area ids, int64 blocking keys, the feature matrices) that would otherwise have
to become public API between files, and the speed figures in docs/overlaps.md depend
on them staying in step. Each stage is its own section and class: text folding and
stems (``StemVocabulary``, folding by ``hub.text.fold_ascii``), records
(``OverlapRecord``), comparison levels and weights (``PairScore``), areas
(``AreaTree``, ``AreaCodes``), blocking keys, the index and its top-k join and scoring
(``OverlapIndex``), and clusters at the end. Nothing here reads the database or the
settings: ``initiatives.overlap`` builds the records and the ``AreaTree`` (with the
country from ``geo.areas.country_code()``).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import ChainMap, Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import date
from itertools import chain, repeat
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from hub.i18n import _
from hub.text import fold_ascii

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


def stems(text: str, ignore: frozenset[str] = STOP_WORDS) -> list[str]:
    """Folded words without stop words, cut to a short stem (one text; ``StemVocabulary``
    does the same for a batch of texts at once)."""
    return [w[:STEM_LENGTH] for w in _WORD.findall(fold_ascii(text)) if w not in ignore]


# A batch of texts is joined around a separator word, folded, every other sign turned into
# a space (str.translate) and split once; each distinct word is looked up once and the
# rest is numpy over word ids. Per-text calls (fold, a regex, a list comprehension) were
# the largest part of the build.
_SEPARATOR = "\x00"
_SPACE_OUT = str.maketrans(
    {c: " " for c in map(chr, range(128)) if not ("a" <= c <= "z" or "0" <= c <= "9")}
    | {_SEPARATOR: _SEPARATOR}
)
_SEPARATOR_WORD = 0  # its word id
_IGNORED = -1  # the stem id of a stop word, place name, one-letter word or unseen stem
_HASH_BASE = np.uint64(0x9E3779B97F4A7C15)
TEXT_BATCH = 20_000  # texts per split: bounds the token list's memory


def _joined(texts: Sequence[str]) -> str:
    joined = f" {_SEPARATOR} ".join(texts)
    if joined.count(_SEPARATOR) != max(len(texts) - 1, 0):  # a text carries one itself
        joined = f" {_SEPARATOR} ".join(t.replace(_SEPARATOR, " ") for t in texts)
    return joined


class StemVocabulary:
    """Words to stem ids, shared by titles and descriptions (each distinct word is folded
    and stemmed once, and both fields have one stem id space).

    Place names are left to the "where" comparison: counted again as words, two
    different efforts in the same town would look alike twice over. Stems get ids while
    the index is fitted; after ``freeze`` an unseen stem is ignored, as a fitted
    vectorizer ignores words outside its vocabulary. New words are kept when records
    are added (``grow``) and get temporary ids in a query, so the table does not grow
    with every draft checked."""

    def __init__(self, place_names: Iterable[str] = ()) -> None:
        words = {w for name in place_names for w in _WORD.findall(fold_ascii(name))}
        self.ignore = STOP_WORDS | words
        self.stems: dict[str, int] = {}
        self.words: dict[str, int] = {_SEPARATOR: _SEPARATOR_WORD}
        self.stem_of = np.array([_IGNORED], dtype=np.int64)  # word id -> stem id
        self.frozen = False

    def __len__(self) -> int:
        return len(self.stems)

    def freeze(self) -> None:
        self.frozen = True

    def _stem_id(self, word: str) -> int:
        if len(word) < 2 or word in self.ignore:
            return _IGNORED
        stem = word[:STEM_LENGTH]
        if self.frozen:
            return self.stems.get(stem, _IGNORED)
        return self.stems.setdefault(stem, len(self.stems))

    def _word_ids(self, tokens: list[str], grow: bool) -> tuple[np.ndarray, np.ndarray]:
        """The word id of each token, and the stem id of every word id. One dictionary
        lookup per token; only the tokens not found go through Python again."""
        ids = np.fromiter(
            map(self.words.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens)
        )
        missing = np.flatnonzero(ids < 0)
        if len(missing) == 0:
            return ids, self.stem_of
        unknown = [tokens[n] for n in missing.tolist()]
        new = sorted(set(unknown))  # sorted: reproducible ids
        first = len(self.words)
        new_ids = dict(zip(new, range(first, first + len(new)), strict=True))
        new_stems = np.fromiter(map(self._stem_id, new), dtype=np.int64, count=len(new))
        ids[missing] = np.fromiter(map(new_ids.__getitem__, unknown), np.int64, len(unknown))
        stem_of = np.concatenate([self.stem_of, new_stems])
        if grow:
            self.words.update(new_ids)
            self.stem_of = stem_of
        return ids, stem_of

    def analyse(
        self, texts: Sequence[str], *, grow: bool = True
    ) -> tuple[sp.csr_matrix, np.ndarray]:
        """Stem counts (one row per text, one column per stem id), and a hash of each
        text's word sequence (0: no word)."""
        blocks: list[sp.csr_matrix] = []
        hashes = np.zeros(len(texts), dtype=np.int64)
        for start in range(0, len(texts), TEXT_BATCH):
            batch = texts[start : start + TEXT_BATCH]
            tokens = fold_ascii(_joined(batch)).translate(_SPACE_OUT).split()
            ids, stem_of = self._word_ids(tokens, grow)
            separator = ids == _SEPARATOR_WORD
            text = np.cumsum(separator)[~separator]  # the text each word belongs to
            words = ids[~separator]
            hashes[start : start + len(batch)] = _sequence_hashes(words, text, len(batch))
            stem = stem_of[words]
            kept = stem >= 0
            # Counted batch by batch: a million descriptions' (text, stem) pairs would take
            # more memory than their counts. The stems seen so far give the width.
            width = max(len(self.stems), int(stem.max(initial=-1)) + 1, 1)
            counts = np.ones(int(kept.sum()), dtype=np.float32)
            blocks.append(_csr(counts, text[kept], stem[kept], (len(batch), width)))
        width = max(len(self.stems), *(b.shape[1] for b in blocks), 1)
        matrices = [_widen(b, width) for b in blocks]
        if not matrices:
            return sp.csr_matrix((0, width), dtype=np.float32), hashes
        if len(matrices) == 1:
            return matrices[0], hashes
        return sp.vstack(matrices, format="csr", dtype=np.float32), hashes


def _sequence_hashes(words: np.ndarray, text: np.ndarray, count: int) -> np.ndarray:
    """Per text, sum of (word id + 1) x B^position mod 2^64: equal for the same words in
    the same order (whatever the case, accents, punctuation or spacing); 0 for no word.
    ``text`` (the text of each word) is sorted."""
    first = np.searchsorted(text, np.arange(count))
    after = np.searchsorted(text, np.arange(count), side="right")
    if len(words) == 0:
        return np.zeros(count, dtype=np.int64)
    position = np.arange(len(words)) - first[text]
    powers = np.ones(int(position.max()) + 1, dtype=np.uint64)
    powers[1:] = np.cumprod(np.full(len(powers) - 1, _HASH_BASE, dtype=np.uint64))
    terms = (words.astype(np.uint64) + np.uint64(1)) * powers[position]
    running = np.zeros(len(words) + 1, dtype=np.uint64)
    np.cumsum(terms, dtype=np.uint64, out=running[1:])
    hashes = (running[after] - running[first]).view(np.int64)
    hashes[(hashes == 0) & (after > first)] = 1
    hashes[after == first] = 0
    return hashes


def idf(counts: sp.csr_matrix) -> np.ndarray:
    """Smoothed inverse document frequency per column, 0 for a column no row uses (so a
    stem met only in descriptions carries no weight in titles)."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    weights = np.log((1.0 + counts.shape[0]) / (1.0 + df)) + 1.0
    weights[df == 0] = 0.0
    return weights.astype(np.float32)


def tfidf(counts: sp.csr_matrix, weights: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf x idf, rows L2-normalised; takes over ``counts``."""
    counts.data = (1.0 + np.log(counts.data)) * weights[counts.indices]
    counts.eliminate_zeros()
    return normalize(counts, copy=False)


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
    """Area code -> parent code (None for the country), from geo.areas."""

    parents: Mapping[str, str | None]
    country: str  # the country's code (geo.areas.country_code(); the engine reads no settings)
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


# --- building blocks ------------------------------------------------------------------------


def _csr(
    data: np.ndarray, rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """A CSR matrix from coordinates, repeated coordinates summed, indices sorted."""
    matrix = sp.csr_matrix((data, (rows, columns)), shape=shape)
    matrix.sum_duplicates()
    return matrix


def _binary_rows(rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    matrix = _csr(np.ones(len(rows), dtype=np.float32), rows, columns, shape)
    matrix.data[:] = 1.0
    return matrix


def _widen(matrix: sp.csr_matrix, columns: int) -> sp.csr_matrix:
    if matrix.shape[1] >= columns:
        return matrix
    return sp.csr_matrix((matrix.data, matrix.indices, matrix.indptr), (matrix.shape[0], columns))


def _stack(top: sp.csr_matrix | None, bottom: sp.csr_matrix) -> sp.csr_matrix:
    if top is None:
        return bottom
    columns = max(top.shape[1], bottom.shape[1])
    return sp.vstack([_widen(top, columns), _widen(bottom, columns)], format="csr")


def _drop_columns(matrix: sp.csr_matrix, dropped: np.ndarray, offset: int = 0) -> sp.csr_matrix:
    """``matrix`` without the entries of columns c where dropped[offset + c] is set
    (columns past the end of ``dropped`` are kept)."""
    flags = np.zeros(matrix.shape[1], dtype=bool)
    known = dropped[offset : offset + matrix.shape[1]]
    flags[: len(known)] = known
    keep = ~flags[matrix.indices]
    kept_before = np.zeros(len(keep) + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    return sp.csr_matrix(
        (matrix.data[keep], matrix.indices[keep], kept_before[matrix.indptr]), shape=matrix.shape
    )


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand per-row counts: [2, 0, 3] -> owners [0, 0, 2, 2, 2], ranks [0, 1, 0, 1, 2]."""
    owners = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owners, np.arange(len(owners)) - starts[owners]


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` for int64, through a plain sort (numpy 2.4's unique is ~80x slower)."""
    values = np.sort(values)
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _codes(vocabulary: dict[Any, int], values: Sequence[Any], *, grow: bool) -> np.ndarray:
    """An integer code per value, -1 for an empty one. New values get the next codes; kept
    in ``vocabulary`` only when ``grow`` (a one-record query leaves the index unchanged)."""
    new = [v for v in dict.fromkeys(values) if v and v not in vocabulary]
    lookup: Mapping[Any, int] = vocabulary
    first = len(vocabulary)
    if grow:
        vocabulary.update((v, first + n) for n, v in enumerate(new))
    elif new:
        lookup = ChainMap({v: first + n for n, v in enumerate(new)}, vocabulary)
    return np.fromiter(map(lookup.get, values, repeat(-1)), dtype=np.int64, count=len(values))


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _days_and_quarters(dates: Sequence[date | None]) -> tuple[np.ndarray, np.ndarray]:
    """Proleptic ordinal (NaN when unknown) and quarter number (year x 4 + quarter - 1).
    Through ``toordinal`` (a valid date's is >= 1): numpy converts date objects ~15x
    slower."""
    ordinal = np.fromiter(
        (0 if d is None else d.toordinal() for d in dates), dtype=np.int64, count=len(dates)
    )
    unknown = ordinal == 0
    months = (ordinal - _EPOCH_ORDINAL).astype("datetime64[D]").astype("datetime64[M]")
    quarter = (months.astype(np.int64) + 1970 * 12) // 3
    quarter[unknown] = 0
    days = ordinal.astype(np.float64)
    days[unknown] = math.nan
    return days, quarter


def normalize(matrix: sp.csr_matrix, copy: bool = True) -> sp.csr_matrix:
    """L2-normalise rows in float32 (sklearn's normalize without its per-call validation
    cost), with one temporary the size of the data: at a million rows the candidate
    matrix's normalisation was the build's memory peak."""
    matrix = matrix.tocsr(copy=copy)
    if matrix.data.dtype != np.float32:
        matrix.data = matrix.data.astype(np.float32)
    lengths = np.diff(matrix.indptr)
    norms = np.ones(matrix.shape[0], dtype=np.float32)
    filled = np.flatnonzero(lengths)
    if len(filled):
        squares = np.square(matrix.data[: matrix.indptr[-1]])
        sums = np.add.reduceat(squares, matrix.indptr[filled], dtype=np.float64)
        del squares
        norms[filled] = np.sqrt(sums)
        norms[norms == 0] = 1.0
    matrix.data /= np.repeat(norms, lengths)
    return matrix


# --- areas as integer ids -------------------------------------------------------------------

_COUNTRY, _DISTRICT, _MUNICIPALITY = 0, 1, 2


class AreaCodes:
    """Area code -> integer id, with each id's level and district (-1: none).

    The tree's areas get ids in code order, so a row's districts sorted by id are sorted
    by code. A code outside the tree is a municipality of no known district (what
    ``AreaTree.level`` says of it)."""

    def __init__(self, tree: AreaTree) -> None:
        self.tree = tree
        self.ids: dict[str, int] = {}
        self.level = np.zeros(0, dtype=np.int8)
        self.district = np.zeros(0, dtype=np.int64)
        self.add(sorted({*tree.parents, tree.country}))
        self.all_districts = np.array([self.ids[d] for d in tree.districts()], dtype=np.int64)

    def add(self, codes: Iterable[str]) -> None:
        new = [c for c in dict.fromkeys(codes) if c not in self.ids]
        if not new:
            return
        first = len(self.ids)
        self.ids.update((code, first + n) for n, code in enumerate(new))
        levels = {"country": _COUNTRY, "district": _DISTRICT, "municipality": _MUNICIPALITY}
        level = np.array([levels[self.tree.level(c)] for c in new], dtype=np.int8)
        district = np.full(len(new), -1, dtype=np.int64)
        for n, code in enumerate(new):
            if level[n] == _DISTRICT:
                district[n] = self.ids[code]
            elif level[n] == _MUNICIPALITY:
                parent = self.tree.district_of(code)  # a tree area, so it has an id
                district[n] = -1 if parent is None else self.ids[parent]
        self.level = np.concatenate([self.level, level])
        self.district = np.concatenate([self.district, district])

    def entries(self, area_sets: Sequence[frozenset[str]]) -> tuple[np.ndarray, np.ndarray]:
        """(row, area id) for every area of every record."""
        flat = list(chain.from_iterable(area_sets))
        self.add(flat)
        lengths = np.fromiter(map(len, area_sets), dtype=np.int64, count=len(area_sets))
        ids = np.fromiter(map(self.ids.__getitem__, flat), dtype=np.int64, count=len(flat))
        return np.repeat(np.arange(len(area_sets)), lengths), ids


# --- blocking keys --------------------------------------------------------------------------

MAX_KEY_DISTRICTS = 4
MAX_KEY_QUARTERS = 4

# A blocking key is one int64: kind, category + 1, a value (organisation, target group or
# district id) and a quarter, in 2 + 13 + 24 + 24 bits. Integers rather than strings
# like "cdq:education|PT-11|8081": building those was a third of the build time.
_CATEGORY_BITS, _VALUE_BITS = 13, 24
_OC, _CG, _CDQ, _CD = 0, 1, 2, 3


def _key_codes(
    kind: int, category: np.ndarray, value: np.ndarray, quarter: np.ndarray | None = None
) -> np.ndarray:
    for part, bits in ((category, _CATEGORY_BITS), (value, _VALUE_BITS), (quarter, _VALUE_BITS)):
        if part is not None and len(part) and int(part.max()) >= 1 << bits:
            raise ValueError("too many categories, organisations or groups for a key")
    code = (np.int64(kind) << _CATEGORY_BITS) + category
    code = (code << _VALUE_BITS) + value
    return (code << _VALUE_BITS) + (0 if quarter is None else quarter)


def blocking_keys(
    *,
    category: np.ndarray,
    organisation: np.ndarray,
    group_rows: np.ndarray,
    group_ids: np.ndarray,
    national: np.ndarray,
    districts: sp.csr_matrix,
    all_districts: np.ndarray,
    first_quarter: np.ndarray,
    quarters: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(row, key code) of every record's keys: organisation+category; category+target
    group; category+district+quarter for each district (a national record: every
    district, so it meets its regional copies; others their first MAX_KEY_DISTRICTS) and
    each of the first MAX_KEY_QUARTERS quarters it runs; category+district if undated."""
    cat = category + 1  # no category is a value of its own in a key
    with_organisation = np.flatnonzero(organisation >= 0)

    regional = np.minimum(np.diff(districts.indptr), MAX_KEY_DISTRICTS)
    regional[national] = 0
    owners, ranks = _ragged(regional)
    national_rows = np.flatnonzero(national)
    place_rows = np.concatenate([owners, np.repeat(national_rows, len(all_districts))])
    place_district = np.concatenate(
        [
            districts.indices[districts.indptr[owners] + ranks].astype(np.int64),
            np.tile(all_districts, len(national_rows)),
        ]
    )
    place_quarters = quarters[place_rows]
    owners, ranks = _ragged(place_quarters)
    dated_rows = place_rows[owners]
    undated = np.flatnonzero(place_quarters == 0)
    undated_rows = place_rows[undated]

    rows = np.concatenate([with_organisation, group_rows, dated_rows, undated_rows])
    codes = np.concatenate(
        [
            _key_codes(_OC, cat[with_organisation], organisation[with_organisation]),
            _key_codes(_CG, cat[group_rows], group_ids),
            _key_codes(
                _CDQ, cat[dated_rows], place_district[owners], first_quarter[dated_rows] + ranks
            ),
            _key_codes(_CD, cat[undated_rows], place_district[undated]),
        ]
    )
    return rows, codes


def quarters_run(
    start_quarter: np.ndarray, end_quarter: np.ndarray, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """How many quarters from the start quarter a record's keys name (0: undated)."""
    last = np.where(np.isnan(end), start_quarter, end_quarter)
    count = np.minimum(last, start_quarter + MAX_KEY_QUARTERS - 1) - start_quarter + 1
    count = np.clip(count, 0, MAX_KEY_QUARTERS)
    count[np.isnan(start)] = 0
    return count


# --- the index ----------------------------------------------------------------------------


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
    area_set: np.ndarray  # an id per distinct set of areas; -1: none
    has_areas: np.ndarray
    category: np.ndarray
    organisation: np.ndarray
    groups: np.ndarray
    start: np.ndarray
    end: np.ndarray
    description_hash: np.ndarray  # of the word sequence (boilerplate); 0: no word
    title_empty: np.ndarray
    description_empty: np.ndarray


_FEATURE_NAMES = tuple(f.name for f in fields(_Features))


class _Texts(NamedTuple):
    """The text features of a batch of records."""

    title: sp.csr_matrix  # TF-IDF rows
    description: sp.csr_matrix
    description_hash: np.ndarray  # of the word sequence, for boilerplate; 0: no word


JOIN_ROWS = 100_000  # rows per top-k call: bounds the memory of one result block
JOIN_THREADS = 2  # sparse_dot_topn splits each call's rows over this many threads
SCORE_PAIRS = 250_000  # pairs scored at a time: bounds the temporaries of score_arrays
SCORE_THREADS = 2


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
    _title_idf: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.float32))
    _description_idf: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.float32))
    _areas: AreaCodes | None = None
    _codes: dict[str, dict[Any, int]] = field(default_factory=dict)
    _key_columns: dict[int, int] = field(default_factory=dict)
    _features: _Features | None = None
    _candidate_base_t: sp.csr_matrix | None = None  # transposed, for one-row queries
    _base_rows: int = 0
    _dropped_keys: np.ndarray | None = None
    _description_counts: Counter[int] = field(default_factory=Counter)
    _last_draft: tuple[int, OverlapRecord, _Features] | None = None
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
        # Titles and descriptions share one word table (each word folded and stemmed
        # once) and one stem id space; each field has its own IDF.
        self._words = StemVocabulary(self.tree.names.values())
        title, _hashes = self._words.analyse([r.title for r in records])
        description, description_hash = self._words.analyse([r.description for r in records])
        self._words.freeze()
        width = max(len(self._words), 1)
        title, description = _widen(title, width), _widen(description, width)
        self._title_idf, self._description_idf = idf(title), idf(description)
        self._areas = AreaCodes(self.tree)
        self._codes = {"category": {}, "organisation": {}, "group": {}, "area_set": {}}
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
            [np.bincount(m.indices, minlength=width) > cap for m in (title, description)]
        )
        texts = _Texts(
            tfidf(title, self._title_idf),
            tfidf(description, self._description_idf),
            description_hash,
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
            matrix = _drop_columns(matrix, self._dropped_keys)
        return normalize(matrix, copy=False)

    def __len__(self) -> int:
        return int(self.alive.sum())

    # -- features ---------------------------------------------------------------------

    def _featurise(
        self,
        records: Sequence[OverlapRecord],
        texts: _Texts | None = None,
        *,
        grow: bool = True,
    ) -> _Features:
        """Features of ``records`` with this index's vocabularies; ``grow=False`` (a
        query) gives new values temporary codes instead of adding them."""
        assert self._areas is not None
        n = len(records)
        if texts is None:
            title, _hashes = self._words.analyse([r.title for r in records], grow=grow)
            description, description_hash = self._words.analyse(
                [r.description for r in records], grow=grow
            )
            texts = _Texts(
                tfidf(title, self._title_idf),
                tfidf(description, self._description_idf),
                description_hash,
            )
        title, description = texts.title, texts.description

        areas = self._areas
        area_sets = [r.areas for r in records]
        area_rows, area_ids = areas.entries(area_sets)
        shape = (n, len(areas.ids))
        level = areas.level[area_ids]
        national = np.zeros(n, dtype=bool)
        national[area_rows[level == _COUNTRY]] = True
        municipal, whole = level == _MUNICIPALITY, level == _DISTRICT
        district = areas.district[area_ids]
        known = district >= 0
        districts_all = _binary_rows(area_rows[known], district[known], shape)

        category = _codes(self._codes["category"], [r.category for r in records], grow=grow)
        organisation = _codes(
            self._codes["organisation"], [r.organisation for r in records], grow=grow
        )
        group_sets = [r.target_groups for r in records]
        group_counts = np.fromiter(map(len, group_sets), dtype=np.int64, count=n)
        group_rows = np.repeat(np.arange(n), group_counts)
        group_ids = _codes(self._codes["group"], list(chain.from_iterable(group_sets)), grow=grow)
        named = group_ids >= 0  # an empty group name is no group
        group_rows, group_ids = group_rows[named], group_ids[named]
        groups = np.zeros(n, dtype=np.uint64)
        np.bitwise_or.at(groups, group_rows, np.uint64(1) << (group_ids % 64).astype(np.uint64))

        start, start_quarter = _days_and_quarters([r.start for r in records])
        end, end_quarter = _days_and_quarters([r.end for r in records])
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
        key_columns = self._key_columns_of(key_codes, grow=grow)
        # A query's new keys have temporary columns past the vocabulary's.
        key_width = max(len(self._key_columns), int(key_columns.max(initial=-1)) + 1, 1)
        keys = normalize(_binary_rows(key_rows, key_columns, (n, key_width)), copy=False)

        # Candidate row: title | 0.8 x description | 0.8 x keys, without the stems and
        # keys held by too many records, L2-normalised. The stems dropped at the fit go
        # before the rows are stacked: at a million records they are most of the text.
        stems = title.shape[1]
        title_part, description_part = title, description
        if self._dropped_keys is not None:
            title_part = _drop_columns(title, self._dropped_keys)
            description_part = _drop_columns(description, self._dropped_keys, stems)
        candidate = sp.hstack([title_part, description_part, keys], format="csr", dtype=np.float32)
        candidate.data[candidate.indices >= stems] *= 0.8
        candidate = self._prune(candidate)
        return _Features(
            title=title,
            description=description,
            candidate=candidate,
            municipalities=_binary_rows(area_rows[municipal], area_ids[municipal], shape),
            districts_all=districts_all,
            districts_whole=_binary_rows(area_rows[whole], area_ids[whole], shape),
            national=national,
            area_set=_codes(self._codes["area_set"], area_sets, grow=grow),
            has_areas=np.fromiter(map(bool, area_sets), dtype=bool, count=n),
            category=category,
            organisation=organisation,
            groups=groups,
            start=start,
            end=end,
            description_hash=texts.description_hash,
            title_empty=np.diff(title.indptr) == 0,
            description_empty=np.diff(description.indptr) == 0,
        )

    def _draft_features(self, record: OverlapRecord) -> _Features:
        """Features of a record checked against the index (not added). The form's check
        asks ``query`` then ``score_against`` for the same draft: the last one is kept."""
        last = self._last_draft
        if last is not None and last[0] == self.generation and last[1] == record:
            return last[2]
        features = self._featurise([record], grow=False)
        self._last_draft = (self.generation, record, features)
        return features

    def _key_columns_of(self, codes: np.ndarray, *, grow: bool) -> np.ndarray:
        """The candidate-matrix key column of each key code. New keys get the next
        columns (kept only when ``grow``); only distinct codes pass through Python."""
        unique = _sorted_unique(codes)
        columns = self._key_columns
        new = [c for c in unique.tolist() if c not in columns]
        lookup: Mapping[int, int] = columns
        first = len(columns)
        if grow:
            columns.update((c, first + n) for n, c in enumerate(new))
        elif new:
            lookup = ChainMap({c: first + n for n, c in enumerate(new)}, columns)
        of_unique = np.fromiter(
            map(lookup.__getitem__, unique.tolist()), dtype=np.int64, count=len(unique)
        )
        return of_unique[np.searchsorted(unique, codes)]

    def _append(self, records: Sequence[OverlapRecord], texts: _Texts | None = None) -> None:
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
            self._features = _Features(
                **{
                    name: _merge(getattr(old_features, name), getattr(new, name))
                    for name in _FEATURE_NAMES
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
        from sparse_dot_topn import sp_matmul_topn

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
        codes: list[np.ndarray] = []
        for start in range(0, n, rows_per_call):
            block = sp_matmul_topn(
                matrix[start : start + rows_per_call],
                transposed,
                top_n=self.top_k + 1,  # each row finds itself too
                threshold=threshold,
                n_threads=JOIN_THREADS,
            )
            rows = np.repeat(
                np.arange(start, start + block.shape[0], dtype=np.int64), np.diff(block.indptr)
            )
            columns = block.indices.astype(np.int64)
            other = rows != columns
            rows, columns = rows[other], columns[other]
            # One int64 per unordered pair, so a pair found from both sides is one pair.
            codes.append(np.minimum(rows, columns) * n + np.maximum(rows, columns))
            del block, rows, columns
        pairs = _sorted_unique(np.concatenate(codes)) if codes else np.zeros(0, dtype=np.int64)
        del codes
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
        """Probabilities and comparison levels (pairs x fields) for position pairs,
        SCORE_PAIRS at a time so the temporaries stay small at a million records."""
        features, counts = self._features, self._description_counts
        assert features is not None
        probabilities = np.zeros(len(i))
        levels = np.zeros((len(i), len(FIELDS)), dtype=np.int8)

        def score(part: slice) -> None:
            probabilities[part], levels[part] = score_arrays(
                features, features, counts, i[part], j[part]
            )

        parts = [slice(start, start + SCORE_PAIRS) for start in range(0, len(i), SCORE_PAIRS)]
        if len(parts) == 1:
            score(parts[0])
        else:  # numpy and scipy's sparse kernels let go of the GIL: both cores work
            with ThreadPoolExecutor(SCORE_THREADS) as pool:
                list(pool.map(score, parts))
        return probabilities, levels

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
        probabilities, levels = score_arrays(one, self._features, counts, i, j)
        details = _details(one, self._features, i, j)
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
        features = self._features
        assert features is not None
        details = _details(features, features, i[keep], j[keep])
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


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, sp.csr_matrix):
        return _stack(old, new)
    return np.concatenate([old, new])


def _level(values: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    levels = np.full(len(values), len(cuts), dtype=np.int8)
    for n, cut in reversed(list(enumerate(cuts))):
        levels[values >= cut] = n
    return levels


def score_arrays(
    f: _Features,
    g: _Features,
    description_counts: Mapping[int, int],
    i: np.ndarray,
    j: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Comparison levels per field for pairs (row i[n] of ``f``, row j[n] of ``g``), and
    the match probability. ``f`` and ``g`` are the index's features, or a draft's and
    the index's (no need to stack them)."""
    n = len(i)
    levels = np.zeros((n, len(FIELDS)), dtype=np.int8)
    if n == 0:
        return np.zeros(0), levels
    title = row_dots(f.title, g.title, i, j)
    level = _level(title, TITLE_CUTS)
    level[f.title_empty[i] | g.title_empty[j]] = 4
    levels[:, 0] = level

    description = row_dots(f.description, g.description, i, j)
    level = _level(description, DESCRIPTION_CUTS)
    level[f.description_empty[i] | g.description_empty[j]] = 4
    hi, hj = f.description_hash[i], g.description_hash[j]
    same = np.flatnonzero((hi == hj) & (hi != 0))
    if len(same):
        # The same text on BOILERPLATE_MIN+ records: look each distinct text up once.
        digests = _sorted_unique(hi[same])
        common = np.array([description_counts.get(d, 0) >= BOILERPLATE_MIN for d in digests])
        level[same[common[np.searchsorted(digests, hi[same])]]] = 5
    levels[:, 1] = level

    ci, cj = f.category[i], g.category[j]
    levels[:, 2] = np.where((ci < 0) | (cj < 0), 2, np.where(ci == cj, 0, 1))

    levels[:, 3] = _where_levels(f, g, i, j)

    si, ei, sj, ej = f.start[i], f.end[i], g.start[j], g.end[j]
    far = 1e9
    ei_f, ej_f = np.where(np.isnan(ei), far, ei), np.where(np.isnan(ej), far, ej)
    overlap = np.minimum(ei_f, ej_f) - np.maximum(si, sj) + 1
    shorter = np.minimum(ei_f - si + 1, ej_f - sj + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(shorter > 0, overlap / shorter, 0)
    when = np.where(share >= 0.8, 0, np.where(share > 0, 1, 2))
    when[np.isnan(si) | np.isnan(sj)] = 3
    levels[:, 4] = when

    gi, gj = f.groups[i], g.groups[j]
    shared = np.bitwise_count(gi & gj)
    levels[:, 5] = np.where(
        (gi == 0) | (gj == 0), 3, np.where(gi == gj, 0, np.where(shared > 0, 1, 2))
    )

    oi, oj = f.organisation[i], g.organisation[j]
    levels[:, 6] = np.where((oi < 0) | (oj < 0), 2, np.where(oi == oj, 0, 1))

    total = np.full(n, PRIOR)
    for column, name in enumerate(FIELDS):
        total += np.asarray(WEIGHTS[name])[levels[:, column]]
    return probability(total), levels


def _where_levels(f: _Features, g: _Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """The "where" level depends only on the two sets of areas, and a few sets (one
    district, the whole country) recur across thousands of records: work it out once per
    distinct pair of sets."""
    first, inverse = _distinct((f.area_set[i] + 1) * (1 << 32) + (g.area_set[j] + 1))
    return _area_levels(f, g, i[first], j[first])[inverse]


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each distinct value first occurs, and the distinct value of each element."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.ones(len(values), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return order[new], inverse


def _row_lengths(matrix: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    return matrix.indptr[rows + 1] - matrix.indptr[rows]


def _area_levels(f: _Features, g: _Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    mun = row_dots(f.municipalities, g.municipalities, i, j)
    dist = row_dots(f.districts_all, g.districts_all, i, j)
    dall_i, dall_j = _row_lengths(f.districts_all, i), _row_lengths(g.districts_all, j)
    j_in_i = row_dots(f.districts_whole, g.districts_all, i, j)
    i_in_j = row_dots(f.districts_all, g.districts_whole, i, j)
    contained = ((dall_j > 0) & (j_in_i >= dall_j)) | ((dall_i > 0) & (i_in_j >= dall_i))
    ni, nj = f.national[i], g.national[j]
    level = np.full(len(i), 4, dtype=np.int8)
    level[dist > 0] = 3
    level[mun > 0] = 2
    level[contained] = 1
    level[ni ^ nj] = 1
    level[(f.area_set[i] == g.area_set[j]) | (ni & nj)] = 0
    level[~f.has_areas[i] | ~g.has_areas[j]] = 5
    return level


FEW_PAIRS = 256  # up to this many pairs, row_dots works on the CSR arrays itself


def row_dots(
    a: sp.csr_matrix, b: sp.csr_matrix, i: np.ndarray, j: np.ndarray, chunk: int = 400_000
) -> np.ndarray:
    """Dot product of row i[n] of ``a`` and row j[n] of ``b`` (CSR, sorted indices).

    Many pairs: scipy's kernels, in chunks to bound memory. A few (a form's check):
    scipy's per-call checks cost more than the arithmetic, so match the rows' column
    indices with numpy instead."""
    if len(i) <= FEW_PAIRS:
        return _few_row_dots(a, b, i, j)
    columns = max(a.shape[1], b.shape[1])
    a, b = _widen(a, columns), _widen(b, columns)
    out = np.zeros(len(i), dtype=np.float32)
    for start in range(0, len(i), chunk):
        ia, jb = i[start : start + chunk], j[start : start + chunk]
        out[start : start + chunk] = np.asarray(a[ia].multiply(b[jb]).sum(axis=1)).ravel()
    return out


def _row_entries(
    matrix: sp.csr_matrix, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, column, value) of every entry of row rows[n], in row then column order."""
    start = matrix.indptr[rows]
    owners, ranks = _ragged(matrix.indptr[rows + 1] - start)
    at = start[owners] + ranks
    return owners, matrix.indices[at], matrix.data[at]


def _few_row_dots(a: sp.csr_matrix, b: sp.csr_matrix, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    pair_a, column_a, value_a = _row_entries(a, np.asarray(i, dtype=np.int64))
    pair_b, column_b, value_b = _row_entries(b, np.asarray(j, dtype=np.int64))
    if len(pair_a) == 0 or len(pair_b) == 0:
        return np.zeros(len(i), dtype=np.float32)
    width = max(a.shape[1], b.shape[1])
    key_a, key_b = pair_a * width + column_a, pair_b * width + column_b  # both sorted
    at = np.minimum(np.searchsorted(key_b, key_a), len(key_b) - 1)
    hit = key_b[at] == key_a
    products = value_a[hit].astype(np.float64) * value_b[at[hit]]
    return np.bincount(pair_a[hit], weights=products, minlength=len(i)).astype(np.float32)


def _details(f: _Features, g: _Features, i: np.ndarray, j: np.ndarray) -> list[dict[str, float]]:
    """The numbers the sentences quote, for pairs that are shown (few)."""
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    if len(i) == 0:
        return []
    title = row_dots(f.title, g.title, i, j)
    description = row_dots(f.description, g.description, i, j)
    mun = row_dots(f.municipalities, g.municipalities, i, j)
    mun_i, mun_j = _row_lengths(f.municipalities, i), _row_lengths(g.municipalities, j)
    dist = row_dots(f.districts_all, g.districts_all, i, j)
    dist_i, dist_j = _row_lengths(f.districts_all, i), _row_lengths(g.districts_all, j)
    out = []
    for m in range(len(i)):
        a, b = int(i[m]), int(j[m])
        si, ei, sj, ej = f.start[a], f.end[a], g.start[b], g.end[b]
        share = math.nan
        if not (math.isnan(si) or math.isnan(sj)):
            ei = 1e9 if math.isnan(ei) else ei
            ej = 1e9 if math.isnan(ej) else ej
            shorter = min(ei - si + 1, ej - sj + 1)
            share = max(0.0, min(ei, ej) - max(si, sj) + 1) / shorter if shorter > 0 else 0.0
        gi, gj = int(f.groups[a]), int(g.groups[b])
        out.append(
            {
                "title": float(title[m]),
                "description": float(description[m]),
                "mun_shared": float(mun[m]),
                "mun_union": float(mun_i[m] + mun_j[m] - mun[m]),
                "dist_shared": float(dist[m]),
                "dist_union": float(dist_i[m] + dist_j[m] - dist[m]),
                "when": share,
                "groups_shared": float(bin(gi & gj).count("1")),
                "groups_union": float(bin(gi | gj).count("1")),
                "national_a": float(f.national[a]),
                "national_b": float(g.national[b]),
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
