"""Scoring of the overlap engine: the Fellegi-Sunter weights per field (curves for the
similarities, levels for the rest, identifiers by their rarity) and ``score_arrays``,
which gives levels, weights and the match probability of many pairs at once from two
sets of ``Features``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from initiatives.overlap_arrays import row_dots, row_lengths, sorted_unique

# --- comparison levels and weights ------------------------------------------------------

# Fellegi-Sunter form: the score is a prior plus one weight (log2 odds) per field, mapped
# to 0..1. A field unknown on either side (no areas, no dates, no description) adds 0:
# missing is not disagreement, so the threshold means the same whatever fields a pair
# has. Similarities contribute continuously: a curve through the weights at KNOTS,
# interpolated. Short records (both SHORT_TEXT characters or fewer) are compared on
# character trigrams of their whole text ("text") instead of words (title and
# description). Identifiers shared are strong evidence; their weight depends on how rare
# the value is (IDENTIFIERS). Curves, levels and prior are fitted jointly by
# benchmarks/overlap_quality.py --fit on the training half of the labelled benchmark
# (full records, records with the other fields blanked, short versions); the held-out
# half and the outside sets give the printed figures.
FIELDS = (
    "title",
    "description",
    "text",
    "identifiers",
    "category",
    "where",
    "when",
    "for_whom",
    "by_whom",
)
# Each curve, the field and level it weighs: a description compared across languages
# (one Portuguese, one English, told by their stop words) has its own curve, since
# through the lexicon the same effort shares fewer words than in one language.
CURVE_OF = {
    "title": ("title", 0),
    "description": ("description", 0),
    "description_across": ("description", 4),
    "text": ("text", 0),
}
CONTINUOUS = tuple(CURVE_OF)
LEVELS: dict[str, tuple[str, ...]] = {
    "title": ("compared", "missing", "short"),
    "description": ("compared", "missing", "boilerplate", "short", "across"),
    "text": ("compared", "long"),
    "identifiers": ("shared", "conflict", "unknown"),
    "category": ("same", "different", "missing"),
    "where": ("same", "contains", "municipalities", "district", "none", "unknown"),
    "when": ("most", "some", "none", "unknown"),
    "for_whom": ("same", "some", "none", "unknown"),
    "by_whom": ("same", "different", "unknown"),
}
KNOTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
CURVES: dict[str, tuple[float, ...]] = {
    "title": (-1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.25, -1.0, -1.0, -0.75, -0.25),
    "description": (-1.25, -1.25, 0.0, 1.75, 4.0, 5.5, 6.0, 6.25, 7.0, 7.75, 8.5),
    "description_across": (-0.25, 0.25, 2.0, 3.5, 4.5, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0),
    "text": (0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 5.5, 7.0, 8.0, 9.0, 10.5),
}
WEIGHTS: dict[str, tuple[float, ...]] = {
    "category": (-0.75, -2.25, 0.0),
    "where": (2.0, 0.25, 3.25, 0.0, -8.75, 0.0),
    "when": (3.5, 3.25, -9.75, 0.0),
    "for_whom": (0.25, 0.0, -3.5, 0.0),
    "by_whom": (-3.0, -0.25, 0.0),
}
PRIOR = -4.75


@dataclass(frozen=True)
class IdentifierWeights:
    """Fellegi-Sunter weights of identifiers. A value held by a share f of the records
    agrees by chance with probability about f, so sharing it is worth log2(m / f) with
    m, the chance that a true pair keeps it, taken as 1/8: log2(1 / f) - 3, from 0 up to
    a cap per kind (a postcode or street number is never as telling as a phone number).
    Both sides carrying identifiers of a kind and sharing none (a changed number, a
    typo) is the conflict weight."""

    long_cap: float = 8.0
    short_cap: float = 3.0
    domain_cap: float = 5.0
    long_conflict: float = -2.0
    short_conflict: float = 0.0
    domain_conflict: float = -1.0
    m_bits: float = 3.0


IDENTIFIERS = IdentifierWeights()
BOILERPLATE_MIN = 4  # the same description on this many records carries no evidence


def curve(name: str, similarity: np.ndarray) -> np.ndarray:
    """The weight of a similarity on ``name``'s curve (interpolated between knots)."""
    return np.interp(similarity, KNOTS, CURVES[name]).astype(np.float64)


