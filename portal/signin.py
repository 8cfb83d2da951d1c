"""Sign-in as a plain HTML form, served at the root beside the public site:

  GET  /signin    the form (no JavaScript; password managers fill it; ?lang=en, ?next=)
  POST /signin    check the password, open a web session, set ``hub_session``, 303 to next
  GET  /signout   a one-button form (the browser's way to sign out and drop the cookie)
  POST /signout   end the session, clear the cookie, 303 to /

The session is a database row (``partners.sessions``); the browser holds only its
random token, in ``hub_session``: HttpOnly (no script reads it), SameSite=Lax (sent when
following a link here, not on another site's POST), Path=/, Max-Age the absolute expiry,
and Secure when the request came over HTTPS (``X-Forwarded-Proto`` is believed only
from ``HUB_TRUSTED_PROXIES``). Streamlit reads the same cookie on every run
(``ui.session``).

Both POSTs need a CSRF token by double submit: a random value in ``hub_csrf``
(HttpOnly, SameSite=Strict) and the same value in a hidden field, compared in constant
time; another site can make a browser send the cookie but cannot read it to fill the
field. ``next`` is only ever a local path (``safe_next``), so the form cannot be used to
send someone to another site. Attempts are rate-limited per client address and for
everyone together in the database-backed buckets the public question form uses, on top
of the per-account lockout in ``partners.accounts.authenticate``.
"""

from __future__ import annotations

import hmac
import secrets
import string
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from answers.ratelimit import GLOBAL, Limit, client_key, take_all
from hub import settings
from hub.auth import ROLE_LABELS, Principal
from hub.clients import is_trusted_proxy, rate_limit_identifier
from hub.db import make_engine
from hub.errors import AuthenticationFailed, HubError
from hub.i18n import LANGUAGES, _, set_language
from partners.accounts import authenticate
from partners.demo import DEMO_PASSWORD, demo_accounts
from partners.sessions import (
    SESSION_COOKIE,
    absolute_limit,
    device_summary,
    open_session,
    resolve,
    sign_out,
)

CSRF_COOKIE = "hub_csrf"
CSRF_FIELD = "csrf"
DEFAULT_NEXT = "/app/"
MAX_FORM_BYTES = 8 * 1024  # an e-mail, a password and two tokens
MAX_NEXT = 2000
# Per client address: 10 at once, then one every minute; everyone together: a cap
# that a spread-out attack hits before the accounts table does.
PER_CLIENT = Limit(capacity=10, per_hour=60)
OVERALL = Limit(capacity=200, per_hour=3000)
RETRY_AFTER_SECONDS = 60
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-_")

_TEMPLATES = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_TEMPLATES.globals["_"] = _
_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _engine() -> Engine:
    """One engine per database URL for the process (tests switch databases)."""
    url = settings.database_url()
    with _engines_lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def safe_next(raw: str | None) -> str:
    """``raw`` if it is a path on this site, else ``DEFAULT_NEXT``: it must start with
    one ``/`` (not ``//``, a scheme-relative URL), hold no backslash (browsers read
    ``/\\evil`` as ``//evil``), no control or non-ASCII character, and no scheme."""
    if not raw or len(raw) > MAX_NEXT:
        return DEFAULT_NEXT
    if not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return DEFAULT_NEXT
    if any(not 0x21 <= ord(char) <= 0x7E for char in raw):
        return DEFAULT_NEXT
    return raw


def with_language(path: str, lang: str) -> str:
    """``path`` with ``lang=`` added unless it has one: the page after sign-in opens in
    the language of the form it was signed in from."""
    parts = urlsplit(path)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name == "lang" for name, _value in query):
        return path
    return urlunsplit(("", "", parts.path, urlencode([*query, ("lang", lang)]), parts.fragment))


def is_https(request: Request) -> bool:
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
    return forwarded == "https" and is_trusted_proxy(peer)


def client_identifier(request: Request) -> str:
    peer = request.client.host if request.client else None
    return rate_limit_identifier(peer, request.headers.get("x-forwarded-for"))


def _default_language() -> str:
    try:
        return settings.default_language()
    except settings.SettingsError:
        return "pt"


def _language(request: Request, form: dict[str, str] | None = None) -> str:
    wanted = (form or {}).get("lang") or request.query_params.get("lang", "")
    return wanted if wanted in LANGUAGES else _default_language()


def _csrf_token(request: Request) -> str:
    """The browser's CSRF value if it has a well-formed one (so two open forms both
    work), else a new one."""
    current = request.cookies.get(CSRF_COOKIE, "")
    if 32 <= len(current) <= 100 and _TOKEN_CHARS.issuperset(current):
        return current
    return secrets.token_urlsafe(32)


def _csrf_ok(request: Request, form: dict[str, str]) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    if not cookie or not sent:
        return False
    return hmac.compare_digest(cookie.encode("utf-8", "replace"), sent.encode("utf-8", "replace"))


@dataclass
class Page:
    """What signin.html.j2 shows."""

    lang: str
    csrf: str
    next: str
    mode: str = "signin"  # signin | signout | signed_out
    email: str = ""
    error: str = ""
    error_field: str = ""
    principal: Principal | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _render(request: Request, page: Page, *, status: int = 200) -> HTMLResponse:
    set_language(page.lang)
    other = "en" if page.lang == "pt" else "pt"
    query = {"lang": other}
    if page.next != DEFAULT_NEXT:
        query["next"] = page.next
    demo = settings.demo_mode() and page.mode == "signin"
    body = _TEMPLATES.get_template("signin.html.j2").render(
        page=page,
        lang=page.lang,
        other_lang=other,
        other_language_name=LANGUAGES[other],
        other_language_link=f"{request.url.path}?{urlencode(query)}",
        role_label=lambda role: _(ROLE_LABELS[role]),
        demo=demo,
        demo_accounts=demo_accounts() if demo else [],
        demo_password=DEMO_PASSWORD,
        home=f"/?lang={page.lang}",
    )
    response = HTMLResponse(body, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    if page.csrf != request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE,
            page.csrf,
            httponly=True,
            samesite="strict",
            secure=is_https(request),
            path="/",
        )
    return response


