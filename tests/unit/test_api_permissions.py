"""The API's permission table (issue 17): a partner key of organisation A against every
endpoint that takes a record, with B's record, gets 404 or 403 and changes nothing; a
read key writes nothing; a revoked key is refused at once. The same rules as the forms
(tests/unit/test_initiative_permissions.py), seen through the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from api.public import cache as public_cache
from hub.audit import AuditEntry
from initiatives.models import Initiative
from partners.api_keys import ApiScope, create_api_key, revoke_api_key
from tests.factories import World, initiative_draft, make_initiative


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    public_cache.clear()
    with TestClient(create_app(engine), raise_server_exceptions=False) as test_client:
        yield test_client


def _headers(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def requests_against(target: Initiative, body: dict[str, Any]) -> dict[str, tuple[str, str, Any]]:
    code, version = target.code, target.version
    return {
        "get": ("GET", f"/initiatives/{code}", None),
        "similar": ("GET", f"/initiatives/{code}/similar", None),
        "update": ("PUT", f"/initiatives/{code}", {**body, "version": version}),
        "withdraw": ("POST", f"/initiatives/{code}/withdraw", {"version": version}),
        "progress": (
            "POST",
            f"/initiatives/{code}/progress",
            {"version": version, "status": "active", "people_reached": 1},
        ),
        "confirm": ("POST", f"/initiatives/{code}/confirm", {"version": version}),
        "create for B": ("POST", "/initiatives", body),
        "bulk onto B's code": (
            "POST",
            "/initiatives/bulk",
            {"items": [{**body, "code": code, "lead_organisation_id": None}]},
        ),
    }


def _state(session: Session) -> list[tuple[str, int, str]]:
    session.expire_all()
    return sorted((i.code, i.version, i.title) for i in session.exec(select(Initiative)).all())


NAMES = list(
    requests_against(Initiative(code="X", title="", lead_organisation_id=0, category=""), {})
)


@pytest.mark.parametrize("name", NAMES)
def test_a_key_of_organisation_a_changes_nothing_of_b(
    session: Session, world: World, client: TestClient, name: str
) -> None:
    theirs = make_initiative(session, world.other, publish=True)
    _key, raw = create_api_key(
        session=session, actor=world.partner, name="a", scope=ApiScope.READ_WRITE
    )
    body = initiative_draft(world.other).model_dump(mode="json")
    before = _state(session)
    method, path, payload = requests_against(theirs, body)[name]
    response = client.request(method, path, json=payload, headers=_headers(raw))
    if name.startswith("bulk"):
        assert response.status_code == 200
        assert response.json()["rows"][0]["result"] == "refused"
        assert response.json()["written"] is False
    else:
        assert response.status_code in {403, 404}, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert _state(session) == before
    denied = session.exec(select(AuditEntry).where(AuditEntry.action == "denied")).all()
    assert denied, "every refusal leaves an audit entry"


@pytest.mark.parametrize("name", [n for n in NAMES if n not in {"get", "similar"}])
def test_a_read_key_writes_nothing(
    session: Session, world: World, client: TestClient, name: str
) -> None:
    mine = make_initiative(session, world.own, actor=world.partner)
    _key, raw = create_api_key(session=session, actor=world.partner, name="r")
    body = initiative_draft(world.own).model_dump(mode="json")
    before = _state(session)
    method, path, payload = requests_against(mine, body)[name]
    response = client.request(method, path, json=payload, headers=_headers(raw))
    assert response.status_code == 403, (name, response.text)
    assert _state(session) == before


def test_a_revoked_key_is_refused_on_its_next_request(
    session: Session, world: World, client: TestClient
) -> None:
    mine = make_initiative(session, world.own, actor=world.partner)
    key, raw = create_api_key(
        session=session, actor=world.partner, name="w", scope=ApiScope.READ_WRITE
    )
    assert client.get(f"/initiatives/{mine.code}", headers=_headers(raw)).status_code == 200
    revoke_api_key(session=session, actor=world.partner, key_id=key.id or 0)
    for method, path, payload in requests_against(
        mine, initiative_draft(world.own).model_dump(mode="json")
    ).values():
        response = client.request(method, path, json=payload, headers=_headers(raw))
        assert response.status_code == 401, (method, path)


def test_public_endpoints_never_show_unpublished_records_or_private_fields(
    session: Session, world: World, client: TestClient
) -> None:
    hidden = [
        make_initiative(session, world.own),
        make_initiative(session, world.own, submit=True),
    ]
    shown = make_initiative(session, world.own, publish=True)
    text = client.get("/public/initiatives", params={"limit": 200}).text
    for record in hidden:
        assert record.code not in text
        assert client.get(f"/public/initiatives/{record.code}").status_code == 404
    assert shown.code in text
    for private in ("contact_email", "review_note", "review_state", "contacto@example.pt"):
        assert private not in text


def test_a_key_of_organisation_a_lists_none_of_bs_records(
    session: Session, world: World, client: TestClient
) -> None:
    """The list, with or without filters naming B, shows only A's (led or joint)."""
    theirs = make_initiative(session, world.other, publish=True)
    mine = make_initiative(session, world.own, actor=world.partner)
    _key, raw = create_api_key(session=session, actor=world.partner, name="l")
    for params in (
        {},
        {"organisation_id": world.other.id},
        {"category": theirs.category},
        {"review_state": "published"},
        {"limit": 200},
    ):
        listed = client.get("/initiatives", params=params, headers=_headers(raw))
        assert listed.status_code == 200, params
        codes = {item["code"] for item in listed.json()["items"]}
        assert theirs.code not in codes and codes <= {mine.code}, params
