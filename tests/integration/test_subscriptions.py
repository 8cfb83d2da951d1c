"""Subscriptions end to end over real servers on 127.0.0.1: the public form, the
confirmation mail through a real SMTP server, the daily digest (never twice), the
RFC 8058 one-click unsubscribe; SMS updates through a real local gateway receiver."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub.outbox import OutboxMessage
from initiatives.models import Channel
from outreach.delivery import deliver_due
from outreach.digest import run_digest
from outreach.models import DigestSent, Subscription, SubscriptionState
from outreach.sms import answer_sms
from outreach.subscriptions import forget_old
from portal.subscribe_routes import ROUTES
from tests.factories import World, make_initiative
from tests.integration.test_html_validity import VNU_JAR
from tests.smtp_server import Inbox, free_port
from tests.unit.test_outreach_gateways import running_server, running_server_on

LINK = re.compile(r"https?://\S+")


@pytest.fixture
def site(database_url: str, world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    monkeypatch.setenv("HUB_OUTREACH_SECRET", "subscriptions-test-secret")
    port = free_port()
    monkeypatch.setenv("HUB_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}/")
    with running_server_on(ROUTES, port) as base:
        yield base


def publish_offer(session: Session, world: World, title: str, area: str) -> None:
    """A published phone offer in force for a month in ``area``."""
    make_initiative(
        session,
        world.own,
        publish=True,
        title=title,
        areas=[area],
        channels=[Channel.PHONE],
        planned_start=date.today() - timedelta(days=1),
        planned_end=date.today() + timedelta(days=30),
    )


def mail(inbox: Inbox, index: int) -> Message:
    return message_from_bytes(inbox.messages[index].content)


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def tomorrow_at_ten() -> datetime:
    return datetime.combine(date.today() + timedelta(days=1), datetime.min.time(), UTC).replace(
        hour=10
    )


def test_confirm_digest_once_and_one_click_unsubscribe(
    site: str, session: Session, world: World, smtp_server: Inbox
) -> None:
    form = httpx.get(f"{site}/subscriptions", params={"area": "1106"})
    assert form.status_code == 200 and 'value="1106" selected' in form.text
    asked = httpx.post(
        f"{site}/subscriptions",
        data={"email": "Ana@Example.PT", "area": "1106", "topic": "all", "lang": "en"},
    )
    assert asked.status_code == 200 and "we sent you an e-mail" in asked.text
    subscription = session.exec(select(Subscription)).one()
    assert subscription.state is SubscriptionState.PENDING
    assert subscription.address == "Ana@example.pt"
    assert smtp_server.messages == []  # only through the outbox

    assert deliver_due(session=session, owner="test") == {"sent": 1, "failed": 0}
    confirmation = mail(smtp_server, 0)
    assert confirmation["To"] == "Ana@example.pt"
    assert "List-Unsubscribe" not in confirmation  # nothing to stop yet
    link = LINK.findall(body_of(confirmation))[0]
    assert "/subscriptions/confirm?" in link
    tampered = httpx.get(link.replace("token=", "token=9"))
    assert tampered.status_code == 404
    confirmed = httpx.get(link)
    assert confirmed.status_code == 200 and "Confirmed" in confirmed.text
    session.expire_all()
    assert session.exec(select(Subscription)).one().state is SubscriptionState.ACTIVE

    publish_offer(session, world, "Teleconsultas para quem vive só", "1106")
    publish_offer(session, world, "Only in Porto", "1312")
    now = tomorrow_at_ten()
    assert run_digest(session=session, now=now - timedelta(hours=3)) == 0  # before 09:00
    assert run_digest(session=session, now=now) == 1
    assert run_digest(session=session, now=now + timedelta(minutes=5)) == 0  # never twice
    assert len(session.exec(select(DigestSent)).all()) == 1
    assert deliver_due(session=session, owner="test") == {"sent": 1, "failed": 0}
    assert deliver_due(session=session, owner="test") == {"sent": 0, "failed": 0}
    digest = mail(smtp_server, 1)
    text = body_of(digest)
    assert "Teleconsultas para quem vive só" in text and "Only in Porto" not in text
    assert digest["Subject"].startswith("Updates for Lisboa")
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = digest["List-Unsubscribe"].strip("<>")
    assert unsubscribe in text

    page = httpx.get(unsubscribe)  # a GET (a mail scanner) changes nothing
    assert page.status_code == 200 and session.exec(select(Subscription)).first() is not None
    one_click = httpx.post(
        unsubscribe,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    session.expire_all()
    assert session.exec(select(Subscription)).all() == []
    again = httpx.post(unsubscribe, content=b"List-Unsubscribe=One-Click")
    assert again.status_code == 200  # a second click is not an error


def test_a_failed_send_is_retried_not_lost(
    site: str, session: Session, smtp_server: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpx.post(f"{site}/subscriptions", data={"email": "rui@example.pt", "area": "1106"})
    monkeypatch.setenv("HUB_SMTP_PORT", str(free_port()))  # nobody listens there
    assert deliver_due(session=session, owner="test") == {"sent": 0, "failed": 1}
    message = session.exec(select(OutboxMessage)).one()
    assert message.state.value == "pending" and message.attempts == 1


def test_bad_input_is_refused_with_the_field_named(site: str) -> None:
    bad = httpx.post(
        f"{site}/subscriptions", data={"email": "not-an-address", "area": "1106", "lang": "en"}
    )
    assert bad.status_code == 400 and "E-mail" in bad.text
    no_area = httpx.post(
        f"{site}/subscriptions", data={"email": "a@example.pt", "area": "PT", "lang": "en"}
    )
    assert no_area.status_code == 400 and "Area" in no_area.text
    for _ in range(5):
        httpx.post(f"{site}/subscriptions", data={"email": "b@example.pt", "area": "1106"})
    assert (
        httpx.post(
            f"{site}/subscriptions", data={"email": "b@example.pt", "area": "1106"}
        ).status_code
        == 429
    )


def test_unconfirmed_subscriptions_are_deleted_after_seven_days(
    site: str, session: Session
) -> None:
    httpx.post(f"{site}/subscriptions", data={"email": "old@example.pt", "area": "1106"})
    assert forget_old(session=session)["unconfirmed"] == 0
    later = datetime.now(UTC) + timedelta(days=8)
    assert forget_old(session=session, now=later)["unconfirmed"] == 1
    assert session.exec(select(Subscription)).all() == []


def test_sms_updates_go_through_the_gateway_api(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[dict[str, Any]] = []

    async def broadcasts(request: Request) -> JSONResponse:
        assert request.headers["authorization"] == "Token outbound-token"
        received.append(json.loads(await request.body()))
        return JSONResponse({"id": len(received)}, status_code=201)

    monkeypatch.setenv("HUB_OUTREACH_SECRET", "subscriptions-test-secret")
    with running_server([Route("/api/v2/broadcasts.json", broadcasts, methods=["POST"])]) as gw:
        monkeypatch.setenv("HUB_SMS_OUTBOUND_URL", f"{gw}/api/v2/broadcasts.json")
        monkeypatch.setenv("HUB_SMS_OUTBOUND_TOKEN", "outbound-token")
        answer_sms(session=session, text="SEGUIR Lisboa", sender="+351912345678")
        publish_offer(session, world, "Teleconsultas para quem vive só", "1106")
        assert run_digest(session=session, now=tomorrow_at_ten()) == 1
        assert deliver_due(session=session, owner="test") == {"sent": 1, "failed": 0}
    assert received[0]["urns"] == ["tel:+351912345678"]
    assert "Teleconsultas para quem vive só" in received[0]["text"]
    assert "PARAR" in received[0]["text"]


def test_the_subscription_pages_pass_the_nu_html_checker(
    site: str, tmp_path: Path, smtp_server: Inbox
) -> None:
    """The form (both languages, and with an error), the confirmation, the unsubscribe
    page: checked with the Nu HTML Checker, the W3C's own validator."""
    java = shutil.which("java")
    if java is None or not VNU_JAR.exists():
        pytest.skip("the Nu HTML Checker needs Java and node_modules/vnu-jar (npm ci)")
    pages = {
        "form-pt": httpx.get(f"{site}/subscriptions", params={"area": "1106"}).text,
        "form-en": httpx.get(f"{site}/subscriptions", params={"lang": "en"}).text,
        "error": httpx.post(f"{site}/subscriptions", data={"email": "x", "area": "1106"}).text,
        "asked": httpx.post(
            f"{site}/subscriptions", data={"email": "c@example.pt", "area": "1106"}
        ).text,
        "bad-link": httpx.get(f"{site}/subscriptions/confirm", params={"id": "1"}).text,
        "unsubscribe": httpx.get(
            f"{site}/subscriptions/unsubscribe", params={"id": "1", "token": "x"}
        ).text,
    }
    files = []
    for name, html in pages.items():
        path = tmp_path / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        files.append(str(path))
    run = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *files],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    messages = json.loads(run.stderr or run.stdout)["messages"]
    assert messages == [], messages
