"""Topics assigned by configurable keyword rules in Portuguese and English.

The rules live in a JSON file (``data/feeds/topic_rules.json`` unless the setting
HUB_FEED_TOPIC_RULES names another); it is re-read when it changes.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hub import settings
from hub.errors import InvalidInput
from hub.i18n import _, get_language

DEFAULT_RULES_PATH = settings.PROJECT_ROOT / "data" / "feeds" / "topic_rules.json"


@dataclass(frozen=True)
class Topic:
    key: str
    labels: dict[str, str]
    pattern: re.Pattern[str] | None


def fold(text: str) -> str:
    """Lower case without accents, for matching Portuguese and English alike."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def rules_path() -> Path:
    configured = str(settings.get("HUB_FEED_TOPIC_RULES")).strip()
    return Path(configured) if configured else DEFAULT_RULES_PATH


def load_topics() -> tuple[Topic, ...]:
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
def _load(path: str, _stamp: int) -> tuple[Topic, ...]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        topics = []
        for key, rule in data["topics"].items():
            words = sorted({fold(w).strip() for w in rule.get("keywords", []) if w.strip()})
            pattern = (
                re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)")
                if words
                else None
            )
            labels = {lang: str(rule.get(lang) or key) for lang in ("en", "pt")}
            topics.append(Topic(key=str(key), labels=labels, pattern=pattern))
    except (ValueError, KeyError, AttributeError, TypeError) as err:
        raise InvalidInput(
            _("The topic rules file {path} is not valid ({error}); fix the JSON.").format(
                path=path, error=err
            ),
            field="HUB_FEED_TOPIC_RULES",
        ) from None
    return tuple(topics)


def classify(text: str, *, topics: tuple[Topic, ...], fallback: str = "") -> str:
    """The topic with the most keyword hits in ``text``, else ``fallback``."""
    folded = fold(text)
    best, best_hits = fallback, 0
    for topic in topics:
        if topic.pattern is None:
            continue
        hits = len(topic.pattern.findall(folded))
        if hits > best_hits:
            best, best_hits = topic.key, hits
    return best


def topic_keys() -> list[str]:
    return [topic.key for topic in load_topics()]


def topic_label(key: str) -> str:
    if not key:
        return _("No topic")
    for topic in load_topics():
        if topic.key == key:
            return topic.labels.get(get_language(), key)
    return key
