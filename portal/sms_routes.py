"""The SMS gateways' webhooks (issue 19): thin adapters over ``outreach.sms.answer_sms``.

  POST /sms/rapidpro   RapidPro / TextIt "Call webhook" (JSON in: the flow's default body
                       with ``input.text`` and ``input.urn`` or ``contact.urn``; JSON out:
                       ``{"reply": ..., "segments": ..., "encoding": ..., "more": ...}``,
                       used in the flow as ``@webhook.reply``). Authenticated by the header
                       ``Authorization: Token <HUB_SMS_SHARED_SECRET>``.
  POST /sms/twilio     Twilio Messaging webhook (form: ``From``, ``Body``, ...), checked
                       with ``X-Twilio-Signature`` by the twilio package's
                       RequestValidator over the public address (HUB_PUBLIC_BASE_URL)
                       and HUB_TWILIO_AUTH_TOKEN; TwiML reply.
  GET  /sms/kannel     Kannel sms-service ``get-url``
                       (``.../sms/kannel?secret=S&from=%p&text=%a``); plain-text reply
                       (set ``omit-empty = true`` so an empty reply sends nothing).

Each refuses a missing or wrong secret or signature with 401/403 and answers nothing
else; a sender over the rate limit (HUB_SMS_PER_HOUR, database buckets shared by
replicas) gets an empty reply, so no SMS is paid for.
"""

from __future__ import annotations

import hmac
import json
import threading
from urllib.parse import parse_qsl

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from hub import settings
from hub.db import make_engine, session_scope
from outreach.sms import SmsReply, answer_sms

MAX_BODY = 64 * 1024
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def engine() -> Engine:
    """One engine per process and database URL."""
    url = settings.database_url()
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def _answer(text: str, sender: str) -> SmsReply:
    with session_scope(engine()) as session:
        return answer_sms(session=session, text=text, sender=sender)


def _secret_matches(given: str) -> bool:
    expected = str(settings.get("HUB_SMS_SHARED_SECRET"))
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


async def _body(request: Request) -> bytes | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return body


def _refused(status: int, message: str) -> PlainTextResponse:
    return PlainTextResponse(message, status_code=status)


async def rapidpro(request: Request) -> Response:
    scheme, _space, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "token" or not _secret_matches(token.strip()):
        return _refused(401, "Authorization: Token <HUB_SMS_SHARED_SECRET> required")
    body = await _body(request)
    if body is None:
        return _refused(413, "body too large")
    try:
        payload = json.loads(body)
    except ValueError:
        return _refused(400, "body: expected the webhook's JSON")
    if not isinstance(payload, dict):
        return _refused(400, "body: expected a JSON object")
    message = payload.get("input")
    message = message if isinstance(message, dict) else {}
    contact = payload.get("contact")
    contact = contact if isinstance(contact, dict) else {}
    text = str(message.get("text") or "")
    urn = str(message.get("urn") or contact.get("urn") or "")
    if not urn:
        return _refused(400, "input.urn or contact.urn: the sender is required")
    reply = await run_in_threadpool(_answer, text, urn.partition(":")[2] or urn)
    return JSONResponse(
        {
            "reply": reply.text,
            "segments": reply.segments,
            "encoding": reply.encoding,
            "more": reply.more,
            "keyword": reply.keyword,
        }
    )


def twilio_url(request: Request) -> str:
    """The address Twilio signed: the public one (a proxy may change the host we see)."""
    base = settings.public_base_url().rstrip("/")
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base}{request.url.path}{query}"


async def twilio(request: Request) -> Response:
    token = str(settings.get("HUB_TWILIO_AUTH_TOKEN"))
    signature = request.headers.get("x-twilio-signature", "")
    if not token or not signature:
        return _refused(401, "X-Twilio-Signature required")
    body = await _body(request)
    if body is None:
        return _refused(413, "body too large")
    params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not RequestValidator(token).validate(twilio_url(request), params, signature):
        return _refused(403, "X-Twilio-Signature does not match")
    sender = params.get("From", "")
    if not sender:
        return _refused(400, "From: the sender is required")
    reply = await run_in_threadpool(_answer, params.get("Body", ""), sender)
    twiml = MessagingResponse()
    if reply.text:
        twiml.message(reply.text)
    return Response(str(twiml), media_type="application/xml")


async def kannel(request: Request) -> Response:
    if not _secret_matches(request.query_params.get("secret", "")):
        return _refused(401, "secret= required")
    sender = request.query_params.get("from", "")
    if not sender:
        return _refused(400, "from: the sender is required")
    text = request.query_params.get("text", "")[:1000]
    reply = await run_in_threadpool(_answer, text, sender)
    return PlainTextResponse(reply.text, media_type="text/plain; charset=utf-8")


ROUTES = [
    Route("/sms/rapidpro", rapidpro, methods=["POST"]),
    Route("/sms/twilio", twilio, methods=["POST"]),
    Route("/sms/kannel", kannel, methods=["GET"]),
]
