"""A visitor asks a question through the real public form, in a real browser, against a
real ``streamlit run asgi_app.py`` server (the ASGI app, so the plain HTML page and the
open data routes are served too).

The server, browser and diagnostics are conftest.py's.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from answers.models import Question, QuestionContact, QuestionState
from hub.db import make_engine
from tests.browser.conftest import (
    RENDER_TIMEOUT_MS,
    HubServer,
    OpenPage,
    assert_no_exception,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

QUESTION = "Posso visitar a minha avó no lar durante o estado de emergência?"


def fetch(server: HubServer, path: str) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    with opener.open(server.url(path), timeout=30) as response:
        assert response.status == 200
        return str(response.read().decode("utf-8"))


def stored_questions(server: HubServer) -> list[tuple[Question, list[str]]]:
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        rows = [
            (
                question,
                list(
                    session.exec(
                        select(QuestionContact.email).where(
                            QuestionContact.question_id == question.id
                        )
                    ).all()
                ),
            )
            for question in session.exec(select(Question).where(Question.text == QUESTION))
        ]
    engine.dispose()
    return rows


def test_visitor_asks_a_question_through_the_real_form(
    hub_server: HubServer, open_page: OpenPage
) -> None:
    page = open_page("/app/?lang=en")
    field = page.get_by_role("textbox", name="Your question")
    expect(field).to_be_editable(timeout=RENDER_TIMEOUT_MS)
    wait_until_idle(page)
    # The contacts directory sits with the emergency lines; demo answers are listed.
    expect(page.get_by_text("808 24 24 24").first).to_be_visible()
    expect(page.get_by_text("Devo usar máscara nos transportes públicos?")).to_be_visible()

    field.fill(QUESTION)
    page.get_by_role("textbox", name=re.compile("^Your e-mail")).fill("neta@example.pt")
    page.get_by_role("button", name="Send the question").click()
    expect(page.get_by_text("Thank you. The coordination office")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    wait_until_idle(page)
    assert_no_exception(page)
    expect(page.get_by_role("textbox", name="Your question")).to_have_value("")

    [(question, emails)] = stored_questions(hub_server)
    assert question.state is QuestionState.RECEIVED
    assert emails == ["neta@example.pt"]

    # Unreviewed, so on neither public face; the open data route serves the contacts.
    html = fetch(hub_server, "/public/?lang=en")
    assert QUESTION not in html and "Devo usar máscara" in html
    contacts = json.loads(fetch(hub_server, "/public/contacts.json"))
    assert "112" in {c["phone"] for c in contacts["contacts"]}
    assert "neta@example.pt" not in fetch(hub_server, "/public/answers.json")