def probability(total: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-total))


@dataclass
class Features:
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
    characters: sp.csr_matrix  # char trigram TF-IDF of title + description; short only
    short: np.ndarray  # a short record (SHORT_TEXT characters or fewer, some text)
    language: np.ndarray  # +1 Portuguese, -1 English, 0 not known (from stop words)
    long_numbers: sp.csr_matrix  # identifiers, one column each (binary)
    short_numbers: sp.csr_matrix
    domains: sp.csr_matrix


FEATURE_NAMES = tuple(f.name for f in fields(Features))

SCORE_PAIRS = 150_000  # pairs scored at a time: bounds the temporaries of score_arrays
SCORE_THREADS = 2


class ScoringContext(NamedTuple):
    description_counts: Mapping[int, int]
    identifier_weights: Mapping[str, np.ndarray]  # per kind, the weight of each column


IDENTIFIER_KINDS = (
    ("long_numbers", "long_cap", "long_conflict"),
    ("short_numbers", "short_cap", "short_conflict"),
    ("domains", "domain_cap", "domain_conflict"),
)


def identifier_weights(features: Features | None, records: int) -> dict[str, np.ndarray]:
    """log2(1 / share of the other records holding it) - m_bits per column, 0..cap."""
    out: dict[str, np.ndarray] = {}
    for name, cap, _conflict in IDENTIFIER_KINDS:
        if features is None:
            out[name] = np.zeros(0, dtype=np.float64)
            continue
        matrix: sp.csr_matrix = getattr(features, name)
        held = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float64)
        # A pair sharing a value is two of its holders: the others make the chance.
        share = np.maximum(held - 1.0, 1.0) / max(records - 1, 1)
        out[name] = np.clip(-np.log2(share) - IDENTIFIERS.m_bits, 0.0, getattr(IDENTIFIERS, cap))
    return out


