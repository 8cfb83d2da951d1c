"""The SMS information line: one service, ``answer_sms``, behind every gateway adapter.

Keywords in Portuguese and English, accents and case ignored: AJUDA/HELP, LINHAS/LINES,
INFO <concelho>, MEDIDAS/MEASURES, SEGUIR/FOLLOW <concelho>, PARAR/STOP, MAIS/MORE.
Replies are cut to whole items and counted as the network counts them (GSM 03.38:
160 characters in one segment, 153 per part of a long message, an extension character
such as "€" counting two; any other character makes the message UCS-2: 70 in one
segment, 67 per part, counted in UTF-16 units), at most ``MAX_SEGMENTS`` segments a
reply; the rest waits for MAIS in a conversation row deleted after a day.

Senders are kept only as a keyed hash (outreach.signing), except the number of someone
who sends SEGUIR (a subscription they asked for). Staff see counts by keyword and area
(``outreach_sms_count``), never a text.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import JSON, String, bindparam, text
from sqlmodel import Session, col, select

from answers.directory import list_public_contacts, list_public_measures
from answers.ratelimit import Limit, take
from geo.models import Area, AreaLevel
from geo.postal_codes import area_for_postal_code
from hub import settings
from hub.columns import UTCDateTime
from hub.i18n import _, get_language, set_language
from hub.records import utcnow
from hub.text import fold
from outreach.leaflets import gather_leaflet
from outreach.signing import keyed_hash
from outreach.subscriptions import follow_sms, stop_sms

MAX_SEGMENTS = 3
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
KEYWORDS = {
    "ajuda": ("help", "pt"),
    "help": ("help", "en"),
    "linhas": ("lines", "pt"),
    "lines": ("lines", "en"),
    "info": ("info", ""),
    "medidas": ("measures", "pt"),
    "measures": ("measures", "en"),
    "seguir": ("follow", "pt"),
    "follow": ("follow", "en"),
    "parar": ("stop", "pt"),
    "stop": ("stop", "en"),
    "mais": ("more", "pt"),
    "more": ("more", "en"),
}
_POSTAL_CODE = re.compile(r"^\d{4}([-\s]?\d{3})?$")


@dataclass(frozen=True)
class SmsReply:
    text: str  # "" when nothing is to be sent (rate limited)
    keyword: str
    language: str
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    more: bool  # further pages wait for MAIS


def encoding_of(text: str) -> str:
    return "GSM-7" if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text) else "UCS-2"


def segment_count(text: str) -> int:
    """Segments the network bills for ``text`` (0 for an empty text)."""
    if not text:
        return 0
    if encoding_of(text) == "GSM-7":
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, part = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else math.ceil(units / part)


def _cut(text: str, reserve: str = "") -> str:
    """An item too long on its own, cut at a word (with "...", which keeps GSM-7 text
    GSM-7) so that it and ``reserve`` fit: the only cut inside an item."""
    if segment_count(text + reserve) <= MAX_SEGMENTS:
        return text
    words = text.split(" ")
    while len(words) > 1 and segment_count(" ".join(words) + "..." + reserve) > MAX_SEGMENTS:
        words.pop()
    cut = " ".join(words).rstrip(",;:") + "..."
    while segment_count(cut + reserve) > MAX_SEGMENTS:  # one enormous word
        cut = cut[: len(cut) // 2] + "..."
    return cut


def paginate(header: str, items: list[str], more_hint: str) -> list[str]:
    """Pages of whole items, each within MAX_SEGMENTS, with the hint for MAIS at the end
    of every page but the last."""
    reserve = f"\n{more_hint}"
    pages: list[str] = []
    current = header
    for item in items:
        candidate = f"{current}\n{item}" if current else item
        if segment_count(candidate + reserve) <= MAX_SEGMENTS:
            current = candidate
            continue
        if current and current != header:
            pages.append(current + reserve)
            candidate = item
        current = _cut(candidate, reserve)
    if current:
        pages.append(current)
    return pages


# --- what each keyword answers ---------------------------------------------------------


def _help() -> list[str]:
    return [
        _("Send one word:"),
        _("LINES: support lines"),
        _("INFO and your municipality: help near you"),
        _("MEASURES: measures in force"),
        _("FOLLOW and your municipality: news by SMS"),
        _("STOP: no more news"),
    ]


def _lines(*, session: Session) -> list[str]:
    return [
        f"{c.name}: {c.phone}"
        for c in list_public_contacts(session=session)
        if c.phone and not c.area_code
    ]


def _day(value: date) -> str:
    return value.strftime("%d/%m")


def _measures(*, session: Session) -> list[str]:
    items = []
    for m in list_public_measures(session=session, limit=30):
        until = _("until {date}").format(date=_day(m.in_force_to)) if m.in_force_to else ""
        forms = ", ".join(m.documents[:2])
        details = "; ".join(part for part in (until, forms) if part)
        items.append(f"{m.title} ({details})" if details else m.title)
    return items or [_("No measures in force need you to act now.")]


_AREAS: dict[str, tuple[float, dict[str, Area]]] = {}


def find_area(*, session: Session, place: str) -> Area | None:
    """A municipality (else a district) by its name as people type it; the names are
    read once a minute per process."""
    bind = session.get_bind()
    key = str(bind.engine.url)
    cached = _AREAS.get(key)
    if cached is None or time.monotonic() - cached[0] > 60:
        by_name: dict[str, Area] = {}
        for area in session.exec(
            select(Area).where(col(Area.level) != AreaLevel.COUNTRY).order_by(col(Area.level))
        ).all():
            # municipalities win a name shared with a district ("Lisboa")
            if area.level is AreaLevel.MUNICIPALITY or fold(area.name) not in by_name:
                by_name[fold(area.name)] = area
        cached = (time.monotonic(), by_name)
        _AREAS[key] = cached
    folded = " ".join(fold(place).split())
    return cached[1].get(folded) or (
        cached[1].get(folded.removeprefix("concelho de ").removeprefix("distrito de "))
    )


def _info(*, session: Session, area: Area, language: str) -> tuple[str, list[str]]:
    leaflet = gather_leaflet(session=session, area_code=area.code, language=language)
    items = [f"{c.name}: {c.phone}" for c in leaflet.lines if c.area_code and c.phone]
    for offer in leaflet.offers:
        until = _("until {date}").format(date=_day(offer.valid_until)) if offer.valid_until else ""
        how = ", ".join(offer.reach)
        items.append(f"{offer.title} ({'; '.join(p for p in (how, until) if p)})")
    if leaflet.national_lines_only:
        header = _("Nothing available in {area} now. National lines:").format(area=area.name)
        return header, [f"{c.name}: {c.phone}" for c in leaflet.lines if c.phone]
    return _("Help in {area}:").format(area=area.name), items


# --- the service ------------------------------------------------------------------------

CACHE_SECONDS = 30.0
_PAGES: dict[tuple[str, tuple[str, ...]], tuple[float, list[str]]] = {}


def cached(*, session: Session, key: tuple[str, ...], build: Callable[[], list[str]]) -> list[str]:
    """The pages of an answer, built at most every CACHE_SECONDS per process and
    database: a crowd asking INFO Lisboa costs one build (the public page caches
    likewise; a change shows within half a minute)."""
    full = (str(session.get_bind().engine.url), key)
    hit = _PAGES.get(full)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    pages = build()
    if len(_PAGES) > 2000:
        _PAGES.clear()
    _PAGES[full] = (time.monotonic(), pages)
    return pages


def sender_key(sender: str) -> str:
    return keyed_hash("sms-sender", "".join(sender.split()))


def sms_limit() -> Limit:
    per_hour = float(settings.get("HUB_SMS_PER_HOUR"))
    return Limit(capacity=min(10.0, per_hour), per_hour=per_hour)


# The same upsert on SQLite and PostgreSQL; a prepared text, as it runs per message.
_COUNT = text(
    "INSERT INTO outreach_sms_count (day, keyword, area_code, count) "
    "VALUES (:day, :keyword, :area_code, 1) "
    "ON CONFLICT (day, keyword, area_code) DO UPDATE SET count = outreach_sms_count.count + 1"
)


def count(*, session: Session, keyword: str, area_code: str = "", day: date | None = None) -> None:
    """One more message for (day, keyword, area): an upsert, in the caller's transaction."""
    session.execute(
        _COUNT, {"day": day or utcnow().date(), "keyword": keyword, "area_code": area_code}
    )


