"""The overlap engine: features, candidate search and an explainable score. No database.

Pipeline (docs/overlaps.md explains the choices and the measured figures):

1. ``OverlapRecord``: what / where / when / for whom / by whom of one initiative.
2. Text is folded (lower case, accents removed), Portuguese and English stop words
   dropped, and each word cut to a six-letter stem (``apoiar``/``apoio`` and
   ``students``/``student`` meet) or named by its concept in the bilingual lexicon
   (``dados``/``data``); titles lose parenthesised qualifiers and generic words. TF-IDF
   (sublinear tf, smoothed idf, L2: what scikit-learn's ``TfidfVectorizer`` gives) on
   titles and on descriptions; character trigrams of short records; identifiers
   (phone and other numbers, web and e-mail domains) pulled from the same tokens.
3. Candidates: one sparse row per record (title and description stems, short records'
   trigrams, blocking keys such as ``organisation+category`` and
   ``category+district``), columns held by too many records dropped, then a sparse
   top-k self-join (sparse_dot_topn). Cost grows with records x k, not records squared.
4. Each candidate pair gets a weight per field in the Fellegi-Sunter form: curves for
   the similarities, levels for the rest, identifiers by their rarity, 0 for a field
   unknown on either side; their sum plus a prior is mapped to 0..1. The explanation
   is built from the same parts, so it always says why a pair scored as it did.
5. Pairs above the threshold are grouped into clusters (connected components).

Features are built for many records at once with numpy (one split per batch of texts,
integer codes for every categorical value, blocking keys as int64 codes), never one
Python string per key per record: that loop was most of the build time at 100k.

``OverlapIndex`` supports adding and replacing records one at a time (a saved
initiative) and checking one draft against everything in a few milliseconds.

Why one module of some 1,900 lines: the stages share private numpy layouts (word ids,
integer area ids, int64 blocking keys, the feature matrices) that would otherwise have
to become public API between files, and the speed figures in docs/overlaps.md depend
on them staying in step. Each stage is its own section and class: text folding and
stems (``StemVocabulary``, folding by ``hub.text.fold_ascii``), character trigrams
(``GramVocabulary``), identifiers, records
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
from functools import lru_cache
from itertools import chain, repeat
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from hub.i18n import _
from hub.text import fold_ascii

# --- text --------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]{2,}")
STEM_LENGTH = 6

PORTUGUESE_STOP_WORDS = frozenset(
    """
    a ao aos as ate com como da das de dela dele deles do dos e ela elas ele eles em entre
    era essa esse esta este eu foi ha isso isto ja la lhe lhes mais mas me mesmo meu minha
    muito na nas nem no nos nossa nosso num numa o os ou para pela pelas pelo pelos por
    quais qual quando que quem se sem ser seu seus sua suas so sobre tambem te tem todo
    todos tu um uma umas uns voce vos sao nao estao sera serao ter foram pode podem cada
    via apos durante ate todo toda pais
    """.split()  # noqa: SIM905 - a word list reads better as text
)
ENGLISH_STOP_WORDS = frozenset(
    """
    about after all also an and any are as at be been but by can do during each for from
    has have how in into is it its more no not of on or other our out over per so such than
    that the their them then there these they this those through to under up us was we
    were what when where which while who will with within you your whole country
    """.split()  # noqa: SIM905 - a word list reads better as text
)
STOP_WORDS = PORTUGUESE_STOP_WORDS | ENGLISH_STOP_WORDS


GENERIC_TITLE_WORDS = frozenset(
    """
    programa programas programme programmes program programs projeto projetos project
    projects iniciativa iniciativas initiative initiatives campanha campanhas campaign
    campaigns acao accao action servico service restaurant restaurante cafe bar grill
    inc ltd lda sa unipessoal
    """.split()  # noqa: SIM905 - a word list reads better as text
)
LEXICON_FILE = Path(__file__).resolve().parents[1] / "data" / "overlaps" / "lexicon.csv"


@lru_cache(maxsize=1)
def lexicon() -> Mapping[str, str]:
    """Folded word -> the concept it names, from the bilingual lexicon in data/overlaps/
    (English forms, comma, Portuguese forms; ``|`` between forms). Every form of a
    concept becomes the same stem, so "dados moveis gratuitos" meets "free mobile data"."""
    concepts: dict[str, str] = {}
    with LEXICON_FILE.open(encoding="utf-8") as handle:
        rows = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    for row in rows[1:]:  # the header names the languages
        english, portuguese = row.split(",")
        forms = [fold_ascii(f.strip()) for f in (*english.split("|"), *portuguese.split("|"))]
        concept = "=" + forms[0]
        for form in forms:
            concepts.setdefault(form, concept)
        # Other endings of a form (plural, gender, tense) through its stem, when the stem
        # is long enough to stand for one word and names no other concept.
        for form in forms:
            if len(form) > STEM_LENGTH:
                concepts.setdefault(form[:STEM_LENGTH] + "*", concept)
    return concepts


def concept_of(word: str, concepts: Mapping[str, str]) -> str | None:
    """The lexicon concept ``word`` names, by the word or by its stem."""
    return concepts.get(word) or concepts.get(word[:STEM_LENGTH] + "*")


def stems(text: str, ignore: frozenset[str] = STOP_WORDS) -> list[str]:
    """Folded words without stop words, cut to a short stem or named by their lexicon
    concept (one text; ``StemVocabulary`` does the same for a batch of texts at once)."""
    concepts = lexicon()
    return [
        concept_of(w, concepts) or w[:STEM_LENGTH]
        for w in _STEM_WORD.findall(fold_ascii(text))
        if w not in ignore
    ]


_STEM_WORD = re.compile(r"[a-z0-9]{2,}|[0-9]")  # one-letter words are no words; digits are


# A batch of texts is joined around a separator word, folded, every other sign turned into
# a space (str.translate) and split once; each distinct word is looked up once and the
# rest is numpy over word ids. Per-text calls (fold, a regex, a list comprehension) were
# the largest part of the build.
_SEPARATOR = "\x00"
# One character for one: str.translate has a fast path only for such tables (mapping a
# comma to " , " made it the slowest part of the build).
_SPACE_OUT = str.maketrans(
    {c: " " for c in map(chr, range(128)) if not ("a" <= c <= "z" or "0" <= c <= "9")}
    | {_SEPARATOR: _SEPARATOR}
)
_SEPARATOR_WORD = 0  # its word id
_IGNORED = -1  # the stem id of a stop word, place name, one-letter word or unseen stem
_HASH_BASE = np.uint64(0x9E3779B97F4A7C15)
TEXT_BATCH = 20_000  # texts per split: bounds the token list's memory


def _language(word: str) -> int:
    """+1 for a Portuguese stop word, -1 for an English one, 0 otherwise (or both)."""
    return int(word in PORTUGUESE_STOP_WORDS) - int(word in ENGLISH_STOP_WORDS)


def _joined(texts: Sequence[str]) -> str:
    joined = f" {_SEPARATOR} ".join(texts)
    if joined.count(_SEPARATOR) != max(len(texts) - 1, 0):  # a text carries one itself
        joined = f" {_SEPARATOR} ".join(t.replace(_SEPARATOR, " ") for t in texts)
    return joined


class _Analysis(NamedTuple):
    counts: sp.csr_matrix  # stem counts, one row per text
    language: np.ndarray  # Portuguese minus English stop words, per text
    hashes: np.ndarray  # of each text's word sequence (boilerplate); 0: no word
    identifier_rows: np.ndarray  # the text of each identifier found
    identifiers: list[str]  # "L" + a long number, "S" + a short one, "D" + a domain


class StemVocabulary:
    """Words to stem ids, shared by titles and descriptions (each distinct word is folded
    and stemmed once, and both fields have one stem id space).

    Place names are left to the "where" comparison: counted again as words, two
    different efforts in the same town would look alike twice over. A word of the
    bilingual lexicon becomes its concept's stem in either language. Stems get ids while
    the index is fitted; after ``freeze`` an unseen stem is ignored, as a fitted
    vectorizer ignores words outside its vocabulary. New words are kept when records
    are added (``grow``) and get temporary ids in a query, so the table does not grow
    with every draft checked."""

    def __init__(self, place_names: Iterable[str] = ()) -> None:
        words = {w for name in place_names for w in _WORD.findall(fold_ascii(name))}
        self.ignore = STOP_WORDS | words
        self.concepts = lexicon()
        self.stems: dict[str, int] = {}
        self.words: dict[str, int] = {_SEPARATOR: _SEPARATOR_WORD}
        self.stem_of = np.array([_IGNORED], dtype=np.int64)  # word id -> stem id
        self.generic_of = np.zeros(1, dtype=bool)  # word id -> a generic title word
        self.number_of = np.zeros(1, dtype=bool)  # word id -> all digits
        self.language_of = np.zeros(1, dtype=np.int8)  # +1 Portuguese, -1 English stop word
        self.frozen = False

    def __len__(self) -> int:
        return len(self.stems)

    def freeze(self) -> None:
        self.frozen = True

    def _stem_id(self, word: str) -> int:
        if word in self.ignore or (len(word) < 2 and not word.isdigit()):
            return _IGNORED
        stem = concept_of(word, self.concepts) or word[:STEM_LENGTH]
        if self.frozen:
            return self.stems.get(stem, _IGNORED)
        return self.stems.setdefault(stem, len(self.stems))

    def _word_ids(self, tokens: list[str], grow: bool) -> tuple[np.ndarray, ...]:
        """The word id of each token, and the stem id, generic flag and number flag of
        every word id. One dictionary lookup per token; only the tokens not found go
        through Python again."""
        ids = np.fromiter(
            map(self.words.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens)
        )
        missing = np.flatnonzero(ids < 0)
        if len(missing) == 0:
            return ids, self.stem_of, self.generic_of, self.number_of, self.language_of
        unknown = [tokens[n] for n in missing.tolist()]
        new = sorted(set(unknown))  # sorted: reproducible ids
        first = len(self.words)
        new_ids = dict(zip(new, range(first, first + len(new)), strict=True))
        new_stems = np.fromiter(map(self._stem_id, new), dtype=np.int64, count=len(new))
        ids[missing] = np.fromiter(map(new_ids.__getitem__, unknown), np.int64, len(unknown))
        stem_of = np.concatenate([self.stem_of, new_stems])
        generic_of = np.concatenate(
            [self.generic_of, np.fromiter((w in GENERIC_TITLE_WORDS for w in new), bool, len(new))]
        )
        number_of = np.concatenate(
            [self.number_of, np.fromiter(map(str.isdigit, new), bool, len(new))]
        )
        language_of = np.concatenate([self.language_of, np.fromiter(map(_language, new), np.int8)])
        if grow:
            self.words.update(new_ids)
            self.stem_of, self.generic_of, self.number_of = stem_of, generic_of, number_of
            self.language_of = language_of
        return ids, stem_of, generic_of, number_of, language_of

    def analyse(self, texts: Sequence[str], *, grow: bool = True, title: bool = False) -> _Analysis:
        """Stem counts (one row per text, one column per stem id), a hash of each text's
        word sequence (0: no word) and the identifiers in each text. ``title``: generic
        words ("programme", "restaurant") are left out."""
        blocks: list[sp.csr_matrix] = []
        hashes = np.zeros(len(texts), dtype=np.int64)
        identifier_rows: list[np.ndarray] = []
        identifiers: list[str] = []
        language = np.zeros(len(texts), dtype=np.int64)
        for start in range(0, len(texts), TEXT_BATCH):
            batch = texts[start : start + TEXT_BATCH]
            joined = fold_ascii(_joined(batch))
            tokens = joined.translate(_SPACE_OUT).split()
            ids, stem_of, generic_of, number_of, language_of = self._word_ids(tokens, grow)
            separator = ids == _SEPARATOR_WORD
            text_of_token = np.cumsum(separator)
            text = text_of_token[~separator]  # the text each word belongs to
            words = ids[~separator]
            hashes[start : start + len(batch)] = _sequence_hashes(words, text, len(batch))
            language[start : start + len(batch)] = np.bincount(
                text, weights=language_of[words], minlength=len(batch)
            )
            rows, found = _numbers(tokens, np.flatnonzero(number_of[ids]), text_of_token, batch)
            identifier_rows.append(rows + start)
            identifiers.extend(found)
            if "@" in joined or "www" in joined or "http" in joined:
                rows, found = _domains(joined)
                identifier_rows.append(rows + start)
                identifiers.extend(found)
            stem = stem_of[words]
            kept = stem >= 0
            if title:
                kept &= ~generic_of[words]
            # Counted batch by batch: a million descriptions' (text, stem) pairs would take
            # more memory than their counts. The stems seen so far give the width.
            width = max(len(self.stems), int(stem.max(initial=-1)) + 1, 1)
            counts = np.ones(int(kept.sum()), dtype=np.float32)
            blocks.append(_csr(counts, text[kept], stem[kept], (len(batch), width)))
        width = max(len(self.stems), *(b.shape[1] for b in blocks), 1)
        matrices = [_widen(b, width) for b in blocks]
        rows = np.concatenate(identifier_rows) if identifier_rows else np.zeros(0, np.int64)
        if not matrices:
            matrix = sp.csr_matrix((0, width), dtype=np.float32)
        elif len(matrices) == 1:
            matrix = matrices[0]
        else:
            matrix = sp.vstack(matrices, format="csr", dtype=np.float32)
        return _Analysis(matrix, language, hashes, rows, identifiers)


class GramVocabulary:
    """Character trigrams of each word, padded with a space on each side (scikit-learn's
    ``char_wb``), for short texts: "deli" and "delicatessen" share " de", "del" and
    "eli", where their stems share nothing. Each distinct word is cut once; after
    ``freeze`` an unseen trigram is ignored."""

    def __init__(self) -> None:
        self.grams: dict[str, int] = {}
        self.of_word: dict[str, list[int]] = {}
        self.frozen = False

    def __len__(self) -> int:
        return len(self.grams)

    def freeze(self) -> None:
        self.frozen = True

    def _of(self, word: str, grow: bool) -> list[int]:
        padded = f" {word} "
        grams = [padded[k : k + 3] for k in range(len(padded) - 2)]
        if self.frozen:
            ids = [self.grams[g] for g in grams if g in self.grams]
        else:
            ids = [self.grams.setdefault(g, len(self.grams)) for g in grams]
        if grow:
            self.of_word[word] = ids
        return ids

    def counts(self, texts: Sequence[str], *, grow: bool) -> sp.csr_matrix:
        rows: list[int] = []
        columns: list[int] = []
        for n, text in enumerate(texts):
            for word in fold_ascii(text).translate(_SPACE_OUT).split():
                ids = self.of_word.get(word)
                if ids is None:
                    ids = self._of(word, grow)
                columns.extend(ids)
                rows.extend(repeat(n, len(ids)))
        shape = (len(texts), max(len(self.grams), 1))
        data = np.ones(len(rows), dtype=np.float32)
        return _csr(data, np.asarray(rows, dtype=np.int64), np.asarray(columns, np.int64), shape)


def _spread(indptr: np.ndarray, rows: np.ndarray, count: int) -> np.ndarray:
    """The indptr of a ``count``-row matrix whose row rows[n] is row n of ``indptr``'s
    matrix and whose other rows are empty."""
    lengths = np.zeros(count, dtype=np.int64)
    lengths[rows] = np.diff(indptr)
    out = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


# --- identifiers ----------------------------------------------------------------------------
# Phone numbers, NIF/NIPC, dates of birth, street numbers, postcodes and web or e-mail
# domains are compared as identifiers, not as words: "415/296-7465", "415-296-7465" and
# "(415) 296 7465" are one number. A run of number tokens is one number when every token
# after the first has 2-4 digits and there are 7+ digits in all; numbers of 6+ digits
# are "long" (rare, strong evidence; more than 9 digits: the last 9, so a country prefix
# does not matter); shorter ones "short" (a street number, a postcode). Only the tokens
# that are numbers pass through Python.

LONG_DIGITS = 6
_DOMAIN = re.compile(r"(?:@|https?://|\bwww\.|\b)((?:[a-z0-9-]+\.)+[a-z]{2,})\b")
_WEB_HINT = re.compile(r"@|https?://|www\.")


@lru_cache(maxsize=65_536)
def _number(digits: str) -> str:
    if len(digits) >= LONG_DIGITS:
        return "L" + digits[-9:]
    return "S" + (digits.lstrip("0") or "0")


def _numbers(
    tokens: list[str], positions: np.ndarray, text_of_token: np.ndarray, texts: Sequence[str]
) -> tuple[np.ndarray, list[str]]:
    """(text, identifier) for the number tokens at ``positions`` (sorted) of a batch's
    token stream."""
    if len(positions) == 0:
        return np.zeros(0, dtype=np.int64), []
    # Most numbers stand alone: those go through one cached call each. A text with a run
    # of number tokens ("415 296 7465") is read again with its commas and semicolons,
    # which the token stream does not keep and which end a number ("12, 1000-001").
    starts = np.ones(len(positions), dtype=bool)
    starts[1:] = np.diff(positions) != 1
    run_of = np.cumsum(starts) - 1
    in_run = np.bincount(run_of)[run_of] > 1
    texts_with_runs = _sorted_unique(text_of_token[positions[in_run]])
    reread = np.isin(text_of_token[positions], texts_with_runs)
    single = positions[~reread]
    rows: list[int] = text_of_token[single].tolist()
    found: list[str] = list(map(_number, map(tokens.__getitem__, single.tolist())))
    for n in texts_with_runs.tolist():
        for identifier in _numbers_of(texts[n]):
            rows.append(n)
            found.append(identifier)
    return np.asarray(rows, dtype=np.int64), found


_NUMBER_OR_BREAK = re.compile(r"[a-z0-9]+|[,;]")


def _numbers_of(text: str) -> list[str]:
    """The numbers of one text, runs of number tokens grouped, a comma ending a run."""
    out: list[str] = []
    run: list[str] = []
    for token in [*_NUMBER_OR_BREAK.findall(fold_ascii(text)), ","]:
        if token.isdigit():
            run.append(token)
            continue
        for group in _number_groups(run) if run else []:
            if len(group) > 1 and sum(map(len, group)) >= 7:
                out.append(_number("".join(group)))
            else:
                out.extend(map(_number, group))
        run = []
    return out


def _number_groups(run: list[str]) -> list[list[str]]:
    """A run of number tokens cut into numbers: a token of 2-4 digits continues the
    current one while it stays within 12 digits ("+351 912 345 678", "1 415 296 7465")."""
    groups = [[run[0]]]
    digits = len(run[0])
    for token in run[1:]:
        if 2 <= len(token) <= 4 and digits + len(token) <= 12:
            groups[-1].append(token)
            digits += len(token)
        else:
            groups.append([token])
            digits = len(token)
    return groups


def _domains(joined: str) -> tuple[np.ndarray, list[str]]:
    """(text, "D" + domain) for web addresses and e-mail domains in a folded batch."""
    rows: list[int] = []
    found: list[str] = []
    for number, text in enumerate(joined.split(_SEPARATOR)):
        if not _WEB_HINT.search(text):
            continue
        for match in _DOMAIN.finditer(text):
            host = match.group(1).removeprefix("www.")
            if match.group(0)[:1] in {"@", "h", "w"} or host.count(".") >= 1:
                rows.append(number)
                found.append("D" + host)
    return np.asarray(rows, dtype=np.int64), found


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
    characters: sp.csr_matrix  # char trigram TF-IDF of title + description; short only
    short: np.ndarray  # a short record (SHORT_TEXT characters or fewer, some text)
    language: np.ndarray  # +1 Portuguese, -1 English, 0 not known (from stop words)
    long_numbers: sp.csr_matrix  # identifiers, one column each (binary)
    short_numbers: sp.csr_matrix
    domains: sp.csr_matrix


_FEATURE_NAMES = tuple(f.name for f in fields(_Features))


class _Texts(NamedTuple):
    """The text features of a batch of records (counts, or TF-IDF once weighted)."""

    title: sp.csr_matrix
    description: sp.csr_matrix
    description_hash: np.ndarray  # of the word sequence, for boilerplate; 0: no word
    characters: sp.csr_matrix  # char trigrams of short records (other rows empty)
    short: np.ndarray
    language: np.ndarray  # +1 Portuguese, -1 English, 0 not known
    identifier_rows: np.ndarray
    identifiers: list[str]


def _title_text(title: str) -> str:
    """A title without its parenthesised qualifiers ("Free wi-fi (Lisbon)"): they are
    places or asides, and cost the words that name the effort their weight."""
    if "(" not in title and "[" not in title:
        return title
    return _QUALIFIER.sub(" ", title).strip() or title


def _without_generic(title: str) -> str:
    words = fold_ascii(title).translate(_SPACE_OUT).split()
    return " ".join(w for w in words if w not in GENERIC_TITLE_WORDS)


_QUALIFIER = re.compile(r"\([^)]*\)?|\[[^\]]*\]?")
SHORT_TEXT = 160  # characters of title + description up to which a record is "short"


JOIN_ROWS = 100_000  # rows per top-k call: bounds the memory of one result block
JOIN_THREADS = 2  # sparse_dot_topn splits each call's rows over this many threads
SCORE_PAIRS = 150_000  # pairs scored at a time: bounds the temporaries of score_arrays
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
    _grams: GramVocabulary = field(default_factory=lambda: GramVocabulary())
    _char_idf: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.float32))
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

    def _analyse(self, records: Sequence[OverlapRecord], *, grow: bool) -> _Texts:
        """Counts of the records' stems and (short records) character trigrams, and the
        identifiers in their titles and descriptions."""
        titles = [_title_text(r.title) for r in records]
        descriptions = [r.description for r in records]
        title = self._words.analyse(titles, grow=grow, title=True)
        description = self._words.analyse(descriptions, grow=grow)
        lengths = np.fromiter(
            (len(a) + len(b) for a, b in zip(titles, descriptions, strict=True)),
            dtype=np.int64,
            count=len(records),
        )
        short = (lengths <= SHORT_TEXT) & (lengths > 0)
        rows = np.flatnonzero(short)
        characters = self._grams.counts(
            [f"{_without_generic(titles[n])} {descriptions[n]}" for n in rows.tolist()],
            grow=grow,
        )
        characters = sp.csr_matrix(
            (characters.data, characters.indices, _spread(characters.indptr, rows, len(records))),
            shape=(len(records), characters.shape[1]),
        )
        return _Texts(
            title.counts,
            description.counts,
            description.hashes,
            characters,
            short,
            np.sign(title.language + description.language).astype(np.int8),
            np.concatenate([title.identifier_rows, description.identifier_rows]),
            [*title.identifiers, *description.identifiers],
        )

    def _weighted(self, texts: _Texts) -> _Texts:
        return texts._replace(
            title=tfidf(texts.title, self._title_idf),
            description=tfidf(texts.description, self._description_idf),
            characters=tfidf(_widen(texts.characters, len(self._char_idf)), self._char_idf),
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
        title, description = _widen(counts.title, width), _widen(counts.description, width)
        characters = _widen(counts.characters, max(len(self._grams), 1))
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
            texts = self._weighted(self._analyse(records, grow=grow))
        title, description, characters = texts.title, texts.description, texts.characters
        identifiers: dict[str, tuple[list[int], list[str]]] = {kind: ([], []) for kind in "LSD"}
        for row, identifier in zip(texts.identifier_rows.tolist(), texts.identifiers, strict=True):
            identifiers[identifier[0]][0].append(row)
            identifiers[identifier[0]][1].append(identifier)
        identifier_matrices = []
        for kind in "LSD":
            rows, values = identifiers[kind]
            columns = _codes(self._codes["identifier_" + kind], values, grow=grow)
            width = max(len(self._codes["identifier_" + kind]), int(columns.max(initial=-1)) + 1)
            identifier_matrices.append(
                _binary_rows(np.asarray(rows, dtype=np.int64), columns, (n, max(width, 1)))
            )

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

        # Candidate row: title | 0.8 x description | 0.8 x character trigrams (short
        # records) | 0.8 x keys, without the stems, trigrams and keys held by too many
        # records, L2-normalised. The stems dropped at the fit go before the rows are
        # stacked: at a million records they are most of the text. The trigrams find
        # pairs of short records whose words differ (a typo, "deli" and "delicatessen").
        stems = title.shape[1]
        title_part, description_part, character_part = title, description, characters
        if self._dropped_keys is not None:
            title_part = _drop_columns(title, self._dropped_keys)
            description_part = _drop_columns(description, self._dropped_keys, stems)
            character_part = _drop_columns(characters, self._dropped_keys, 2 * stems)
        candidate = sp.hstack(
            [title_part, description_part, character_part, keys], format="csr", dtype=np.float32
        )
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
            characters=characters,
            short=texts.short & (np.diff(characters.indptr) > 0),
            language=texts.language,
            long_numbers=identifier_matrices[0],
            short_numbers=identifier_matrices[1],
            domains=identifier_matrices[2],
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
        self, i: np.ndarray, j: np.ndarray, context: _Context
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

    def _context(self, counts: Mapping[int, int]) -> _Context:
        """What scoring needs besides two rows of features: how many records carry each
        description, and the weight of each identifier (from how many carry it)."""
        weights = self._identifier_weights
        if weights is None or self._identifier_records != len(self.keys):
            weights = self._identifier_weights = _identifier_weights(self._features, len(self))
            self._identifier_records = len(self.keys)
        return _Context(counts, weights)

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
        details = _details(one, self._features, i, j)
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
        probabilities = self.probabilities(i, j)
        keep = np.flatnonzero(probabilities >= threshold)
        keep = keep[np.argsort(-probabilities[keep], kind="stable")]
        _p, levels = self.score_pairs(i[keep], j[keep])
        weights = self.pair_weights(i[keep], j[keep])
        features = self._features
        assert features is not None
        details = _details(features, features, i[keep], j[keep])
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


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, sp.csr_matrix):
        return _stack(old, new)
    return np.concatenate([old, new])


class _Context(NamedTuple):
    description_counts: Mapping[int, int]
    identifier_weights: Mapping[str, np.ndarray]  # per kind, the weight of each column


_IDENTIFIER_KINDS = (
    ("long_numbers", "long_cap", "long_conflict"),
    ("short_numbers", "short_cap", "short_conflict"),
    ("domains", "domain_cap", "domain_conflict"),
)


def _identifier_weights(features: _Features | None, records: int) -> dict[str, np.ndarray]:
    """log2(1 / share of the other records holding it) - m_bits per column, 0..cap."""
    out: dict[str, np.ndarray] = {}
    for name, cap, _conflict in _IDENTIFIER_KINDS:
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
    f: _Features, g: _Features, weights: Mapping[str, np.ndarray], i: np.ndarray, j: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weight and level (shared / conflict / unknown) of the identifiers of pairs."""
    total = np.zeros(len(i))
    shared_any = np.zeros(len(i), dtype=bool)
    conflict_any = np.zeros(len(i), dtype=bool)
    for name, cap, conflict in _IDENTIFIER_KINDS:
        a: sp.csr_matrix = getattr(f, name)
        b: sp.csr_matrix = getattr(g, name)
        if a.nnz == 0 or b.nnz == 0:
            continue
        column_weights = weights[name]
        width = max(a.shape[1], b.shape[1])
        if len(column_weights) < width:  # a value new since the weights: as rare as can be
            extra = np.full(width - len(column_weights), getattr(IDENTIFIERS, cap))
            column_weights = np.concatenate([column_weights, extra])
        both = np.flatnonzero((_row_lengths(a, i) > 0) & (_row_lengths(b, j) > 0))
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
    f: _Features,
    g: _Features,
    context: _Context,
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
        digests = _sorted_unique(hi[same])
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
        return _few_row_dots(a, b, i, j, column_weights)
    columns = max(a.shape[1], b.shape[1])
    a, b = _widen(a, columns), _widen(b, columns)
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
    owners, ranks = _ragged(matrix.indptr[rows + 1] - start)
    at = start[owners] + ranks
    return owners, matrix.indices[at], matrix.data[at]