def _clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )


async def _read_form(request: Request) -> dict[str, str] | None:
    """The urlencoded body as a dict (first value of each name), or None when it is not
    a form or is larger than any real sign-in could be."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=20, strict_parsing=False
        )
    except (UnicodeDecodeError, ValueError):
        return None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


def _current(request: Request) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with Session(_engine(), expire_on_commit=False) as session:
        return resolve(session=session, token=token)


async def signin_form(request: Request) -> Response:
    lang = _language(request)
    wanted = safe_next(request.query_params.get("next"))
    page = Page(lang=lang, csrf=_csrf_token(request), next=wanted)
    try:
        page.principal = await run_in_threadpool(_current, request)
    except HubError:
        page.principal = None
    response = _render(request, page)
    if request.cookies.get(SESSION_COOKIE) and page.principal is None:
        _clear_session_cookie(request, response)  # a dead token: forget it
    return response


def _attempt(request: Request, email: str, password: str) -> tuple[str | None, str, int]:
    """(token, error, status): the rate limit is spent and committed first, so refused
    attempts count too; then the password is checked and a session opened."""
    key = client_key(client_identifier(request))
    with Session(_engine(), expire_on_commit=False) as session:
        allowed = take_all(
            session=session,
            buckets=[(f"signin:{key}", PER_CLIENT), (f"signin:{GLOBAL}", OVERALL)],
        )
        session.commit()
        if not allowed:
            return (
                None,
                _("Too many sign-in attempts from here. Wait a minute and try again."),
                429,
            )
        try:
            principal = authenticate(session=session, email=email, password=password)
        except AuthenticationFailed as err:
            return None, str(err), 401
        token = open_session(
            session=session,
            account_id=principal.account_id,
            device=device_summary(request.headers.get("user-agent")),
            client=client_identifier(request),
        )
    return token, "", 303


async def signin_submit(request: Request) -> Response:
    form = await _read_form(request)
    lang = _language(request, form)
    set_language(lang)
    if form is None:
        page = Page(lang=lang, csrf=_csrf_token(request), next=DEFAULT_NEXT)
        page.error = _("The form could not be read. Reload the page and try again.")
        return _render(request, page, status=400)
    wanted = safe_next(form.get("next"))
    next_path = with_language(wanted, lang)
    email = form.get("email", "").strip()[:254]
    page = Page(lang=lang, csrf=_csrf_token(request), next=wanted, email=email)
    if not _csrf_ok(request, form):
        page.error = _(
            "This form has expired or did not come from this site. Sign in again from this page."
        )
        return _render(request, page, status=403)
    password = form.get("password", "")
    if not email:
        page.error = _("E-mail: enter the e-mail address of your account.")
        page.error_field = "email"
        return _render(request, page, status=400)
    if not password:
        page.error = _("Password: enter your password.")
        page.error_field = "password"
        return _render(request, page, status=400)
    try:
        token, error, status = await run_in_threadpool(_attempt, request, email, password)
    except HubError as err:
        page.error = str(err)
        return _render(request, page, status=503)
    if token is None:
        set_language(lang)  # the thread pool ran in a copy of this context
        page.error = error
        refused = _render(request, page, status=status)
        if status == 429:
            refused.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return refused
    response = RedirectResponse(next_path, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(absolute_limit().total_seconds()),
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )
    return response


async def signout_form(request: Request) -> Response:
    lang = _language(request)
    page = Page(lang=lang, csrf=_csrf_token(request), next=DEFAULT_NEXT, mode="signout")
    try:
        page.principal = await run_in_threadpool(_current, request)
    except HubError:
        page.principal = None
    if page.principal is None:
        page.mode = "signed_out"
    response = _render(request, page)
    if page.principal is None and request.cookies.get(SESSION_COOKIE):
        _clear_session_cookie(request, response)
    return response


def _end(token: str | None) -> None:
    with Session(_engine(), expire_on_commit=False) as session:
        sign_out(session=session, token=token)


async def signout_submit(request: Request) -> Response:
    form = await _read_form(request) or {}
    lang = _language(request, form)
    if not _csrf_ok(request, form):
        set_language(lang)
        page = Page(lang=lang, csrf=_csrf_token(request), next=DEFAULT_NEXT, mode="signout")
        page.error = _(
            "This form has expired or did not come from this site. "
            "Press the button again on this page."
        )
        return _render(request, page, status=403)
    try:
        await run_in_threadpool(_end, request.cookies.get(SESSION_COOKIE))
    except HubError as err:
        set_language(lang)
        page = Page(lang=lang, csrf=_csrf_token(request), next=DEFAULT_NEXT, mode="signout")
        page.error = str(err)
        return _render(request, page, status=503)
    response = RedirectResponse(f"/?lang={lang}", status_code=303)
    response.headers["Cache-Control"] = "no-store"
    _clear_session_cookie(request, response)
    return response


ROUTES = [
    Route("/signin", signin_form, methods=["GET", "HEAD"]),
    Route("/signin", signin_submit, methods=["POST"]),
    Route("/signout", signout_form, methods=["GET", "HEAD"]),
    Route("/signout", signout_submit, methods=["POST"]),
]
