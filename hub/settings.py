"""Every setting of the hub, listed once.

Values come from ``HUB_*`` environment variables. The README's settings table is
checked against this registry by ``tests/unit/test_settings.py``, so a setting
cannot be added without being documented.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "instance" / "hub.db"


class SettingsError(ValueError):
    """A setting has a value the hub cannot use; the message names it and the fix."""


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected one of 1/0, true/false, yes/no, on/off")


def _parse_positive_int(raw: str) -> int:
    value = int(raw.strip())
    if value <= 0:
        raise ValueError("expected a whole number above zero")
    return value


def _time_zone(raw: str) -> str:
    """An IANA time zone name the system's zone database knows (``HUB_TIME_ZONE``)."""
    value = raw.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone such as Europe/Lisbon") from None
    return value


def _parse_language(raw: str) -> str:
    value = raw.strip().lower()
    if value not in {"pt", "en"}:
        raise ValueError("expected pt or en")
    return value


def parse_public_base_url(raw: str) -> str:
    """An absolute http(s) address ending in "/" (``HUB_PUBLIC_BASE_URL``)."""
    value = raw.strip()
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("expected an absolute address like https://hub.example.pt/")
    return value if value.endswith("/") else value + "/"


def parse_networks(raw: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Addresses or CIDR ranges, separated by commas or spaces (``HUB_TRUSTED_PROXIES``)."""
    try:
        return tuple(
            ip_network(part, strict=False) for part in raw.replace(",", " ").split() if part
        )
    except ValueError:
        raise ValueError("expected addresses or ranges like 10.0.0.5, 10.0.0.0/8, ::1") from None


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "HUB_DATABASE_URL",
        "",
        "SQLAlchemy URL of the database. Empty means a SQLite file at instance/hub.db. "
        "For PostgreSQL: postgresql+psycopg://user:password@host:5432/dbname",
    ),
    Setting(
        "HUB_DEMO_MODE",
        "false",
        "Load the illustrative demo data on first start, list the demo accounts on the "
        "login screen and show a 'demo data' banner on every page. `make run` turns it on.",
        _parse_bool,
    ),
    Setting(
        "HUB_DEFAULT_LANGUAGE",
        "pt",
        "Language of a new visitor: pt (Portuguese) or en (English).",
        _parse_language,
    ),
    Setting(
        "HUB_TIME_ZONE",
        "Europe/Lisbon",
        "The office's time zone (IANA name, e.g. Europe/Lisbon, Atlantic/Azores): every "
        "time the workspace shows is in it.",
        lambda raw: _time_zone(raw),
    ),
    Setting(
        "HUB_LOGIN_MAX_FAILURES",
        "5",
        "Wrong passwords in a row after which an account is locked.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_LOGIN_LOCKOUT_MINUTES",
        "15",
        "How long a locked account stays locked.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_SESSION_IDLE_MINUTES",
        "60",
        "A signed-in user idle for longer than this is signed out.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_SESSION_MAX_HOURS",
        "12",
        "A sign-in lasts at most this long, active or not.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_SQLITE_BUSY_TIMEOUT_MS",
        "5000",
        "How long a SQLite writer waits for another writer before giving up.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_CONFIRM_AFTER_DAYS",
        "30",
        "An active or planned initiative its partner has not confirmed or updated for this "
        "many days is flagged as stale, and the partner is reminded.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_SMTP_HOST",
        "",
        "Mail server for reminders to partners. Empty: reminders appear only in the app.",
    ),
    Setting("HUB_SMTP_PORT", "587", "Mail server port.", _parse_positive_int),
    Setting("HUB_SMTP_USER", "", "Mail server user name (empty: no login)."),
    Setting("HUB_SMTP_PASSWORD", "", "Mail server password."),
    Setting(
        "HUB_SMTP_STARTTLS",
        "true",
        "Upgrade the mail connection with STARTTLS before logging in.",
        _parse_bool,
    ),
    Setting("HUB_SMTP_FROM", "hub@localhost", "Sender address of the hub's e-mails."),
    Setting(
        "HUB_PUBLIC_CACHE_SECONDS",
        "15",
        "The public HTML page, feed and open data are re-rendered at most this often "
        "(and only when the data changed).",
        _parse_positive_int,
    ),
    Setting(
        "HUB_PUBLIC_BASE_URL",
        "http://127.0.0.1:8501/",
        "Absolute address of the public site as the public reaches it. The Atom feed's "
        "ids and links are built from it, so a feed reader keeps each item once and "
        "every deployment has ids of its own: set it before publishing the feed.",
        parse_public_base_url,
    ),
    Setting(
        "HUB_AUTH_MODE",
        "local",
        "local: accounts with passwords in our database. oidc: sign in through the "
        "identity provider configured under [auth] in .streamlit/secrets.toml; the role "
        "still comes from our accounts table (see 'Single sign-on').",
        lambda raw: _choice(raw, {"local", "oidc"}),
    ),
    # --- feeds (issue 5) ---
    Setting(
        "HUB_RUN_SCHEDULER",
        "true",
        "Run the feed scheduler inside the app process (started once per process by "
        "asgi_app.py). Turn it off on every replica but one, or everywhere when "
        "`python -m hub worker` runs the scheduler as its own process.",
        _parse_bool,
    ),
    Setting(
        "HUB_FETCH_ALLOW_HOSTS",
        "",
        "Comma-separated host names or addresses the feed fetcher may reach although "
        "they are private, loopback or link-local (refused by default, after DNS, on "
        "every redirect). Example: 127.0.0.1,feeds.intranet.local",
        lambda raw: frozenset(h.strip().lower() for h in raw.split(",") if h.strip()),
    ),
    Setting(
        "HUB_FETCH_MAX_BYTES",
        "15728640",
        "Largest feed the fetcher reads, measured after decompression (15 MiB).",
        _parse_positive_int,
    ),
    Setting(
        "HUB_FETCH_CONNECT_TIMEOUT_SECONDS",
        "10",
        "How long the fetcher waits to connect to a feed's server.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_FETCH_TIMEOUT_SECONDS",
        "20",
        "How long the fetcher waits for each read from a feed's server.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_FETCH_DEADLINE_SECONDS",
        "60",
        "Hard limit on one feed fetch, redirects and download included; a server that "
        "drips bytes is cut off here.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_FETCH_CONCURRENCY",
        "16",
        "How many feeds are fetched at once.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_FETCH_PER_HOST",
        "2",
        "How many feeds of the same host are fetched at once (politeness; one slow host "
        "cannot hold every slot).",
        _parse_positive_int,
    ),
    Setting(
        "HUB_FEED_BACKOFF_MAX_HOURS",
        "24",
        "Longest wait between polls of a failing feed (the wait doubles with each "
        "failure; polling never stops for good).",
        _parse_positive_int,
    ),
    Setting(
        "HUB_SCHEDULER_TICK_SECONDS",
        "60",
        "How often the scheduler looks for feeds that are due.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_FEED_TOPIC_RULES",
        "",
        "JSON file of keyword rules (Portuguese and English) that assign topics to feed "
        "items. Empty means data/feeds/topic_rules.json.",
    ),
    # --- connectivity (issue 7) ---
    Setting(
        "HUB_COUNTRY_CODE",
        "PT",
        "ISO 3166-1 alpha-2 code of the country the hub serves. The reference areas in "
        "data/geo/ are loaded under a country area with this code.",
        lambda raw: _country_code(raw),
    ),
    # --- registry exchange (issue 3) ---
    Setting(
        "HUB_IATI_REPORTING_ORG_REF",
        "",
        "IATI organisation identifier of the coordination office (see org-id.guide, e.g. "
        "PT-NIPPC-600000000): a list code of IATI's OrganisationRegistrationAgency codelist, "
        "a dash and the identifier. The reporting-org of the IATI export and the prefix of "
        "every iati-identifier. The IATI export refuses to run while it is empty or malformed.",
    ),
    Setting(
        "HUB_IATI_HUMANITARIAN_SCOPE",
        "EP-2020-000012-001",
        "GLIDE number of the emergency the activities respond to (vocabulary 1-2), written "
        "as every IATI activity's humanitarian-scope; the default is COVID-19. Empty writes "
        "no humanitarian-scope.",
        lambda raw: _glide(raw),
    ),
    Setting(
        "HUB_DATA_LICENCE",
        "CC-BY-4.0",
        "Licence of the open data (SPDX id: CC-BY-4.0, CC0-1.0, CC-BY-SA-4.0, ODC-BY-1.0 or "
        "ODbL-1.0), stated on the public page, in datapackage.json, the DCAT catalogue and "
        "the Atom feed's rights.",
        lambda raw: _licence(raw),
    ),
    Setting(
        "HUB_IATI_REPORTING_ORG_NAME",
        "Crisis-response coordination office",
        "Name of the coordination office as the IATI export's reporting-org states it.",
    ),
    # --- overlap detection (issue 4) ---
    Setting(
        "HUB_OVERLAP_THRESHOLD",
        "0.5",
        "Score (0 to 1) from which two initiatives are listed as a possible overlap on the "
        "staff Overlaps page and by `python -m hub overlaps`.",
        lambda raw: _parse_fraction(raw),
    ),
    Setting(
        "HUB_OVERLAP_WARN_THRESHOLD",
        "0.3",
        "Score (0 to 1) from which an existing initiative is shown to a partner as similar "
        "while they fill in a new one (lower than the staff threshold: a hint, not a verdict).",
        lambda raw: _parse_fraction(raw),
    ),
    Setting(
        "HUB_OVERLAP_TOP_K",
        "40",
        "How many nearest initiatives the overlap search considers per initiative.",
        _parse_positive_int,
    ),
    # --- official answers (issue 8) ---
    Setting(
        "HUB_ANSWER_REVIEW_DAYS",
        "30",
        "A published answer not reviewed for this many days is flagged to staff for "
        "re-review with its authority.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_TRUSTED_PROXIES",
        "127.0.0.1, ::1",
        "Addresses or CIDR ranges of the reverse proxies whose X-Forwarded-For is believed "
        "when the rate limits find the client's address. Clients whose address is unknown "
        "share one bucket.",
        parse_networks,
    ),
    Setting(
        "HUB_QUESTIONS_PER_HOUR",
        "5",
        "Questions one client (its address, see HUB_TRUSTED_PROXIES) may send per hour "
        "through the public form (up to 3 at once).",
        _parse_positive_int,
    ),
    Setting(
        "HUB_QUESTIONS_GLOBAL_PER_HOUR",
        "600",
        "Questions everyone together may send per hour: the cap that holds a flood from "
        "many addresses.",
        _parse_positive_int,
    ),
    # partner API (issue 17)
    Setting(
        "HUB_API_KEY_PER_MINUTE",
        "600",
        "Requests one API key may make per minute (bursts up to half of it at once); "
        "over it the API answers 429 with Retry-After. Counted in the database, so every "
        "replica shares it.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_API_PUBLIC_PER_MINUTE",
        "60",
        "Requests one client without a key (its address, see HUB_TRUSTED_PROXIES) may make "
        "per minute to the API's public endpoints.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_API_IDEMPOTENCY_HOURS",
        "24",
        "Hours the API keeps the answer to a call with an Idempotency-Key: a retry within "
        "them gets the same answer; the clean-up job deletes older ones.",
        _parse_positive_int,
    ),
    Setting(
        "HUB_OUTBOX_RETENTION_DAYS",
        "30",
        "Days delivered or dead outbox messages (webhook deliveries) are kept, for "
        "'send again', before the clean-up job deletes them. Pending ones are never "
        "deleted.",
        _parse_positive_int,
    ),
    # reaching people offline: leaflets, SMS, subscriptions (issue 19)
    Setting("HUB_OFFICE_NAME", "Gabinete de coordenação", "Office name printed on leaflets."),
    Setting(
        "HUB_OUTREACH_SECRET",
        "",
        "Secret key that signs subscription links and hashes SMS senders (empty: only in "
        "demo mode, a fixed demo key).",
    ),
    Setting("HUB_SMS_SHARED_SECRET", "", "Shared secret of the RapidPro and Kannel routes."),
    Setting("HUB_TWILIO_AUTH_TOKEN", "", "Twilio auth token that signs its webhook requests."),
    Setting("HUB_SMS_PER_HOUR", "30", "SMS one sender may send per hour.", _parse_positive_int),
    Setting("HUB_SMS_OUTBOUND_URL", "", "Gateway API that sends SMS (empty: SMS not sent)."),
    Setting("HUB_SMS_OUTBOUND_TOKEN", "", "Token of the SMS gateway's outbound API."),
    Setting("HUB_DIGEST_HOUR", "9", "Hour (Europe/Lisbon) of the daily digest.", int),
)


def _parse_fraction(raw: str) -> float:
    value = float(raw.strip())
    if not 0.0 <= value <= 1.0:
        raise ValueError("expected a number between 0 and 1, such as 0.8")
    return value


def _country_code(raw: str) -> str:
    value = raw.strip().upper()
    if len(value) != 2 or not value.isalpha():
        raise ValueError("expected a two-letter ISO country code, such as PT")
    return value


DATA_LICENCES = ("CC-BY-4.0", "CC0-1.0", "CC-BY-SA-4.0", "ODC-BY-1.0", "ODbL-1.0")


def _licence(raw: str) -> str:
    by_lower = {name.lower(): name for name in DATA_LICENCES}
    value = by_lower.get(raw.strip().lower())
    if value is None:
        raise ValueError("expected one of " + ", ".join(DATA_LICENCES))
    return value


def _glide(raw: str) -> str:
    value = raw.strip().upper()
    if value and not re.fullmatch(r"[A-Z]{2}-\d{4}-\d{6}-[A-Z0-9]{3}", value):
        raise ValueError("expected a GLIDE number like EP-2020-000012-001, or nothing")
    return value


def _choice(raw: str, allowed: set[str]) -> str:
    value = raw.strip().lower()
    if value not in allowed:
        raise ValueError("expected one of " + ", ".join(sorted(allowed)))
    return value


_BY_NAME = {setting.name: setting for setting in SETTINGS}


def get(name: str) -> Any:
    """Read one setting now (not at import time, so tests and the CLI can change it)."""
    setting = _BY_NAME[name]
    raw = os.environ.get(name, setting.default)
    try:
        return setting.parse(raw)
    except ValueError as err:
        raise SettingsError(f"{name}={raw!r} is not valid: {err}.") from None


def database_url() -> str:
    url: str = get("HUB_DATABASE_URL").strip()
    if url:
        return url
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def public_base_url() -> str:
    return str(get("HUB_PUBLIC_BASE_URL"))


def demo_mode() -> bool:
    return bool(get("HUB_DEMO_MODE"))


def default_language() -> str:
    return str(get("HUB_DEFAULT_LANGUAGE"))


def time_zone() -> str:
    return str(get("HUB_TIME_ZONE"))