def _few_row_dots(
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


def _dots_if_any(a: sp.csr_matrix, b: sp.csr_matrix, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    if a.nnz == 0 or b.nnz == 0:  # no short record or no identifier on one side
        return np.zeros(len(i), dtype=np.float32)
    return row_dots(a, b, i, j)


def _details(f: _Features, g: _Features, i: np.ndarray, j: np.ndarray) -> list[dict[str, float]]:
    """The numbers the sentences quote, for pairs that are shown (few)."""
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    if len(i) == 0:
        return []
    title = row_dots(f.title, g.title, i, j)
    description = row_dots(f.description, g.description, i, j)
    text = _dots_if_any(f.characters, g.characters, i, j)
    identifiers = np.zeros(len(i), dtype=np.float32)
    for name, _cap, _conflict in _IDENTIFIER_KINDS:
        identifiers += _dots_if_any(getattr(f, name), getattr(g, name), i, j)
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
                "text": float(text[m]),
                "identifiers": float(identifiers[m]),
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


UNKNOWN_LEVELS = {
    "title": "missing",
    "description": "missing",
    "category": "missing",
    "where": "unknown",
    "when": "unknown",
    "for_whom": "unknown",
    "by_whom": "unknown",
}


def _field_name(name: str) -> str:
    return {
        "title": _("title"),
        "description": _("description"),
        "category": _("category"),
        "where": _("areas"),
        "when": _("dates"),
        "for_whom": _("target groups"),
        "by_whom": _("organisation"),
    }[name]


def explain(
    levels: np.ndarray, weights: np.ndarray, d: Mapping[str, float]
) -> tuple[tuple[str, str, float, str], ...]:
    """Plain-language sentences, one per field, from the levels, weights and numbers;
    the last part names the fields unknown on either side (they weighed nothing)."""
    parts: list[tuple[str, str, float, str]] = []
    unknown: list[str] = []
    for column, name in enumerate(FIELDS):
        label = LEVELS[name][int(levels[column])]
        parts.append((name, label, round(float(weights[column]), 2), _sentence(name, label, d)))
        if UNKNOWN_LEVELS.get(name) == label:
            unknown.append(name)
    order = (
        "category",
        "where",
        "when",
        "for_whom",
        "title",
        "description",
        "text",
        "identifiers",
        "by_whom",
    )
    parts.sort(key=lambda p: order.index(p[0]))
    if unknown:
        listed = ", ".join(_field_name(name) for name in unknown)
        sentence = _("unknown on one side, so neither for nor against: {fields}")
        parts.append(("unknown", ",".join(unknown), 0.0, sentence.format(fields=listed)))
    return tuple(parts)


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
        return _("no area in common") if label == "none" else ""
    if name == "when":
        if label in {"most", "some"}:
            return _("dates overlap {p} %").format(p=round(100 * d["when"]))
        return _("dates do not overlap") if label == "none" else ""
    if name == "for_whom":
        if label == "same":
            return _("same target group")
        if label == "some":
            return _("{k} of {n} target groups shared").format(
                k=int(d["groups_shared"]), n=int(d["groups_union"])
            )
        return _("different target groups") if label == "none" else ""
    if name == "title":
        return _("titles {x:.2f} similar").format(x=d["title"]) if label == "compared" else ""
    if name == "description":
        if label == "boilerplate":
            return _("same standard description (ignored)")
        if label == "compared":
            return _("descriptions {x:.2f} similar").format(x=d["description"])
        if label == "across":
            return _("descriptions {x:.2f} similar across languages").format(x=d["description"])
        return ""
    if name == "text":
        if label == "compared":
            return _("short texts {x:.2f} similar letter by letter").format(x=d["text"])
        return ""
    if name == "identifiers":
        if label == "shared":
            return _("{k} identifier(s) in common (phone, number or web address)").format(
                k=int(d["identifiers"])
            )
        return _("different phone numbers, numbers or web addresses") if label == "conflict" else ""
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