# The conversation (pages still to send) read and written with prepared statements too:
# every message touches it, and the ORM's identity map and flush cost more than the
# answer itself.
_READ_CONVERSATION = text(
    "SELECT language, pages FROM outreach_sms_conversation WHERE sender_hash = :key"
).columns(language=String, pages=JSON)
_SAVE_CONVERSATION = text(
    "INSERT INTO outreach_sms_conversation (sender_hash, language, pages, updated_at) "
    "VALUES (:key, :language, :pages, :updated_at) "
    "ON CONFLICT (sender_hash) DO UPDATE SET language = excluded.language, "
    "pages = excluded.pages, updated_at = excluded.updated_at"
).bindparams(bindparam("pages", type_=JSON), bindparam("updated_at", type_=UTCDateTime))
_DELETE_CONVERSATION = text("DELETE FROM outreach_sms_conversation WHERE sender_hash = :key")


@dataclass(frozen=True)
class Conversation:
    language: str
    pages: list[str]


def _conversation(*, session: Session, key: str) -> Conversation | None:
    row = session.execute(_READ_CONVERSATION, {"key": key}).first()
    return None if row is None else Conversation(row.language, [str(p) for p in row.pages])


def _reply(pages: list[str], keyword: str, language: str) -> SmsReply:
    text = pages[0] if pages else ""
    return SmsReply(
        text=text,
        keyword=keyword,
        language=language,
        encoding=encoding_of(text),
        segments=segment_count(text),
        more=len(pages) > 1,
    )


