"""The overlap engine's vectorised parts against plain per-record references: batch
tokenising and TF-IDF, blocking keys, the chunked top-k join, the few-pairs row dots and
the draft check. No database."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
import scipy.sparse as sp

from initiatives import overlap_index as engine
from initiatives.overlap_index import AreaTree, OverlapIndex, OverlapRecord, StemVocabulary

TREE = AreaTree(
    parents={
        "PT": None,
        "PT-01": "PT",
        "PT-02": "PT",
        "PT-03": "PT",
        "PT-0101": "PT-01",
        "PT-0102": "PT-01",
        "PT-0201": "PT-02",
        "PT-0301": "PT-03",
    },
    country="PT",
    names={"PT-01": "Aveiro", "PT-0101": "Águeda", "PT-0201": "Castelo Branco"},
)

WORDS = (
    "dados",
    "móveis",
    "gratuitos",
    "internet",
    "grátis",
    "profissionais",
    "saúde",
    "médicos",
    "enfermeiros",
    "escola",
    "aulas",
    "alunos",
    "computadores",
    "portáteis",
    "telescola",
    "licenças",
    "teletrabalho",
    "apoio",
    "apoiar",
    "students",
    "free",
    "mobile",
    "data",
    "laptops",
    "schools",
    "health",
    "workers",
    "support",
)
AREA_SETS = (
    frozenset({"PT"}),
    frozenset({"PT-01"}),
    frozenset({"PT-0101"}),
    frozenset({"PT-0101", "PT-0102"}),
    frozenset({"PT-0201", "PT-03"}),
    frozenset({"XX-99"}),  # not in the tree: a municipality of no known district
    frozenset(),
)


def records(count: int, seed: int = 1) -> list[OverlapRecord]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        start = date(2020, 1, 1) + timedelta(days=rng.randrange(0, 700))
        dated = rng.random() < 0.85
        out.append(
            OverlapRecord(
                key=f"K{n}",
                title=" ".join(rng.choices(WORDS, k=rng.randint(0, 6))).capitalize(),
                description=" ".join(rng.choices(WORDS, k=rng.randint(0, 25))),
                organisation=rng.choice(["", "org1", "org2", "org3"]),
                category=rng.choice(["", "education", "communications_packages"]),
                target_groups=frozenset(rng.sample(["students", "health", "elderly"], 2)),
                areas=rng.choice(AREA_SETS),
                start=start if dated else None,
                end=start + timedelta(days=rng.randrange(0, 500)) if dated else None,
            )
        )
    return out


def test_batch_stems_match_one_text_at_a_time() -> None:
    texts = [
        "Dados móveis GRATUITOS para profissionais de saúde!",
        "",
        "a b c 1 2",  # one-letter words are no words, but digits are numbers
        "Águeda: apoio\x00escolar, 30GB/mês",  # the batch separator inside a text
        "  Internet\tgrátis\n\npara   alunos ",
        "Aveiro Castelo Branco telescola",  # place names are left to "where"
        "Straße Æsir ½ dose, ª classe, café\u0301 — don’t 20€ ﬁbra ÉCOLE",  # odd letters
    ]
    vocabulary = StemVocabulary(TREE.names.values())
    counts = vocabulary.analyse(texts).counts
    stem_of = {stem_id: stem for stem, stem_id in vocabulary.stems.items()}
    for n, text in enumerate(texts):
        row = counts.getrow(n)
        got = Counter({stem_of[c]: int(v) for c, v in zip(row.indices, row.data, strict=True)})
        assert got == Counter(engine.stems(text.replace("\x00", " "), vocabulary.ignore))


def test_tfidf_is_what_scikit_learn_gives() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [r.description for r in records(60)]
    vocabulary = StemVocabulary()
    counts = vocabulary.analyse(texts).counts
    ours = engine.tfidf(counts, engine.idf(counts)).toarray()
    sklearn = TfidfVectorizer(analyzer=engine.stems, sublinear_tf=True).fit_transform(texts)
    reference = sklearn.toarray()
    # Same vectors up to the order of the columns: compare every pair's cosine.
    np.testing.assert_allclose(ours @ ours.T, reference @ reference.T, atol=1e-5)


def test_word_sequence_hash_ignores_case_accents_and_spacing() -> None:
    texts = [
        "Dados móveis, sem custo.",
        "  dados MOVEIS sem custo ",
        "sem custo dados moveis",
        "",
        "!!!",
    ]
    hashes = StemVocabulary().analyse(texts).hashes
    assert hashes[0] == hashes[1] != 0
    assert hashes[2] not in (0, hashes[0])
    assert hashes[3] == hashes[4] == 0


def _reference_keys(record: OverlapRecord) -> set[str]:
    """The blocking keys as the per-record loop built them before they became codes."""
    national, districts = False, set()
    for code in record.areas:
        level = TREE.level(code)
        if level == "country":
            national = True
        elif level == "district":
            districts.add(code)
        elif TREE.district_of(code):
            districts.add(TREE.district_of(code))
    cat = record.category
    keys = {f"oc:{record.organisation}|{cat}"} if record.organisation else set()
    keys |= {f"cg:{cat}|{g}" for g in record.target_groups}
    quarters: list[int] = []
    if record.start is not None:
        first = record.start.year * 4 + (record.start.month - 1) // 3
        end = record.end
        last = first if end is None else end.year * 4 + (end.month - 1) // 3
        quarters = list(range(first, min(last, first + 3) + 1))
    places = TREE.districts() if national else sorted(districts)[:4]
    keys |= {f"cdq:{cat}|{d}|{q}" for d in places for q in quarters}
    if not quarters:
        keys |= {f"cd:{cat}|{d}" for d in places}
    return keys


def test_blocking_key_codes_match_the_string_keys() -> None:
    odd = OverlapRecord(key="odd", title="x", start=date(2021, 5, 1), end=date(2020, 1, 1))
    open_ended = replace(odd, key="open", areas=frozenset({"PT-0102"}), end=None)
    sample = [*records(80), odd, open_ended]
    index = OverlapIndex.build(sample, TREE)
    assert index._features is not None
    width = 2 * len(index._words) + len(index._grams)  # title, description, trigrams
    keys = (index._features.candidate[:, width:] != 0).astype(np.int32)  # nothing dropped
    shared = (keys @ keys.T).toarray()
    reference = [_reference_keys(r) for r in sample]
    expected = np.array([[len(a & b) for b in reference] for a in reference])
    np.testing.assert_array_equal(shared, expected)


def test_chunked_join_gives_the_pairs_of_one_call() -> None:
    index = OverlapIndex.build(records(300), TREE, top_k=5)
    whole = index.candidate_pairs(rows_per_call=10_000)
    chunked = index.candidate_pairs(rows_per_call=7)
    np.testing.assert_array_equal(whole[0], chunked[0])
    np.testing.assert_array_equal(whole[1], chunked[1])
    assert len(whole[0]) and bool(np.all(whole[0] < whole[1]))


def test_join_keeps_a_pair_found_from_either_side() -> None:
    index = OverlapIndex.build(records(200), TREE, top_k=3)
    assert index._features is not None
    i, j = index.candidate_pairs(threshold=0.1)
    found = set(zip(i.tolist(), j.tolist(), strict=True))
    dense = (index._features.candidate @ index._features.candidate.T).toarray()
    np.fill_diagonal(dense, 0)
    for row in range(len(dense)):
        # each row's best neighbour (unless tied at the cut) is a pair, whichever is lower
        best = int(np.argmax(dense[row]))
        if dense[row, best] > 0.1 and np.sort(dense[row])[-4] < dense[row, best]:
            assert (min(row, best), max(row, best)) in found


def test_join_after_removals_returns_live_positions() -> None:
    sample = records(120)
    index = OverlapIndex.build(sample, TREE, top_k=5)
    index.remove([r.key for r in sample[:30]])
    index.upsert([replace(sample[40], title=sample[40].title + " editado")])
    i, j = index.candidate_pairs()
    assert bool(index.alive[i].all() and index.alive[j].all())


@pytest.mark.parametrize("pairs", [5, engine.FEW_PAIRS + 50])
def test_row_dots_for_few_and_many_pairs_agree(pairs: int) -> None:
    rng = np.random.default_rng(3)
    a = sp.random(60, 40, density=0.2, format="csr", dtype=np.float32, random_state=1)
    b = sp.random(70, 40, density=0.3, format="csr", dtype=np.float32, random_state=2)
    i, j = rng.integers(0, 60, pairs), rng.integers(0, 70, pairs)
    expected = np.array(
        [a.getrow(x).multiply(b.getrow(y)).sum() for x, y in zip(i, j, strict=True)]
    )
    np.testing.assert_allclose(engine.row_dots(a, b, i, j), expected, rtol=1e-5)
    np.testing.assert_allclose(engine._few_row_dots(a, b, i, j), expected, rtol=1e-5)


def test_a_draft_scores_as_the_same_record_in_the_index() -> None:
    sample = records(150)
    index = OverlapIndex.build(sample, TREE)
    record = sample[17]
    positions = index.query(record, limit=10)
    assert positions
    drafted = index.score_against(record, positions)
    probabilities, _levels, _weights = index.score_pairs(
        np.full(len(positions), 17), np.asarray(positions, dtype=np.int64)
    )
    np.testing.assert_allclose([p.score for p in drafted], probabilities, rtol=1e-6)
    assert all(p.explanation for p in drafted)


def test_checking_a_draft_leaves_the_index_unchanged() -> None:
    index = OverlapIndex.build(records(100), TREE)
    sizes = (
        len(index._words.words),
        len(index._key_columns),
        {name: len(codes) for name, codes in index._codes.items()},
    )
    draft = OverlapRecord(
        key="draft",
        title="Completely unseen wording zyxwv",
        description="novo texto qwerty",
        organisation="a new partner",
        category="a new category",
        target_groups=frozenset({"a new group"}),
        areas=frozenset({"PT-0201"}),
        start=date(2030, 1, 1),
    )
    index.score_against(draft, index.query(draft) or [0])
    assert sizes == (
        len(index._words.words),
        len(index._key_columns),
        {name: len(codes) for name, codes in index._codes.items()},
    )


def test_normalize_matches_scikit_learn_with_empty_rows() -> None:
    from sklearn.preprocessing import normalize as reference

    matrix = sp.random(50, 30, density=0.1, format="csr", dtype=np.float32, random_state=4)
    matrix = sp.vstack([sp.csr_matrix((2, 30), dtype=np.float32), matrix, matrix[:0]]).tocsr()
    expected = reference(matrix).toarray()
    np.testing.assert_allclose(engine.normalize(matrix).toarray(), expected, rtol=1e-6)


def test_records_added_one_by_one_share_a_boilerplate_description() -> None:
    index = OverlapIndex.build(records(50), TREE)
    text = "Texto padrão zzqx nunca visto antes"  # words the fit never saw
    for n in range(engine.BOILERPLATE_MIN):
        index.upsert([OverlapRecord(key=f"new{n}", title=f"Novo {n}", description=text)])
    assert index._features is not None
    digests = {int(index._features.description_hash[index.position[f"new{n}"]]) for n in range(4)}
    assert len(digests) == 1 and index._description_counts[digests.pop()] == 4
