"""The SMS gateway adapters over a real HTTP server on 127.0.0.1, with payloads shaped as
RapidPro, Twilio and Kannel send them; each refuses a bad secret or signature."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from xml.etree import ElementTree as ET

import httpx
import pytest
import uvicorn
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from twilio.request_validator import RequestValidator

from answers.directory import create_contact
from answers.models import ContactDraft
from portal.sms_routes import ROUTES
from tests.factories import World
from tests.smtp_server import free_port

SECRET = "gateway-shared-secret"
TWILIO_TOKEN = "12345678901234567890123456789012"


@contextmanager
def running_server(routes: list[BaseRoute]) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 with ``routes``; yields its base address."""
    with running_server_on(routes, free_port()) as base:
        yield base


@contextmanager
def running_server_on(routes: list[BaseRoute], port: int) -> Iterator[str]:
    config = uvicorn.Config(
        Starlette(routes=routes), host="127.0.0.1", port=port, log_level="warning"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(500):
        if running.started:
            break
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server(
    database_url: str, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    create_contact(
        session=session,
        actor=world.staff,
        draft=ContactDraft(name="SNS 24", phone="808 24 24 24", emergency=True, published=True),
    )
    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    monkeypatch.setenv("HUB_OUTREACH_SECRET", "outreach-test-secret")
    monkeypatch.setenv("HUB_SMS_SHARED_SECRET", SECRET)
    monkeypatch.setenv("HUB_TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    port = free_port()
    monkeypatch.setenv("HUB_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}/")
    with running_server_on(ROUTES, port) as base:
        yield base


def rapidpro_payload(text: str, urn: str = "tel:+351912345678") -> dict[str, object]:
    """The default body of RapidPro's "Call webhook" action (flow engine's template)."""
    return {
        "contact": {
            "uuid": "5d76d86b-3bb9-4d5a-b822-c9d86f5d8e4f",
            "name": "Maria",
            "urn": urn,
        },
        "flow": {"uuid": "0b1a9b36-27fc-4a9e-a6ba-03e8e4f0c1c2", "name": "Linha de informação"},
        "path": [
            {
                "uuid": "c4462613-5936-42cc-a286-82e5f1816793",
                "node_uuid": "10896d63-8df7-4022-88dd-a9d93edf355b",
                "arrived_on": "2026-12-02T09:00:00.000000Z",
                "exit_uuid": "a4904b78-08b8-42fd-9479-27bcb1764bc4",
            }
        ],
        "results": {},
        "run": {
            "uuid": "4b6a4a1f-9e25-4e29-8f1d-7e0b1b2ac3b0",
            "created_on": "2026-12-02T09:00:00Z",
        },
        "input": {
            "uuid": "0e6b4d5e-4b5c-4b1d-8d5e-0d6d0c7c6a2f",
            "type": "msg",
            "channel": {"uuid": "58e9b092-fe42-4173-876c-ff45a14a24fe", "name": "Vodafone"},
            "created_on": "2026-12-02T09:00:00.000000Z",
            "text": text,
            "attachments": [],
            "urn": urn,
        },
        "channel": {"uuid": "58e9b092-fe42-4173-876c-ff45a14a24fe", "name": "Vodafone"},
    }


def test_rapidpro_answers_its_webhook_and_refuses_a_wrong_token(server: str) -> None:
    url = f"{server}/sms/rapidpro"
    good = httpx.post(
        url, json=rapidpro_payload("LINHAS"), headers={"Authorization": f"Token {SECRET}"}
    )
    assert good.status_code == 200
    body = good.json()
    assert "SNS 24: 808 24 24 24" in body["reply"]
    assert body["keyword"] == "lines" and 1 <= body["segments"] <= 3
    for headers in ({"Authorization": "Token wrong"}, {}):
        refused = httpx.post(url, json=rapidpro_payload("LINHAS"), headers=headers)
        assert refused.status_code == 401
    bad_json = httpx.post(url, content=b"{not json", headers={"Authorization": f"Token {SECRET}"})
    assert bad_json.status_code == 400
    huge = httpx.post(url, content=b"x" * 70_000, headers={"Authorization": f"Token {SECRET}"})
    assert huge.status_code == 413


def twilio_form(text: str) -> dict[str, str]:
    """The fields Twilio posts for an incoming SMS (Messaging webhook)."""
    return {
        "ToCountry": "PT",
        "ToState": "",
        "SmsMessageSid": "SM0123456789abcdef0123456789abcdef",
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": "SM0123456789abcdef0123456789abcdef",
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": text,
        "FromCountry": "PT",
        "To": "+351300000000",
        "MessagingServiceSid": "MG0123456789abcdef0123456789abcdef",
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": "SM0123456789abcdef0123456789abcdef",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": "+351912345678",
        "ApiVersion": "2010-04-01",
    }


def test_twilio_checks_its_signature_and_answers_twiml(server: str) -> None:
    url = f"{server}/sms/twilio"
    form = twilio_form("AJUDA")
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    good = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature})
    assert good.status_code == 200
    assert good.headers["content-type"].startswith("application/xml")
    message = ET.fromstring(good.text).find("Message")  # noqa: S314 - our own reply
    assert message is not None and "LINHAS" in (message.text or "")
    tampered = httpx.post(
        url, data={**form, "Body": "PARAR"}, headers={"X-Twilio-Signature": signature}
    )
    assert tampered.status_code == 403
    assert httpx.post(url, data=form).status_code == 401


def test_kannel_get_url_needs_the_secret_and_answers_plain_text(server: str) -> None:
    url = f"{server}/sms/kannel"
    good = httpx.get(url, params={"secret": SECRET, "from": "+351912345678", "text": "help"})
    assert good.status_code == 200
    assert good.headers["content-type"].startswith("text/plain")
    assert "LINES" in good.text
    wrong = httpx.get(url, params={"secret": "nope", "from": "+351912345678", "text": "help"})
    assert wrong.status_code == 401
    assert httpx.get(url, params={"from": "+351912345678", "text": "help"}).status_code == 401
