"""Subscriptions on the public site (issue 19): plain HTML, no JavaScript.

GET  /subscriptions                   the form (``?area=CODE`` preselects an area)
POST /subscriptions                   ask: always "check your inbox" (never says who is
                                      subscribed); rate-limited per client and address
GET  /subscriptions/confirm           the signed link of the confirmation mail (7 days)
GET  /subscriptions/unsubscribe       a page with one button (a GET changes nothing:
                                      mail scanners follow links)
POST /subscriptions/unsubscribe       RFC 8058 one-click: the subscription is deleted
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from answers.service import RateLimited
from geo.areas import area_hierarchy, area_names
from hub import settings
from hub.db import session_scope
from hub.errors import HubError
from hub.i18n import LANGUAGES, N_, _, get_language, set_language
from outreach.models import SubscriptionTopic
from outreach.subscriptions import confirm, subscribe_email, unsubscribe
from portal.content import area_labels, collation_key
from portal.opendata import licence
from portal.render import SIGNIN, when
from portal.signin import client_identifier
from portal.sms_routes import engine

MAX_FORM_BYTES = 4096
TOPIC_LABELS = {
    SubscriptionTopic.ALL: N_("Everything for the area"),
    SubscriptionTopic.OFFERS: N_("Support offers"),
    SubscriptionTopic.MEASURES: N_("Measures in force"),
}
_ENVIRONMENT = Environment(
    loader=FileSystemLoader(
        [
            str(Path(__file__).resolve().parent.parent / "outreach" / "templates"),
            str(Path(__file__).resolve().parent / "templates"),
        ]
    ),
    autoescape=select_autoescape(["j2", "html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.globals["_"] = _
_ENVIRONMENT.globals["data_licence"] = licence  # the layout's footer


def _language(request: Request, form: dict[str, str] | None = None) -> str:
    wanted = (form or {}).get("lang") or request.query_params.get("lang", "")
    return wanted if wanted in LANGUAGES else settings.default_language()


async def _read_form(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


def _areas() -> list[tuple[str, str]]:
    with session_scope(engine()) as session:
        parents = area_hierarchy(session=session)
        names = area_labels(area_names(session=session), parents)
    return sorted(
        ((c, n) for c, n in names.items() if parents.get(c) is not None),
        key=lambda pair: collation_key(pair[1]),
    )


def _page(
    language: str,
    heading: str,
    *,
    messages: list[str],
    status: int = 200,
    error: bool = False,
    **extra: Any,
) -> HTMLResponse:
    previous = get_language()
    set_language(language)
    try:
        other = "en" if language == "pt" else "pt"
        html = _ENVIRONMENT.get_template("subscribe.html.j2").render(
            lang=language,
            other_lang=other,
            other_language_name=LANGUAGES[other],
            heading=_(heading),
            messages=messages,
            error=error,
            links={
                "home": "/" if language == settings.default_language() else f"/?lang={language}",
                "other_language": f"/subscriptions?lang={other}",
                "signin": SIGNIN,
            },
            demo=settings.demo_mode(),
            generated_at=datetime.now(UTC),
            when=when,
            **{
                "show_form": False,
                "unsubscribe_action": "",
                "form": {"email": "", "area": "", "topic": SubscriptionTopic.ALL.value},
                **extra,
            },
        )
    finally:
        set_language(previous)
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(html, status_code=status, headers=headers)


def _form_page(language: str, form: dict[str, str], messages: list[str], status: int) -> Response:
    previous = get_language()
    set_language(language)
    try:
        topics = [(t.value, _(label)) for t, label in TOPIC_LABELS.items()]
    finally:
        set_language(previous)
    return _page(
        language,
        N_("Updates by e-mail"),
        messages=messages,
        status=status,
        error=status != 200,
        show_form=True,
        action="/subscriptions",
        areas=_areas(),
        topics=topics,
        form=form,
    )


async def subscribe_form(request: Request) -> Response:
    language = _language(request)
    form = {"email": "", "area": request.query_params.get("area", "")[:12], "topic": "all"}
    return await run_in_threadpool(_form_page, language, form, [], 200)


def _subscribe(form: dict[str, str], language: str, client: str) -> tuple[int, str]:
    topic_value = form.get("topic", "all")
    topics = {t.value: t for t in SubscriptionTopic}
    previous = get_language()
    set_language(language)
    try:
        try:
            with session_scope(engine()) as session:
                subscribe_email(
                    session=session,
                    email=form.get("email", ""),
                    area_code=form.get("area", ""),
                    topic=topics.get(topic_value, SubscriptionTopic.ALL),
                    language=language,
                    client=client,
                )
        except RateLimited as err:
            return 429, str(err)
        except HubError as err:
            return 400, str(err)
        return 200, _(
            "Almost done: we sent you an e-mail. Open the link in it within 7 days to confirm."
        )
    finally:
        set_language(previous)


async def subscribe_submit(request: Request) -> Response:
    form = await _read_form(request)
    language = _language(request, form)
    status, message = await run_in_threadpool(
        _subscribe, form, language, client_identifier(request)
    )
    if status == 200:
        return _page(language, N_("Check your inbox"), messages=[message])
    return await run_in_threadpool(_form_page, language, form, [message], status)


def _signed_params(request: Request) -> tuple[int, str]:
    raw = request.query_params.get("id", "")
    return (int(raw) if raw.isdigit() and len(raw) < 12 else 0), request.query_params.get(
        "token", ""
    )[:100]


def _signed_action(
    action: Callable[..., object], subscription_id: int, token: str, language: str, done: str
) -> tuple[int, str]:
    """Run ``confirm`` or ``unsubscribe`` for a signed link: (status, message)."""
    previous = get_language()
    set_language(language)
    try:
        with session_scope(engine()) as session:
            action(session=session, subscription_id=subscription_id, token=token)
        return 200, _(done)
    except HubError as err:
        return 404, str(err)
    finally:
        set_language(previous)


async def confirm_link(request: Request) -> Response:
    language = _language(request)
    subscription_id, token = _signed_params(request)
    done = N_("Confirmed: you will get an e-mail when something changes.")
    status, message = await run_in_threadpool(
        _signed_action, confirm, subscription_id, token, language, done
    )
    heading = N_("Subscription confirmed") if status == 200 else N_("Link not valid")
    return _page(language, heading, messages=[message], status=status, error=status != 200)


async def unsubscribe_page(request: Request) -> Response:
    language = _language(request)
    query = urlencode({k: v for k, v in request.query_params.items() if k in {"id", "token"}})
    previous = get_language()
    set_language(language)
    try:
        message = _("Press the button to stop these messages and delete your address.")
    finally:
        set_language(previous)
    return _page(
        language,
        N_("Stop the messages"),
        messages=[message],
        unsubscribe_action=f"/subscriptions/unsubscribe?{query}",
    )


async def unsubscribe_submit(request: Request) -> Response:
    await _read_form(request)  # "List-Unsubscribe=One-Click" (RFC 8058); nothing else needed
    language = _language(request)
    subscription_id, token = _signed_params(request)
    done = N_("Done: you will get no more messages, and your address is deleted.")
    status, message = await run_in_threadpool(
        _signed_action, unsubscribe, subscription_id, token, language, done
    )
    heading = N_("Messages stopped") if status == 200 else N_("Link not valid")
    return _page(language, heading, messages=[message], status=status, error=status != 200)


ROUTES = [
    Route("/subscriptions", subscribe_form, methods=["GET"]),
    Route("/subscriptions", subscribe_submit, methods=["POST"]),
    Route("/subscriptions/confirm", confirm_link, methods=["GET"]),
    Route("/subscriptions/unsubscribe", unsubscribe_page, methods=["GET"]),
    Route("/subscriptions/unsubscribe", unsubscribe_submit, methods=["POST"]),
]