def answer_sms(*, session: Session, text: str, sender: str, now: float | None = None) -> SmsReply:
    """The reply to one incoming SMS; commits (the count, the conversation, the rate
    limit, a subscription). A sender over the rate limit gets an empty reply."""
    key = sender_key(sender)
    if not take(session=session, key=f"sms:{key[:40]}", limit=sms_limit(), now=now):
        session.commit()
        return SmsReply("", "limited", "pt", "GSM-7", 0, False)
    words = " ".join(text.replace("\x00", " ").split())[:300]
    first, _space, rest = words.partition(" ")
    keyword, language = KEYWORDS.get(fold(first), ("", ""))
    conversation = _conversation(session=session, key=key)
    language = (
        language or (conversation.language if conversation else "") or settings.default_language()
    )
    previous = get_language()
    set_language(language)
    try:
        pages, keyword, area_code = _answer(
            session=session,
            keyword=keyword,
            rest=rest,
            words=words,
            sender=sender,
            language=language,
            conversation=conversation,
        )
    finally:
        set_language(previous)
    count(session=session, keyword=keyword or "other", area_code=area_code)
    # The rest waits for MAIS (after MAIS too: what is left after this page).
    if len(pages) > 1:
        session.execute(
            _SAVE_CONVERSATION,
            {"key": key, "language": language, "pages": pages[1:], "updated_at": utcnow()},
        )
    elif conversation is not None:
        session.execute(_DELETE_CONVERSATION, {"key": key})
    session.commit()
    return _reply(pages, keyword or "other", language)


def _answer(
    *,
    session: Session,
    keyword: str,
    rest: str,
    words: str,
    sender: str,
    language: str,
    conversation: Conversation | None,
) -> tuple[list[str], str, str]:
    """(pages, keyword counted, area code counted)."""
    hint = _("More: send MORE")
    if keyword == "more":
        if conversation is None or not conversation.pages:
            return [_("Nothing more. Send HELP to see what you can ask.")], keyword, ""
        return list(conversation.pages), keyword, ""
    if keyword == "help":
        pages = cached(
            session=session, key=("help", language), build=lambda: paginate("", _help(), hint)
        )
        return pages, keyword, ""
    if keyword == "lines":
        pages = cached(
            session=session,
            key=("lines", language),
            build=lambda: paginate(
                _("Support lines:"),
                _lines(session=session) or [_("No lines are published yet.")],
                hint,
            ),
        )
        return pages, keyword, ""
    if keyword == "measures":
        pages = cached(
            session=session,
            key=("measures", language),
            build=lambda: paginate(_("Measures in force:"), _measures(session=session), hint),
        )
        return pages, keyword, ""
    if keyword == "stop":
        removed = stop_sms(session=session, phone=sender)
        message = (
            _("Done: you will get no more news by SMS.")
            if removed
            else _("You were not following any news by SMS.")
        )
        return [message], keyword, ""
    if keyword in {"info", "follow"} or not keyword:
        place = rest if keyword else words
        if not place:
            return [_("Send INFO and your municipality, for example INFO Braga.")], keyword, ""
        if _POSTAL_CODE.match(place.strip()):
            code = area_for_postal_code(session=session, text=place)
            area = session.get(Area, code) if code else None
            if area is None:
                return (
                    [
                        _(
                            "We do not know that postal code. Send INFO and the name of your "
                            "municipality, for example INFO Braga."
                        )
                    ],
                    keyword,
                    "",
                )
        else:
            area = find_area(session=session, place=place)
        if area is None:
            if not keyword:
                return [_("We did not understand. Send HELP to see what you can ask.")], "", ""
            return (
                [
                    _(
                        "We do not know '{place}'. Send the name of a municipality, "
                        "for example Braga."
                    ).format(place=place[:40])
                ],
                keyword,
                "",
            )
        if keyword == "follow":
            follow_sms(session=session, phone=sender, area_code=area.code, language=language)
            return (
                [
                    _("You will get news about {area} by SMS. Send STOP to stop.").format(
                        area=area.name
                    )
                ],
                keyword,
                area.code,
            )
        pages = cached(
            session=session,
            key=("info", language, area.code),
            build=lambda: paginate(*_info(session=session, area=area, language=language), hint),
        )
        return pages, keyword or "info", area.code
    return [_("We did not understand. Send HELP to see what you can ask.")], "", ""
