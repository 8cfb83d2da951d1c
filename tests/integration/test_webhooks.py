"""Webhooks against a real HTTP receiver on 127.0.0.1 that verifies every delivery with
the ``standardwebhooks`` package (Standard Webhooks' own library, not our code): events
written with the change, signed, retried while the receiver is down, stopped by 410,
both signatures during a secret rotation, and at least once when a sender is killed
mid-delivery (receivers dedupe by webhook-id)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from standardwebhooks import Webhook, WebhookVerificationError

from answers.directory import create_measure
from answers.models import MeasureDraft, Topic
from api.bulk import bulk_upsert
from api.schemas import InitiativeInput
from hub import outbox
from hub.errors import InvalidInput
from hub.records import utcnow
from hub.settings import PROJECT_ROOT
from initiatives.models import Notification
from initiatives.overlap import decide_pair
from initiatives.service import approve, send_back
from initiatives.workflow import announce
from partners.webhook_sender import send_due
from partners.webhooks import (
    WebhookDelivery,
    WebhookSubscription,
    deliveries,
    rotate_secret,
    send_again,
    subscribe,
)
from tests.factories import World, initiative_draft, make_initiative, make_question
from tests.unit.test_answers import answer_and_publish

SHORT = (0.0, 0.0, 0.0)  # three quick retries, then dead


class Receiver:
    """A webhook endpoint: verifies each request with standardwebhooks, answers ``status``."""

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.received: list[dict[str, Any]] = []
        self.rejected = 0
        self.status = 204
        self.delay = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = None
                for secret in receiver.secrets:
                    try:
                        verified = Webhook(secret).verify(body, headers)
                        break
                    except WebhookVerificationError:
                        continue
                time.sleep(receiver.delay)
                with receiver.lock:
                    if verified is None:
                        receiver.rejected += 1
                    else:
                        receiver.received.append({"id": headers["webhook-id"], **verified})
                self.send_response(receiver.status if verified is not None else 401)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.handler = Handler
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def ids(self) -> list[str]:
        with self.lock:
            return [r["id"] for r in self.received]


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("HUB_FETCH_ALLOW_HOSTS", "127.0.0.1")
    found = Receiver()
    found.start()
    yield found
    if found.server is not None:
        with contextlib.suppress(OSError):
            found.stop()


def _subscribe(session: Session, world: World, receiver: Receiver, events: list[str]) -> int:
    subscription, secret = subscribe(
        session=session, actor=world.partner, url=receiver.url, events=events
    )
    receiver.secrets.append(secret)
    return subscription.id or 0


def test_review_steps_are_delivered_signed_to_the_owner_only(
    session: Session, engine: Engine, world: World, receiver: Receiver
) -> None:
    _subscribe(
        session,
        world,
        receiver,
        ["initiative.submitted", "initiative.published", "initiative.changes_requested"],
    )
    mine = make_initiative(session, world.own, actor=world.partner, submit=True)
    make_initiative(session, world.other, submit=True)  # not ours: never delivered to us
    back = send_back(
        session=session,
        actor=world.staff,
        initiative_id=mine.id or 0,
        expected_version=mine.version,
        reason="Add the areas",
    )
    assert send_due(engine) == 2
    assert receiver.rejected == 0
    # Deliveries are sent concurrently: receivers get no order (docs/api.md).
    types = sorted((r["type"], r["data"]["code"]) for r in receiver.received)
    assert types == [
        ("initiative.changes_requested", mine.code),
        ("initiative.submitted", mine.code),
    ]
    assert back.review_state.value == "changes_requested"
    log = deliveries(
        session=session, actor=world.partner, subscription_id=receiver_subscription(session)
    )
    assert {d.outcome for d in log} == {"delivered"} and all(d.response_code == 204 for d in log)


def receiver_subscription(session: Session) -> int:
    return session.exec(select(WebhookSubscription.id)).first() or 0


def test_a_rolled_back_change_sends_nothing(
    session: Session, engine: Engine, world: World, receiver: Receiver
) -> None:
    _subscribe(session, world, receiver, ["initiative.submitted"])
    mine = make_initiative(session, world.own, actor=world.partner)
    announce(session=session, initiative=mine, action="submit")
    session.rollback()
    assert send_due(engine) == 0 and receiver.received == []


def test_receiver_down_then_up_gets_every_event(
    session: Session, engine: Engine, world: World, receiver: Receiver
) -> None:
    _subscribe(session, world, receiver, ["initiative.submitted"])
    receiver.stop()  # connection refused
    made = [make_initiative(session, world.own, actor=world.partner, submit=True) for _ in range(3)]
    schedule = (1.0, 1.0, 1.0, 1.0)
    assert send_due(engine, schedule=schedule) == 3
    assert send_due(engine, schedule=schedule) == 0  # not due yet
    receiver.start()  # the same port, back up
    later = utcnow() + timedelta(seconds=5)
    assert send_due(engine, schedule=schedule, now=later) == 3
    assert sorted(r["data"]["code"] for r in receiver.received) == sorted(m.code for m in made)
    outcomes = [d.outcome for d in session.exec(select(WebhookDelivery)).all()]
    assert sorted(outcomes) == ["delivered"] * 3 + ["failed"] * 3
    assert outbox.pending_count(session=session) == 0


def test_repeated_failure_disables_the_subscription_with_a_notice(
    session: Session, engine: Engine, world: World, receiver: Receiver
) -> None:
    subscription_id = _subscribe(session, world, receiver, ["initiative.submitted"])
    receiver.status = 500
    make_initiative(session, world.own, actor=world.partner, submit=True)
    for _ in range(4):
        send_due(engine, schedule=SHORT)
    session.expire_all()
    subscription = session.get(WebhookSubscription, subscription_id)
    assert subscription is not None and not subscription.active
    assert "failed" in subscription.disabled_reason
    notes = session.exec(select(Notification).where(Notification.kind == "webhook")).all()
    assert notes and notes[0].organisation_id == world.own.id
    assert len(receiver.received) == 4  # the first try and three retries


def test_410_stops_at_once(
    session: Session, engine: Engine, world: World, receiver: Receiver
) -> None:
    subscription_id = _subscribe(session, world, receiver, ["initiative.submitted"])
    receiver.status = 410
    make_initiative(session, world.own, actor=world.partner, submit=True)
    make_initiative(session, world.own, actor=world.partner, submit=True)
    send_due(engine, limit=1)
    send_due(engine)
    session.expire_all()
    subscription = session.get(WebhookSubscription, subscription_id)
    assert subscription is not None and not subscription.active
    assert len(receiver.received) == 1  # the second was not sent: the subscription is off
    assert outbox.pending_count(session=session) == 0


def test_rotation_signs_with_both_secrets_and_send_again_keeps_the_id(
    session: Session, engine: Engine, world: World, receiver: Receiver
) -> None:
    subscription_id = _subscribe(session, world, receiver, ["initiative.submitted"])
    old = receiver.secrets.pop()
    _subscription, new = rotate_secret(
        session=session, actor=world.partner, subscription_id=subscription_id
    )
    make_initiative(session, world.own, actor=world.partner, submit=True)
    receiver.secrets = [old]  # a receiver not yet told of the new secret
    assert send_due(engine) == 1 and receiver.rejected == 0
    receiver.secrets = [new]  # and one that was
    delivery = deliveries(session=session, actor=world.partner, subscription_id=subscription_id)[0]
    send_again(session=session, actor=world.partner, delivery_id=delivery.id or 0)
    assert send_due(engine) == 1 and receiver.rejected == 0
    first, second = receiver.ids()
    assert first == second  # the same event: the receiver can tell


def test_ssrf_guard_refuses_private_addresses(session: Session, world: World) -> None:
    for url in (
        "http://127.0.0.1:9/x",
        "http://169.254.169.254/latest",
        "http://localhost/x",
        "http://10.0.0.1/x",
        "javascript:alert(1)",
    ):
        with pytest.raises(InvalidInput):
            subscribe(
                session=session, actor=world.partner, url=url, events=["initiative.submitted"]
            )


SENDER = """
import sys
from hub.db import make_engine
from partners.webhook_sender import send_due
send_due(make_engine(sys.argv[1]), owner="doomed", lease_seconds=1.0)
"""


def test_a_sender_killed_mid_delivery_loses_nothing(
    session: Session, engine: Engine, database_url: str, world: World, receiver: Receiver
) -> None:
    _subscribe(session, world, receiver, ["initiative.submitted"])
    made = [make_initiative(session, world.own, actor=world.partner, submit=True) for _ in range(5)]
    receiver.delay = 30.0  # the receiver holds every request: the sender is mid-delivery
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", SENDER, database_url], env=environment, cwd=PROJECT_ROOT
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _leased(session) < 5:
        time.sleep(0.1)
    assert _leased(session) == 5
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    receiver.delay = 0.0
    after_lease = utcnow() + timedelta(seconds=2)
    assert send_due(engine, now=after_lease) == 5
    codes = {r["data"]["code"] for r in receiver.received}
    assert codes == {m.code for m in made}
    assert len(set(receiver.ids())) == 5  # some may have arrived twice: same webhook-id
    assert outbox.pending_count(session=session) == 0


def _leased(session: Session) -> int:
    session.expire_all()
    return len(
        session.exec(
            select(outbox.OutboxMessage).where(outbox.OutboxMessage.lease_owner == "doomed")
        ).all()
    )


def test_published_event_payload(
    session: Session, engine: Engine, world: World, receiver: Receiver
) -> None:
    _subscribe(session, world, receiver, ["initiative.published"])
    mine = make_initiative(session, world.own, actor=world.partner, submit=True)
    approve(
        session=session,
        actor=world.staff,
        initiative_id=mine.id or 0,
        expected_version=mine.version,
    )
    send_due(engine)
    (event,) = receiver.received
    assert event["type"] == "initiative.published"
    assert event["data"]["review_state"] == "published"
    assert json.dumps(event)  # plain JSON all the way


def test_public_events_reach_every_subscriber_and_overlaps_both_partners(
    session: Session, engine: Engine, world: World, receiver: Receiver
) -> None:
    _subscribe(
        session, world, receiver, ["measure.published", "answer.published", "overlap.flagged"]
    )
    create_measure(
        session=session,
        actor=world.staff,
        draft=MeasureDraft(
            area=Topic.HEALTH, title="Masks in shops", summary="Wear one.", published=True
        ),
    )
    question = make_question(session)
    answer_and_publish(session, world.staff, question.id or 0)
    ours = make_initiative(session, world.own, publish=True)
    theirs = make_initiative(session, world.other, publish=True)
    unrelated = make_initiative(session, world.other, publish=True)
    decide_pair(
        session=session,
        actor=world.staff,
        initiative_a_id=ours.id or 0,
        initiative_b_id=theirs.id or 0,
        decision="joint",
    )
    decide_pair(
        session=session,
        actor=world.staff,
        initiative_a_id=theirs.id or 0,
        initiative_b_id=unrelated.id or 0,
        decision="joint",
    )  # not ours
    send_due(engine)
    kinds = sorted(r["type"] for r in receiver.received)
    assert kinds == ["answer.published", "measure.published", "overlap.flagged"]
    (flagged,) = [r for r in receiver.received if r["type"] == "overlap.flagged"]
    assert sorted(flagged["data"]["codes"]) == sorted([ours.code, theirs.code])


def test_a_bulk_submission_announces_each_record(
    session: Session, engine: Engine, world: World, receiver: Receiver
) -> None:
    _subscribe(session, world, receiver, ["initiative.submitted"])
    items = [
        {**initiative_draft(world.own, code=f"OPM-B{i}").model_dump(mode="json")} for i in range(3)
    ]
    report = bulk_upsert(
        session=session,
        actor=world.partner,
        items=[InitiativeInput.model_validate(item) for item in items],
        submit=True,
        dry_run=False,
        partial=False,
    )
    session.commit()
    assert report.written
    send_due(engine)
    assert sorted(r["data"]["code"] for r in receiver.received) == ["OPM-B0", "OPM-B1", "OPM-B2"]
