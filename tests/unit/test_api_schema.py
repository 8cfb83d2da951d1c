"""schemathesis runs the OpenAPI document against the ASGI app, on SQLite and
PostgreSQL: every default check (no 500s, status codes, content types, headers and
bodies conforming to the document, and "positive data acceptance": a request the
document allows is taken, not refused with a 422). Bounded (``MAX_EXAMPLES`` per
operation) so the suite stays fast; raise it locally for a deeper run."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.hooks import HookContext
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.app import create_app
from api.initiatives import encode_cursor
from api.public import cache as public_cache
from initiatives.models import Initiative
from partners.api_keys import ApiScope, create_api_key
from tests.factories import World, make_initiative

MAX_EXAMPLES = int(os.environ.get("HUB_TEST_SCHEMATHESIS_EXAMPLES", "40"))
KEY: dict[str, str] = {}
DATE_PAIRS = (("planned_start", "planned_end"), ("actual_start", "actual_end"))


def dates_in_order(body: Any) -> Any:
    """The rule a JSON schema cannot state, declared as schemathesis asks (a ``map_body``
    hook): an end date is on or after its start. Applied to an initiative, a progress
    report and every row of a bulk call."""
    if isinstance(body, dict):
        for start, end in DATE_PAIRS:
            first, last = body.get(start), body.get(end)
            if isinstance(first, str) and isinstance(last, str) and last < first:
                body[start], body[end] = last, first
        for value in body.values():
            if isinstance(value, list):
                for item in value:
                    dates_in_order(item)
    return body


def one_code_per_row(body: Any) -> Any:
    """A bulk call names each identifier once (the rows are matched on it): a rule
    across array items that JSON schema cannot state either."""
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        seen: set[str] = set()
        for item in body["items"]:
            if isinstance(item, dict) and isinstance(item.get("code"), str):
                while item["code"] in seen:
                    item["code"] = item["code"][:70] + "-again"
                seen.add(item["code"])
    return body


@pytest.fixture
def api_app(
    engine: Engine, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> FastAPI:
    monkeypatch.setenv("HUB_API_KEY_PER_MINUTE", "1000000")
    monkeypatch.setenv("HUB_API_PUBLIC_PER_MINUTE", "1000000")
    public_cache.clear()
    make_initiative(session, world.own, actor=world.partner, code="OPM-1")
    make_initiative(session, world.own, publish=True, code="OPM-2")
    _key, raw = create_api_key(
        session=session, actor=world.partner, name="schemathesis", scope=ApiScope.READ_WRITE
    )
    KEY["raw"] = raw
    # A cursor is opaque (the API's own encoding of a position): the document cannot say
    # which strings are cursors, so the test sends one the API gave.
    first = session.exec(select(Initiative).order_by(col(Initiative.id))).first()
    assert first is not None
    KEY["cursor"] = encode_cursor(first)
    return create_app(engine)


def operations(app: FastAPI) -> list[schemathesis.APIOperation]:
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)

    @loaded.hook
    def map_body(_context: HookContext, body: Any) -> Any:
        return one_code_per_row(dates_in_order(body))

    @loaded.hook
    def map_query(_context: HookContext, query: dict[str, Any] | None) -> Any:
        if query and "cursor" in query:
            query["cursor"] = KEY["cursor"]
        return query

    return [result.ok() for result in loaded.get_all_operations()]


def test_the_api_keeps_its_document(api_app: FastAPI) -> None:
    """Every operation, positive and negative examples, schemathesis's default checks."""
    headers = {"Authorization": f"Bearer {KEY['raw']}"}
    checked = []
    for operation in operations(api_app):

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers)

        run()
        checked.append(operation.label)
    assert len(checked) >= 15, checked
