"""Candidate search of the overlap engine: blocking keys as int64 codes and the sizes of
the sparse top-k self-join (``OverlapIndex.candidate_pairs`` runs it)."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from initiatives.overlap_arrays import ragged, sorted_unique

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
    owners, ranks = ragged(regional)
    national_rows = np.flatnonzero(national)
    place_rows = np.concatenate([owners, np.repeat(national_rows, len(all_districts))])
    place_district = np.concatenate(
        [
            districts.indices[districts.indptr[owners] + ranks].astype(np.int64),
            np.tile(all_districts, len(national_rows)),
        ]
    )
    place_quarters = quarters[place_rows]
    owners, ranks = ragged(place_quarters)
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


JOIN_ROWS = 100_000  # rows per top-k call: bounds the memory of one result block
JOIN_THREADS = 2  # sparse_dot_topn splits each call's rows over this many threads


def key_columns_of(columns: dict[int, int], codes: np.ndarray, *, grow: bool) -> np.ndarray:
    """The candidate-matrix key column of each key code (``columns``: code -> column).
    New keys get the next columns (kept only when ``grow``); only distinct codes pass
    through Python."""
    unique = sorted_unique(codes)
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


def top_k_pairs(
    matrix: sp.csr_matrix,
    transposed: sp.csr_matrix,
    top_k: int,
    threshold: float,
    rows_per_call: int,
) -> np.ndarray:
    """Pair codes (min x rows + max, sorted, distinct) of the rows of ``matrix`` where
    either is among the other's ``top_k`` by dot product (``transposed`` is
    ``matrix.T``), ``rows_per_call`` rows per sparse_dot_topn call."""
    from sparse_dot_topn import sp_matmul_topn

    n = matrix.shape[0]
    codes: list[np.ndarray] = []
    for start in range(0, n, rows_per_call):
        block = sp_matmul_topn(
            matrix[start : start + rows_per_call],
            transposed,
            top_n=top_k + 1,  # each row finds itself too
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
    pairs = sorted_unique(np.concatenate(codes)) if codes else np.zeros(0, dtype=np.int64)
    del codes
    return pairs