def _identifier_evidence(
    f: Features, g: Features, weights: Mapping[str, np.ndarray], i: np.ndarray, j: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weight and level (shared / conflict / unknown) of the identifiers of pairs."""
    total = np.zeros(len(i))
    shared_any = np.zeros(len(i), dtype=bool)
    conflict_any = np.zeros(len(i), dtype=bool)
    for name, cap, conflict in IDENTIFIER_KINDS:
        a: sp.csr_matrix = getattr(f, name)
        b: sp.csr_matrix = getattr(g, name)
        if a.nnz == 0 or b.nnz == 0:
            continue
        column_weights = weights[name]
        width = max(a.shape[1], b.shape[1])
        if len(column_weights) < width:  # a value new since the weights: as rare as can be
            extra = np.full(width - len(column_weights), getattr(IDENTIFIERS, cap))
            column_weights = np.concatenate([column_weights, extra])
        both = np.flatnonzero((row_lengths(a, i) > 0) & (row_lengths(b, j) > 0))
        if len(both) == 0:
            continue
        # The weights are >= 0 and the conflict needs a count: a column weighing 0 (a
        # value on most records) is still a value in common, so count with weight + tiny.
        shared = row_dots(a, b, i[both], j[both], column_weights=column_weights + 1e-3)
        count = shared > 0
        total[both] += np.where(count, shared, getattr(IDENTIFIERS, conflict))
        shared_any[both] |= count
        conflict_any[both] |= ~count
    level = np.where(shared_any, 0, np.where(conflict_any, 1, 2)).astype(np.int8)
    return total, level


def score_arrays(
    f: Features,
    g: Features,
    context: ScoringContext,
    i: np.ndarray,
    j: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Comparison levels and weights per field for pairs (row i[n] of ``f``, row j[n] of
    ``g``), and the match probability. ``f`` and ``g`` are the index's features, or a
    draft's and the index's (no need to stack them). A field unknown on either side
    weighs 0."""
    n = len(i)
    levels = np.zeros((n, len(FIELDS)), dtype=np.int8)
    weights = np.zeros((n, len(FIELDS)), dtype=np.float32)
    if n == 0:
        return np.zeros(0), levels, weights
    hi, hj = f.description_hash[i], g.description_hash[j]
    same = np.flatnonzero((hi == hj) & (hi != 0))
    boilerplate = np.zeros(n, dtype=bool)
    if len(same):
        # The same text on BOILERPLATE_MIN+ records: look each distinct text up once.
        digests = sorted_unique(hi[same])
        counts = context.description_counts
        common = np.array([counts.get(d, 0) >= BOILERPLATE_MIN for d in digests])
        boilerplate[same[common[np.searchsorted(digests, hi[same])]]] = True
    # Short pairs are compared letter by letter on all their text, unless that text is
    # mostly a standard description: then on the words of the titles. (In two languages
    # too: the letters of short texts agree little across languages, but fitting the
    # words' curves to them cost more precision than it gained; docs/overlaps.md.)
    across = f.language[i] * g.language[j] < 0  # one Portuguese, one English
    short = f.short[i] & g.short[j] & ~boilerplate
    column = FIELDS.index

    title = row_dots(f.title, g.title, i, j)
    missing = f.title_empty[i] | g.title_empty[j]
    levels[:, column("title")] = np.where(short, 2, np.where(missing, 1, 0))
    weights[:, column("title")] = np.where(short | missing, 0.0, curve("title", title))

    description = row_dots(f.description, g.description, i, j)
    level = np.where(f.description_empty[i] | g.description_empty[j], 1, 0).astype(np.int8)
    level[boilerplate] = 2
    level[(level == 0) & across] = 4
    level[short] = 3
    levels[:, column("description")] = level
    weights[:, column("description")] = np.where(
        level == 0,
        curve("description", description),
        np.where(level == 4, curve("description_across", description), 0),
    )

    levels[:, column("text")] = np.where(short, 0, 1)
    if short.any():
        text = np.zeros(n, dtype=np.float32)
        at = np.flatnonzero(short)
        text[at] = row_dots(f.characters, g.characters, i[at], j[at])
        weights[:, column("text")] = np.where(short, curve("text", text), 0.0)

    evidence, levels[:, column("identifiers")] = _identifier_evidence(
        f, g, context.identifier_weights, i, j
    )
    weights[:, column("identifiers")] = evidence

    ci, cj = f.category[i], g.category[j]
    levels[:, column("category")] = np.where((ci < 0) | (cj < 0), 2, np.where(ci == cj, 0, 1))

    levels[:, column("where")] = _where_levels(f, g, i, j)

    si, ei, sj, ej = f.start[i], f.end[i], g.start[j], g.end[j]
    far = 1e9
    ei_f, ej_f = np.where(np.isnan(ei), far, ei), np.where(np.isnan(ej), far, ej)
    overlap = np.minimum(ei_f, ej_f) - np.maximum(si, sj) + 1
    shorter = np.minimum(ei_f - si + 1, ej_f - sj + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(shorter > 0, overlap / shorter, 0)
    when = np.where(share >= 0.8, 0, np.where(share > 0, 1, 2))
    when[np.isnan(si) | np.isnan(sj)] = 3
    levels[:, column("when")] = when

    gi, gj = f.groups[i], g.groups[j]
    shared = np.bitwise_count(gi & gj)
    levels[:, column("for_whom")] = np.where(
        (gi == 0) | (gj == 0), 3, np.where(gi == gj, 0, np.where(shared > 0, 1, 2))
    )

    oi, oj = f.organisation[i], g.organisation[j]
    levels[:, column("by_whom")] = np.where((oi < 0) | (oj < 0), 2, np.where(oi == oj, 0, 1))

    for name, table in WEIGHTS.items():
        weights[:, column(name)] = np.asarray(table)[levels[:, column(name)]]
    total = PRIOR + weights.sum(axis=1, dtype=np.float64)
    return probability(total), levels, weights


def _where_levels(f: Features, g: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
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


def _area_levels(f: Features, g: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    mun = row_dots(f.municipalities, g.municipalities, i, j)
    dist = row_dots(f.districts_all, g.districts_all, i, j)
    dall_i, dall_j = row_lengths(f.districts_all, i), row_lengths(g.districts_all, j)
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
