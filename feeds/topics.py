"""Topics assigned by configurable keyword rules in Portuguese and English.

The rules live in a JSON file (``data/feeds/topic_rules.json`` unless the setting
HUB_FEED_TOPIC_RULES names another); it is re-read when it changes.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hub import settings
from hub.errors import InvalidInput
from hub.i18n import _, get_language
from hub.text import fold

DEFAULT_RULES_PATH = settings.PROJECT_ROOT / "data" / "feeds" / "topic_rules.json"


@dataclass(frozen=True)
class Topic:
    key: str
    labels: dict[str, str]
    keywords: tuple[str, ...]  # folded


@dataclass(frozen=True)
class TopicRules:
    """Every topic's keywords, arranged so a text is read once, not once per topic or
    keyword: single words are counted from one word tally; a keyword of several words
    ("estado de emergência", "covid-19") is searched only when all its words occur."""

    topics: tuple[Topic, ...]
    single_words: dict[str, tuple[str, ...]]  # word -> topic keys
    phrases: dict[str, tuple[tuple[str, ...], re.Pattern[str], tuple[str, ...]]]


_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]*>")  # markup and link addresses say nothing about the topic


def rules_path() -> Path:
    configured = str(settings.get("HUB_FEED_TOPIC_RULES")).strip()
    return Path(configured) if configured else DEFAULT_RULES_PATH


def load_topics() -> TopicRules:
    path = rules_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        raise InvalidInput(
            _(
                "The topic rules file {path} is missing. Set HUB_FEED_TOPIC_RULES to a JSON file."
            ).format(path=path),
            field="HUB_FEED_TOPIC_RULES",
        ) from None
    return _load(str(path), stamp)


@lru_cache(maxsize=4)
def _load(path: str, _stamp: int) -> TopicRules:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        topics = []
        for key, rule in data["topics"].items():
            words = sorted({fold(w).strip() for w in rule.get("keywords", []) if w.strip()})
            labels = {lang: str(rule.get(lang) or key) for lang in ("en", "pt")}
            topics.append(Topic(key=str(key), labels=labels, keywords=tuple(words)))
    except (ValueError, KeyError, AttributeError, TypeError) as err:
        raise InvalidInput(
            _("The topic rules file {path} is not valid ({error}); fix the JSON.").format(
                path=path, error=err
            ),
            field="HUB_FEED_TOPIC_RULES",
        ) from None
    return compile_rules(topics)


def compile_rules(topics: list[Topic]) -> TopicRules:
    by_keyword: dict[str, list[str]] = {}
    for topic in topics:
        for keyword in topic.keywords:
            by_keyword.setdefault(keyword, []).append(topic.key)
    single_words: dict[str, tuple[str, ...]] = {}
    phrases: dict[str, tuple[tuple[str, ...], re.Pattern[str], tuple[str, ...]]] = {}
    for keyword, keys in by_keyword.items():
        words = tuple(_WORD.findall(keyword))
        if len(words) == 1 and words[0] == keyword:
            single_words[keyword] = tuple(keys)
        elif words:
            pattern = re.compile(r"(?<!\w)" + re.escape(keyword) + r"(?!\w)")
            phrases[keyword] = (words, pattern, tuple(keys))
    return TopicRules(topics=tuple(topics), single_words=single_words, phrases=phrases)


def classify(text: str, *, topics: TopicRules, fallback: str = "") -> str:
    """The topic with the most keyword hits in ``text`` (HTML tags ignored), else
    ``fallback``; a tie goes to the topic listed first in the rules."""
    folded = fold(_TAG.sub(" ", text))
    tally = Counter(_WORD.findall(folded))
    hits: Counter[str] = Counter()
    for word, keys in topics.single_words.items():
        count = tally.get(word)
        if count:
            for key in keys:
                hits[key] += count
    for words, pattern, keys in topics.phrases.values():
        if all(word in tally for word in words):
            count = len(pattern.findall(folded))
            for key in keys:
                hits[key] += count
    if not hits:
        return fallback
    order = {topic.key: n for n, topic in enumerate(topics.topics)}
    return max(hits, key=lambda key: (hits[key], -order[key]))


def topic_keys() -> list[str]:
    return [topic.key for topic in load_topics().topics]


def topic_label(key: str) -> str:
    if not key:
        return _("No topic")
    for topic in load_topics().topics:
        if topic.key == key:
            return topic.labels.get(get_language(), key)
    return key
