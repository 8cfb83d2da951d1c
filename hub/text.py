"""Plain-text helpers shared by the UI, search, topics and exports."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


def escape_markdown(text: str) -> str:
    """Backslash-escape every Markdown (and Streamlit colour/emoji) control character."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


# Combining diacritical marks (the blocks Latin, Greek and Cyrillic accents decompose
# into) and control characters (NUL above all: PostgreSQL refuses it in text). One
# regular expression pass: a per-character Python loop made a 10k-row import seconds
# slower and was the largest cost of feed ingest.
_ACCENTS_AND_CONTROLS = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+"
)


def fold(*parts: str) -> str:
    """Lower case, accents and control characters removed: 'Saúde' and 'saude' match."""
    text = " ".join(p for p in parts if p)
    return _ACCENTS_AND_CONTROLS.sub("", unicodedata.normalize("NFKD", text)).lower()


def fold_ascii(text: str) -> str:
    """Lower case, accents removed, every other non-ASCII sign dropped; ASCII kept as is.

    The overlap engine's tokeniser (initiatives.overlap_index) needs this second fold:
    its words are ``[a-z0-9]`` runs found by one ``str.translate`` over ASCII, and it
    joins a batch of texts with NUL as the separator, which ``fold`` removes as a
    control character. Letters compare the same under both folds ("Saúde" -> "saude").
    """
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


_WORD = re.compile(r"[a-z0-9]+")
_PORTUGUESE = snowballstemmer.stemmer("portuguese")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_PORTUGUESE.stemWord(word))


def stem_words(text: str) -> list[str]:
    """The Portuguese Snowball stems of the folded words of ``text``: "pessoas idosas"
    and "idosos" share the stem "idos". Folded first, at index and at query time alike,
    so an accent typed or not gives the same stem."""
    return [_stem(word) for word in _WORD.findall(fold(text))]


def stems_column(text: str) -> str:
    """``stem_words`` as stored for a LIKE search: each stem led by a space, so
    ``LIKE '% idos%'`` finds a word starting with the stem and never a word's middle."""
    return "".join(f" {stem}" for stem in stem_words(text))
