"""Sparse and array building blocks of the overlap engine (no text, no records).

CSR matrices from coordinates, widening and stacking them, dropping columns, ragged
expansions, a fast ``unique`` for int64, row-wise dot products of chosen row pairs,
L2 normalisation and TF-IDF in float32, integer codes for categorical values and dates
as ordinals and quarters. Every stage of ``initiatives.overlap_index`` uses them.
"""

from __future__ import annotations

import math
from collections import ChainMap
from collections.abc import Mapping, Sequence
from datetime import date
from itertools import repeat
from typing import Any

import numpy as np
import scipy.sparse as sp


def csr(
    data: np.ndarray, rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """A CSR matrix from coordinates, repeated coordinates summed, indices sorted."""
    matrix = sp.csr_matrix((data, (rows, columns)), shape=shape)
    matrix.sum_duplicates()
    return matrix


def binary_rows(rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    matrix = csr(np.ones(len(rows), dtype=np.float32), rows, columns, shape)
    matrix.data[:] = 1.0
    return matrix


def widen(matrix: sp.csr_matrix, columns: int) -> sp.csr_matrix:
    if matrix.shape[1] >= columns:
        return matrix
    return sp.csr_matrix((matrix.data, matrix.indices, matrix.indptr), (matrix.shape[0], columns))


def stack_rows(top: sp.csr_matrix | None, bottom: sp.csr_matrix) -> sp.csr_matrix:
    if top is None:
        return bottom
    columns = max(top.shape[1], bottom.shape[1])
    return sp.vstack([widen(top, columns), widen(bottom, columns)], format="csr")


def drop_columns(matrix: sp.csr_matrix, dropped: np.ndarray, offset: int = 0) -> sp.csr_matrix:
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


def ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand per-row counts: [2, 0, 3] -> owners [0, 0, 2, 2, 2], ranks [0, 1, 0, 1, 2]."""
    owners = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owners, np.arange(len(owners)) - starts[owners]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` for int64, through a plain sort (numpy 2.4's unique is ~80x slower)."""
    values = np.sort(values)
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def codes_of(vocabulary: dict[Any, int], values: Sequence[Any], *, grow: bool) -> np.ndarray:
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


def days_and_quarters(dates: Sequence[date | None]) -> tuple[np.ndarray, np.ndarray]:
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


def spread_rows(indptr: np.ndarray, rows: np.ndarray, count: int) -> np.ndarray:
    """The indptr of a ``count``-row matrix whose row rows[n] is row n of ``indptr``'s
    matrix and whose other rows are empty."""
    lengths = np.zeros(count, dtype=np.int64)
    lengths[rows] = np.diff(indptr)
    out = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


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


def row_lengths(matrix: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    return matrix.indptr[rows + 1] - matrix.indptr[rows]


FEW_PAIRS = 256  # up to this many pairs, row_dots works on the CSR arrays itself


def row_dots(
    a: sp.csr_matrix,
    b: sp.csr_matrix,
    i: np.ndarray,
    j: np.ndarray,
    chunk: int = 400_000,
    *,
    column_weights: np.ndarray | None = None,
) -> np.ndarray:
    """Dot product of row i[n] of ``a`` and row j[n] of ``b`` (CSR, sorted indices),
    each column's product times ``column_weights`` when given.

    Many pairs: scipy's kernels, in chunks to bound memory. A few (a form's check):
    scipy's per-call checks cost more than the arithmetic, so match the rows' column
    indices with numpy instead."""
    if len(i) <= FEW_PAIRS:
        return few_row_dots(a, b, i, j, column_weights)
    columns = max(a.shape[1], b.shape[1])
    a, b = widen(a, columns), widen(b, columns)
    out = np.zeros(len(i), dtype=np.float32)
    for start in range(0, len(i), chunk):
        ia, jb = i[start : start + chunk], j[start : start + chunk]
        product = a[ia].multiply(b[jb])
        if column_weights is None:
            out[start : start + chunk] = np.asarray(product.sum(axis=1)).ravel()
        else:
            out[start : start + chunk] = product.tocsr() @ column_weights[:columns]
    return out


def _row_entries(
    matrix: sp.csr_matrix, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, column, value) of every entry of row rows[n], in row then column order."""
    start = matrix.indptr[rows]
    owners, ranks = ragged(matrix.indptr[rows + 1] - start)
    at = start[owners] + ranks
    return owners, matrix.indices[at], matrix.data[at]


def few_row_dots(
    a: sp.csr_matrix,
    b: sp.csr_matrix,
    i: np.ndarray,
    j: np.ndarray,
    column_weights: np.ndarray | None = None,
) -> np.ndarray:
    pair_a, column_a, value_a = _row_entries(a, np.asarray(i, dtype=np.int64))
    pair_b, column_b, value_b = _row_entries(b, np.asarray(j, dtype=np.int64))
    if len(pair_a) == 0 or len(pair_b) == 0:
        return np.zeros(len(i), dtype=np.float32)
    width = max(a.shape[1], b.shape[1])
    key_a, key_b = pair_a * width + column_a, pair_b * width + column_b  # both sorted
    at = np.minimum(np.searchsorted(key_b, key_a), len(key_b) - 1)
    hit = key_b[at] == key_a
    products = value_a[hit].astype(np.float64) * value_b[at[hit]]
    if column_weights is not None:
        products *= column_weights[column_a[hit]]
    return np.bincount(pair_a[hit], weights=products, minlength=len(i)).astype(np.float32)


def dots_if_any(a: sp.csr_matrix, b: sp.csr_matrix, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    if a.nnz == 0 or b.nnz == 0:  # no short record or no identifier on one side
        return np.zeros(len(i), dtype=np.float32)
    return row_dots(a, b, i, j)


def append_rows(old: Any, new: Any) -> Any:
    """``new``'s rows after ``old``'s: a CSR matrix (widened to the wider) or an array."""
    if isinstance(old, sp.csr_matrix):
        return stack_rows(old, new)
    return np.concatenate([old, new])
