"""Text of the overlap engine: folding, stop words, stems, the bilingual lexicon,
character trigrams and identifiers (phone and other numbers, web and e-mail domains).

``StemVocabulary`` turns a batch of texts into stem counts at once (one split per batch,
numpy over word ids); ``GramVocabulary`` gives character trigrams of short texts.
docs/overlaps.md explains the choices.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from hub.text import fold_ascii
from initiatives.overlap_arrays import (
    binary_rows,
    codes_of,
    csr,
    ragged,
    sorted_unique,
    spread_rows,
    widen,
)

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
DISTINCT_SHARE = 0.9  # above this share of distinct texts, no copying: analyse them all


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
        words ("programme", "restaurant") are left out.

        Titles and descriptions repeat (a programme's standard text, a network's
        template): each distinct text is tokenised once and its rows copied."""
        distinct = dict.fromkeys(texts)
        if not texts or len(distinct) > DISTINCT_SHARE * len(texts):
            return self._analyse(texts, grow=grow, title=title)
        positions = dict(zip(distinct, range(len(distinct)), strict=True))
        inverse = np.fromiter(map(positions.__getitem__, texts), dtype=np.int64, count=len(texts))
        del positions
        once = self._analyse(list(distinct), grow=grow, title=title)
        del distinct
        # Each identifier of a distinct text, once per text that repeats it.
        order = np.argsort(inverse, kind="stable")
        holders = np.bincount(inverse, minlength=len(once.hashes))
        first = np.zeros(len(holders) + 1, dtype=np.int64)
        np.cumsum(holders, out=first[1:])
        owners, ranks = ragged(holders[once.identifier_rows])
        rows = order[first[once.identifier_rows[owners]] + ranks]
        found = list(map(once.identifiers.__getitem__, owners.tolist()))
        return _Analysis(
            once.counts[inverse], once.language[inverse], once.hashes[inverse], rows, found
        )

    def _analyse(self, texts: Sequence[str], *, grow: bool, title: bool) -> _Analysis:
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
            blocks.append(csr(counts, text[kept], stem[kept], (len(batch), width)))
        width = max(len(self.stems), *(b.shape[1] for b in blocks), 1)
        matrices = [widen(b, width) for b in blocks]
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
        return csr(data, np.asarray(rows, dtype=np.int64), np.asarray(columns, np.int64), shape)


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
    texts_with_runs = sorted_unique(text_of_token[positions[in_run]])
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


def title_text(title: str) -> str:
    """A title without its parenthesised qualifiers ("Free wi-fi (Lisbon)"): they are
    places or asides, and cost the words that name the effort their weight."""
    if "(" not in title and "[" not in title:
        return title
    return _QUALIFIER.sub(" ", title).strip() or title


def without_generic(title: str) -> str:
    words = fold_ascii(title).translate(_SPACE_OUT).split()
    return " ".join(w for w in words if w not in GENERIC_TITLE_WORDS)


_QUALIFIER = re.compile(r"\([^)]*\)?|\[[^\]]*\]?")
SHORT_TEXT = 160  # characters of title + description up to which a record is "short"


class Texts(NamedTuple):
    """The text features of a batch of records'
    titles and descriptions (counts, or TF-IDF once weighted)."""

    title: sp.csr_matrix
    description: sp.csr_matrix
    description_hash: np.ndarray  # of the word sequence, for boilerplate; 0: no word
    characters: sp.csr_matrix  # char trigrams of short records (other rows empty)
    short: np.ndarray
    language: np.ndarray  # +1 Portuguese, -1 English, 0 not known
    identifier_rows: np.ndarray
    identifiers: list[str]


def record_texts(
    words: StemVocabulary,
    grams: GramVocabulary,
    titles: Sequence[str],
    descriptions: Sequence[str],
    *,
    grow: bool,
) -> Texts:
    """Counts of the stems and (short records) character trigrams of records' titles and
    descriptions, and the identifiers in them."""
    titles = list(map(title_text, titles))
    title = words.analyse(titles, grow=grow, title=True)
    description = words.analyse(descriptions, grow=grow)
    # map(len, ...) twice: a generator over zip cost a Python frame per record.
    lengths = np.fromiter(map(len, titles), dtype=np.int64, count=len(titles))
    lengths += np.fromiter(map(len, descriptions), dtype=np.int64, count=len(descriptions))
    short = (lengths <= SHORT_TEXT) & (lengths > 0)
    rows = np.flatnonzero(short)
    characters = grams.counts(
        [f"{without_generic(titles[n])} {descriptions[n]}" for n in rows.tolist()],
        grow=grow,
    )
    characters = sp.csr_matrix(
        (
            characters.data,
            characters.indices,
            spread_rows(characters.indptr, rows, len(titles)),
        ),
        shape=(len(titles), characters.shape[1]),
    )
    return Texts(
        title.counts,
        description.counts,
        description.hashes,
        characters,
        short,
        np.sign(title.language + description.language).astype(np.int8),
        np.concatenate([title.identifier_rows, description.identifier_rows]),
        [*title.identifiers, *description.identifiers],
    )


def identifier_columns(
    vocabularies: Mapping[str, dict[Any, int]], texts: Texts, count: int, *, grow: bool
) -> list[sp.csr_matrix]:
    """Binary rows (long numbers, short numbers, domains) of the identifiers found in
    ``texts``, one column per value in ``vocabularies["identifier_" + kind]``."""
    identifiers: dict[str, tuple[list[int], list[str]]] = {kind: ([], []) for kind in "LSD"}
    for row, identifier in zip(texts.identifier_rows.tolist(), texts.identifiers, strict=True):
        identifiers[identifier[0]][0].append(row)
        identifiers[identifier[0]][1].append(identifier)
    matrices = []
    for kind in "LSD":
        rows, values = identifiers[kind]
        columns = codes_of(vocabularies["identifier_" + kind], values, grow=grow)
        width = max(len(vocabularies["identifier_" + kind]), int(columns.max(initial=-1)) + 1)
        matrices.append(
            binary_rows(np.asarray(rows, dtype=np.int64), columns, (count, max(width, 1)))
        )
    return matrices
