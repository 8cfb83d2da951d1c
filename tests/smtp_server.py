"""A real SMTP server on 127.0.0.1 (aiosmtpd) for tests of outgoing mail."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """What the server received, as aiosmtpd envelopes."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """Point the hub's mail settings at a fresh local server and yield its inbox."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("HUB_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HUB_SMTP_PORT", str(port))
    monkeypatch.setenv("HUB_SMTP_STARTTLS", "false")
    monkeypatch.setenv("HUB_SMTP_FROM", "hub@example.pt")
    yield inbox
    controller.stop()
