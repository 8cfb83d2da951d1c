"""schemathesis runs the OpenAPI document against the ASGI app, on SQLite and
PostgreSQL: its default checks (no 500s, status codes, content types, headers and
bodies conforming to the document, bad input refused). Bounded (``MAX_EXAMPLES`` per
operation) so the suite stays fast; raise it locally for a deeper run."""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app
from api.public import cache as public_cache
from partners.api_keys import ApiScope, create_api_key
from tests.factories import World, make_initiative

MAX_EXAMPLES = int(os.environ.get("HUB_TEST_SCHEMATHESIS_EXAMPLES", "15"))
KEY: dict[str, str] = {}
# Every default check but one: "positive data acceptance" expects any request that
# matches the document to succeed, but the registry's rules live in the database and the
# services (the category and target-group lists, known area codes, end after start, a
# title, an opaque cursor), so a schema-valid request can rightly be refused with a 422
# that names the field. Refusals are still checked: status code listed, problem+json
# body conforming to the Problem schema, never a 500.
DOMAIN_RULES = [positive_data_acceptance]


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
    return create_app(engine)


def operations(app: FastAPI) -> list[schemathesis.APIOperation]:
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
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
            case.call_and_validate(headers=headers, excluded_checks=DOMAIN_RULES)

        run()
        checked.append(operation.label)
    assert len(checked) >= 15, checked
