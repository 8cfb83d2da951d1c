"""Input checks for what the public types and for the contacts directory.

Questions are plain text: markup is refused (not silently stripped, so the asker knows
why), links are limited, length is capped. Personal data a person typed into a
question (e-mail addresses, phone and other long numbers) is redacted from the
wording the public may ever see.
"""

from __future__ import annotations

import re
import unicodedata

from hub.errors import InvalidInput
from hub.i18n import _

QUESTION_MIN = 10
QUESTION_MAX = 1000
MAX_LINKS = 2

_TAG = re.compile(r"<\s*/?\s*[A-Za-z!?][^>]*>|<\s*/?\s*(script|style|iframe)", re.IGNORECASE)
_ENTITY_TAG = re.compile(r"&lt;\s*/?\s*[A-Za-z]", re.IGNORECASE)
_LINK = re.compile(r"(https?://|www\.|\b[\w-]+\.(?:com|net|org|info|xyz|ru|pt|io)/)", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A phone, tax or ID number: 7+ digits, optionally with spaces, dots or dashes between.
_NUMBER = re.compile(r"(?<!\w)\+?\d(?:[\s.\-/]?\d){6,}(?!\w)")
_SIMPLE_EMAIL = re.compile(r"^[^@\s<>\"'`]+@[^@\s<>\"'`]+\.[A-Za-z]{2,}$")
EMAIL_REDACTED = "[e-mail removed]"
NUMBER_REDACTED = "[number removed]"


def _plain(raw: str) -> str:
    """Control characters (NUL above all) dropped, whitespace runs folded."""
    kept = "".join(
        ch if unicodedata.category(ch) != "Cc" or ch in "\n\t" else " "
        for ch in unicodedata.normalize("NFC", raw)
    )
    lines = [" ".join(line.split()) for line in kept.splitlines()]
    return "\n".join(line for line in lines if line).strip()


def clean_question_text(raw: str) -> str:
    """The question as stored, or InvalidInput naming the problem."""
    if len(raw) > QUESTION_MAX * 2:  # before any work on a huge paste
        raise InvalidInput(
            _("Question: use at most {n} characters.").format(n=QUESTION_MAX), field="text"
        )
    text = _plain(raw)
    if len(text) < QUESTION_MIN:
        raise InvalidInput(
            _("Question: write at least {n} characters.").format(n=QUESTION_MIN), field="text"
        )
    if len(text) > QUESTION_MAX:
        raise InvalidInput(
            _("Question: use at most {n} characters.").format(n=QUESTION_MAX), field="text"
        )
    if has_markup(text):
        raise InvalidInput(
            _("Question: write plain text, without HTML tags or scripts."), field="text"
        )
    if len(_LINK.findall(text)) > MAX_LINKS:
        raise InvalidInput(
            _("Question: include at most {n} links.").format(n=MAX_LINKS), field="text"
        )
    return text


def has_markup(text: str) -> bool:
    """HTML tags or script openers, also when entity-escaped ("&lt;script")."""
    return bool(_TAG.search(text) or _ENTITY_TAG.search(text))


def redact(text: str) -> str:
    """Wording fit for the public: e-mail addresses and long numbers removed."""
    return _NUMBER.sub(NUMBER_REDACTED, _EMAIL.sub(EMAIL_REDACTED, text))


def clean_email(raw: str, *, field: str = "email") -> str:
    """A plausible e-mail address (lower-cased) or empty; anything else refused."""
    value = raw.strip()
    if not value:
        return ""
    if len(value) > 254 or not _SIMPLE_EMAIL.match(value):
        raise InvalidInput(
            _("E-mail: enter an address such as name@example.pt, or leave it empty."),
            field=field,
        )
    return value.lower()


_PHONE_ALLOWED = re.compile(r"^\+?[0-9 ]+$")


def clean_phone(raw: str) -> str:
    """A phone number as people write it: digits and spaces, optionally a leading +.

    National short numbers (112, 144) have 3 to 6 digits; other numbers need 9 to 15
    digits (E.164 allows at most 15, country code included).
    """
    value = " ".join(raw.split())
    if not value:
        return ""
    if not _PHONE_ALLOWED.match(value):
        raise InvalidInput(
            _(
                "Phone: use only digits and spaces, with an optional + before the country "
                "code (for example 808 24 24 24 or +351 21 000 0000)."
            ),
            field="phone",
        )
    digits = value.replace(" ", "").lstrip("+")
    if value.startswith("+") and not 8 <= len(digits) <= 15:
        raise InvalidInput(
            _("Phone: an international number has 8 to 15 digits after the +."), field="phone"
        )
    if not (3 <= len(digits) <= 6 or 9 <= len(digits) <= 15):
        raise InvalidInput(
            _("Phone: a short number has 3 to 6 digits, a full number 9 to 15."),
            field="phone",
        )
    return value


def tel_target(phone: str) -> str:
    """What follows ``tel:`` in a link: digits and a leading + only."""
    return re.sub(r"[^0-9+]", "", phone)
