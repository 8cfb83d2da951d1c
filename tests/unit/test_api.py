"""The partner API (issue 17) on a real database (SQLite and PostgreSQL) through its ASGI
app: keys, reading with cursors, writing through the services, bulk upsert, errors as
problem+json in both languages, rate limits, the public endpoints and the docs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from api.public import cache as public_cache
from hub.audit import AuditEntry
from hub.auth import Principal, Role
from hub.errors import AuthenticationFailed, PermissionDenied
from hub.records import utcnow
from initiatives.models import Initiative, ReviewState, VocabularyKind
from initiatives.service import approve
from initiatives.vocabulary import add_term
from partners.api_keys import (
    ApiKey,
    ApiScope,
    authenticate_key,
    create_api_key,
    hash_key,
    revoke_api_key,
)
from partners.models import Account
from tests.factories import World, initiative_draft, make_initiative


def key_for(session: Session, actor: Principal, scope: ApiScope = ApiScope.READ_WRITE) -> str:
    _key, raw = create_api_key(session=session, actor=actor, name="case system", scope=scope)
    return raw


def auth(raw: str, language: str = "en") -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}", "Accept-Language": language}


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    public_cache.clear()
    with TestClient(create_app(engine), raise_server_exceptions=False) as test_client:
        yield test_client
    public_cache.clear()


def body_of(draft: Any) -> dict[str, Any]:
    return draft.model_dump(mode="json")


# --- keys ----------------------------------------------------------------------------


def test_a_key_is_shown_once_stored_as_a_hash_and_acts_as_its_account(
    session: Session, world: World
) -> None:
    key, raw = create_api_key(session=session, actor=world.partner, name="crm")
    assert raw.startswith(key.prefix + "_") and key.prefix.startswith("hub_")
    stored = session.get(ApiKey, key.id)
    assert stored is not None and stored.secret_hash == hash_key(raw)
    assert raw not in str(stored.model_dump())
    found = authenticate_key(session=session, raw=raw)
    assert found.principal.organisation_id == world.own.id
    assert key.prefix in found.principal.label and found.scope is ApiScope.READ
    entry = session.exec(select(AuditEntry).where(AuditEntry.entity_type == "api_key")).one()
    assert "secret_hash" not in (entry.after or {})
    with pytest.raises(AuthenticationFailed):
        authenticate_key(session=session, raw=raw[:-1] + ("a" if raw[-1] != "a" else "b"))


def test_revoked_expired_and_disabled_keys_are_refused_at_once(
    session: Session, world: World, client: TestClient
) -> None:
    key, raw = create_api_key(session=session, actor=world.partner, name="crm")
    assert client.get("/initiatives", headers=auth(raw)).status_code == 200
    revoke_api_key(session=session, actor=world.partner, key_id=key.id or 0)
    refused = client.get("/initiatives", headers=auth(raw))
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"

    soon = utcnow() + timedelta(seconds=1)
    _expiring, raw2 = create_api_key(
        session=session, actor=world.partner, name="t", expires_at=soon
    )
    with pytest.raises(AuthenticationFailed):
        authenticate_key(session=session, raw=raw2, now=soon + timedelta(seconds=1))

    _k, raw3 = create_api_key(session=session, actor=world.partner, name="x")
    account = session.get(Account, world.partner.account_id)
    assert account is not None
    account.active = False
    session.add(account)
    session.commit()
    assert client.get("/initiatives", headers=auth(raw3)).status_code == 401
    assert client.get("/initiatives").status_code == 401  # no key at all


def test_partners_manage_only_their_own_keys(session: Session, world: World) -> None:
    key, _raw = create_api_key(session=session, actor=world.partner, name="mine")
    with pytest.raises(PermissionDenied):
        revoke_api_key(session=session, actor=world.joint_partner, key_id=key.id or 0)
    assert session.get(ApiKey, key.id).revoked_at is None  # type: ignore[union-attr]


# --- reading -------------------------------------------------------------------------


def test_cursor_pages_cover_every_visible_record_once(
    session: Session, world: World, client: TestClient
) -> None:
    own = [make_initiative(session, world.own, actor=world.partner) for _ in range(7)]
    make_initiative(session, world.other)  # not the partner's: never listed
    raw = key_for(session, world.partner, ApiScope.READ)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/initiatives", params=params, headers=auth(raw)).json()
        seen += [item["code"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(i.code for i in own)
    first = own[0]
    later = client.get(
        "/initiatives",
        params={"updated_since": own[3].updated_at.isoformat(), "status": "planned"},
        headers=auth(raw),
    ).json()["items"]
    assert first.code not in {i["code"] for i in later} and later
    assert client.get("/initiatives", params={"limit": 201}, headers=auth(raw)).status_code == 422
    bad = client.get("/initiatives", params={"cursor": "nonsense"}, headers=auth(raw))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


def test_filters_match_exactly(session: Session, world: World, client: TestClient) -> None:
    make_initiative(session, world.own, actor=world.partner, areas=["PT-11"])
    make_initiative(session, world.own, actor=world.partner, areas=["PT-13"])
    raw = key_for(session, world.partner, ApiScope.READ)
    items = client.get("/initiatives", params={"area": "PT-1"}, headers=auth(raw)).json()["items"]
    assert items == []  # no partial matches: PT-1 is not PT-11
    items = client.get("/initiatives", params={"area": "PT-13"}, headers=auth(raw)).json()["items"]
    assert [i["areas"] for i in items] == [["PT-13"]]


def test_a_record_of_another_organisation_is_not_found_and_the_look_is_audited(
    session: Session, world: World, client: TestClient
) -> None:
    theirs = make_initiative(session, world.other)
    raw = key_for(session, world.partner, ApiScope.READ)
    response = client.get(f"/initiatives/{theirs.code}", headers=auth(raw))
    assert response.status_code == 404
    denied = session.exec(select(AuditEntry).where(AuditEntry.action == "denied")).all()
    assert denied and "API key" in denied[-1].actor_label


# --- writing -------------------------------------------------------------------------


def test_create_then_edit_a_published_record_waits_for_review(
    session: Session, world: World, client: TestClient
) -> None:
    raw = key_for(session, world.partner)
    draft = initiative_draft(world.own, code="OPM-001")
    created = client.post("/initiatives?submit=true", json=body_of(draft), headers=auth(raw))
    assert created.status_code == 201, created.text
    record = created.json()["initiative"]
    assert record["review_state"] == "submitted" and record["code"] == "OPM-001"
    row = session.exec(select(Initiative).where(Initiative.code == "OPM-001")).one()
    assert "API key hub_" in row.updated_by
    published = approve(
        session=session, actor=world.staff, initiative_id=row.id or 0, expected_version=row.version
    )
    edit = {**body_of(draft), "title": "A new title", "version": published.version}
    changed = client.put("/initiatives/OPM-001", json=edit, headers=auth(raw))
    assert changed.status_code == 200, changed.text
    shown = changed.json()["initiative"]
    assert shown["pending_review"] is True and shown["title"] == draft.title
    stale = client.put("/initiatives/OPM-001", json=edit, headers=auth(raw))
    assert stale.status_code == 409


def test_created_records_come_with_their_overlap_hints(
    session: Session, world: World, client: TestClient
) -> None:
    make_initiative(session, world.other, publish=True, title="Free mobile data for nurses")
    raw = key_for(session, world.partner)
    draft = initiative_draft(world.own, title="Free mobile data for nurses")
    hints = client.post("/initiatives", json=body_of(draft), headers=auth(raw)).json()
    assert hints["overlap_hints"] and hints["overlap_hints"][0]["explanation"]


def test_withdraw_progress_and_confirm(session: Session, world: World, client: TestClient) -> None:
    raw = key_for(session, world.partner)
    mine = make_initiative(session, world.own, actor=world.partner)
    progress = client.post(
        f"/initiatives/{mine.code}/progress",
        json={"version": mine.version, "status": "active", "people_reached": 40},
        headers=auth(raw),
    )
    assert progress.status_code == 200, progress.text
    assert progress.json()["people_reached"] == 40
    version = progress.json()["version"]
    confirmed = client.post(
        f"/initiatives/{mine.code}/confirm", json={"version": version}, headers=auth(raw)
    )
    assert confirmed.status_code == 200
    withdrawn = client.post(
        f"/initiatives/{mine.code}/withdraw",
        json={"version": confirmed.json()["version"], "reason": "ended"},
        headers=auth(raw),
    )
    assert withdrawn.json()["review_state"] == "withdrawn"


def test_a_read_key_cannot_write(session: Session, world: World, client: TestClient) -> None:
    raw = key_for(session, world.partner, ApiScope.READ)
    response = client.post(
        "/initiatives", json=body_of(initiative_draft(world.own)), headers=auth(raw)
    )
    assert response.status_code == 403
    assert session.exec(select(Initiative)).all() == []


# --- bulk ----------------------------------------------------------------------------


def _rows(world: World, n: int, **overrides: Any) -> list[dict[str, Any]]:
    return [
        {**body_of(initiative_draft(world.own, code=f"OPM-{i:04d}")), **overrides} for i in range(n)
    ]


def test_bulk_dry_run_writes_nothing_and_reports_every_problem(
    session: Session, world: World, client: TestClient
) -> None:
    raw = key_for(session, world.partner)
    rows = _rows(world, 3)
    rows[1] = {**rows[1], "title": "", "category": "nope", "areas": ["XX-99"]}
    report = client.post(
        "/initiatives/bulk?dry_run=true", json={"items": rows}, headers=auth(raw)
    ).json()
    assert report["dry_run"] is True and report["written"] is False
    assert [r["result"] for r in report["rows"]] == ["created", "refused", "created"]
    assert {p["field"] for p in report["rows"][1]["problems"]} == {"title", "category", "areas"}
    assert session.exec(select(Initiative)).all() == []


def test_bulk_is_all_or_nothing_unless_partial(
    session: Session, world: World, client: TestClient
) -> None:
    raw = key_for(session, world.partner)
    rows = _rows(world, 3)
    rows[2] = {**rows[2], "planned_end": "2019-01-01"}
    report = client.post("/initiatives/bulk", json={"items": rows}, headers=auth(raw)).json()
    assert report["written"] is False
    assert [r["result"] for r in report["rows"]] == ["not_written", "not_written", "refused"]
    assert session.exec(select(Initiative)).all() == []
    report = client.post(
        "/initiatives/bulk?partial=true", json={"items": rows}, headers=auth(raw)
    ).json()
    assert report["written"] is True and report["counts"] == {"created": 2, "refused": 1}
    again = client.post(
        "/initiatives/bulk?partial=true", json={"items": rows}, headers=auth(raw)
    ).json()
    assert again["counts"] == {"unchanged": 2, "refused": 1}
    rows[0] = {**rows[0], "title": "Renamed"}
    third = client.post(
        "/initiatives/bulk?partial=true", json={"items": rows[:2]}, headers=auth(raw)
    ).json()
    assert [r["result"] for r in third["rows"]] == ["updated", "unchanged"]


def test_bulk_with_an_idempotency_key_does_nothing_twice(
    session: Session, world: World, client: TestClient
) -> None:
    raw = key_for(session, world.partner)
    body = {"items": _rows(world, 2)}
    headers = {**auth(raw), "Idempotency-Key": "batch-1"}
    first = client.post("/initiatives/bulk", json=body, headers=headers)
    assert first.json()["counts"] == {"created": 2}
    entries = len(session.exec(select(AuditEntry)).all())
    replay = client.post("/initiatives/bulk", json=body, headers=headers)
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
    assert len(session.exec(select(AuditEntry)).all()) == entries
    body["items"][0]["title"] = "Something else"
    different = client.post("/initiatives/bulk", json=body, headers=headers)
    assert different.status_code == 409
    assert different.json()["errors"][0]["field"] == "Idempotency-Key"
    session.expire_all()
    assert {i.version for i in session.exec(select(Initiative)).all()} == {1}


def test_bulk_refuses_another_organisations_rows(
    session: Session, world: World, client: TestClient
) -> None:
    theirs = make_initiative(session, world.other, code="ED-1")
    raw = key_for(session, world.partner)
    rows = [{**body_of(initiative_draft(world.own)), "code": "ED-1", "title": "Mine now"}]
    report = client.post("/initiatives/bulk", json={"items": rows}, headers=auth(raw)).json()
    assert report["rows"][0]["result"] == "refused"
    session.expire_all()
    assert session.get(Initiative, theirs.id).title == theirs.title  # type: ignore[union-attr]
    too_many = client.post(
        "/initiatives/bulk", json={"items": _rows(world, 1001)}, headers=auth(raw)
    )
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "items"


# --- errors, languages, limits -------------------------------------------------------


def test_errors_are_problem_documents_in_the_callers_language(
    session: Session, world: World, client: TestClient
) -> None:
    raw = key_for(session, world.partner)
    bad = {**body_of(initiative_draft(world.own)), "title": ""}
    english = client.post("/initiatives", json=bad, headers=auth(raw, "en"))
    portuguese = client.post("/initiatives", json=bad, headers=auth(raw, "pt-PT,pt;q=0.9"))
    assert english.status_code == portuguese.status_code == 422
    assert english.headers["content-type"] == "application/problem+json"
    assert english.json()["errors"] == [
        {"field": "title", "message": "Title: give the initiative a title."}
    ]
    assert portuguese.json()["errors"][0]["field"] == "title"
    assert portuguese.json()["errors"][0]["message"] != english.json()["errors"][0]["message"]
    typo = client.post(
        "/initiatives",
        json={**bad, "titel": "x", "people_targeted": "many"},
        headers=auth(raw, "pt"),
    )
    fields = {e["field"] for e in typo.json()["errors"]}
    assert fields == {"titel", "people_targeted"}
    assert "Traceback" not in typo.text
    broken = client.post(
        "/initiatives",
        content=b"{not json",
        headers={**auth(raw), "Content-Type": "application/json"},
    )
    assert broken.status_code == 422


def test_over_the_rate_limit_is_429_with_retry_after(
    session: Session, world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_API_KEY_PER_MINUTE", "1")
    monkeypatch.setenv("HUB_API_PUBLIC_PER_MINUTE", "1")
    raw = key_for(session, world.partner, ApiScope.READ)
    assert client.get("/initiatives", headers=auth(raw)).status_code == 200
    limited = client.get("/initiatives", headers=auth(raw))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert client.get("/reference/categories").status_code == 200
    assert client.get("/reference/categories").status_code == 429


# --- public endpoints and documents --------------------------------------------------


def test_public_endpoints_show_published_records_and_public_fields_only(
    session: Session, world: World, client: TestClient
) -> None:
    published = make_initiative(session, world.own, publish=True)
    draft = make_initiative(session, world.own)
    listed = client.get("/public/initiatives").json()["items"]
    assert [i["code"] for i in listed] == [published.code]
    assert "contact_email" not in listed[0] and "review_note" not in listed[0]
    assert client.get(f"/public/initiatives/{draft.code}").status_code == 404
    one = client.get(f"/public/initiatives/{published.code}")
    assert one.status_code == 200 and "contacto@example.pt" not in one.text
    assert (
        client.get(
            f"/public/initiatives/{published.code}", headers={"If-None-Match": one.headers["ETag"]}
        ).status_code
        == 304
    )
    for path in ("/public/measures", "/public/answers", "/public/contacts", "/public/feed-items"):
        assert client.get(path).status_code == 200, path
    areas = client.get("/reference/areas").json()
    assert any(a["code"] == "PT-11" for a in areas)
    groups = client.get("/reference/target-groups").json()
    assert all(g["label_pt"] and g["label_en"] for g in groups)


def test_openapi_31_and_a_docs_page_without_outside_assets(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "/initiatives/bulk" in document["paths"]
    page = client.get("/docs")
    assert page.status_code == 200 and "openapi.json" in page.text
    assert "<script" not in page.text and "cdn" not in page.text.lower()


def test_staff_keys_read_everything(session: Session, world: World, client: TestClient) -> None:
    make_initiative(session, world.other)
    make_initiative(session, world.own)
    staff = key_for(session, world.staff, ApiScope.READ)
    items = client.get("/initiatives", headers=auth(staff)).json()["items"]
    assert len(items) == 2
    assert {i["review_state"] for i in items} == {ReviewState.DRAFT.value}
    assert world.staff.role in {Role.STAFF, Role.ADMIN}


def test_a_link_that_breaks_the_url_parser_is_a_clear_error(
    session: Session, world: World, client: TestClient
) -> None:
    raw = key_for(session, world.partner)
    bad = {**body_of(initiative_draft(world.own)), "link": "http://["}
    response = client.post("/initiatives", json=bad, headers=auth(raw))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "link"


def test_similar_initiatives_of_a_record(
    session: Session, world: World, client: TestClient
) -> None:
    make_initiative(session, world.other, publish=True, title="Free mobile data for nurses")
    mine = make_initiative(
        session, world.own, actor=world.partner, title="Free mobile data for nurses"
    )
    raw = key_for(session, world.partner, ApiScope.READ)
    hints = client.get(f"/initiatives/{mine.code}/similar", headers=auth(raw))
    assert hints.status_code == 200 and hints.json()[0]["code"] != mine.code
    assert client.get(f"/initiatives/{mine.code}", headers=auth(raw)).json()["code"] == mine.code


def test_the_document_lists_the_registrys_own_lists_and_a_taken_code_is_a_conflict(
    session: Session, world: World, client: TestClient
) -> None:
    """The document names the categories, target groups, areas and organisations the
    registry takes (read from the database when served: a term added now is listed at
    once); an identifier another record holds is a 409, as the document says."""
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    fields = schemas["InitiativeInput"]["properties"]
    assert "other" in fields["category"]["enum"]
    assert world.own.id in fields["lead_organisation_id"]["enum"]
    assert "PT" in fields["areas"]["items"]["enum"]
    assert (
        fields["title"]["maxLength"] == 200 and "category" in schemas["InitiativeInput"]["required"]
    )
    add_term(
        session=session,
        actor=world.staff,
        kind=VocabularyKind.CATEGORY,
        code="water_supply",
        label_en="Water supply",
        label_pt="Abastecimento de água",
    )
    fields = client.get("/openapi.json").json()["components"]["schemas"]["InitiativeInput"]
    assert "water_supply" in fields["properties"]["category"]["enum"]
    raw = key_for(session, world.partner)
    taken = make_initiative(session, world.other)
    body = {**body_of(initiative_draft(world.own)), "code": taken.code}
    response = client.post("/initiatives", json=body, headers=auth(raw))
    assert response.status_code == 409 and taken.code in response.json()["detail"]


def test_cached_public_reads_skip_fastapi_but_not_the_rate_limit(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached answer leaves from ``CachedReads`` (the same bytes, ETag and headers),
    and the anonymous limit still counts it: 400 a minute is a burst of 200."""
    monkeypatch.setenv("HUB_API_PUBLIC_PER_MINUTE", "400")
    first = client.get("/reference/categories", headers={"Accept-Language": "pt"})
    statuses = [first.status_code]
    for _ in range(259):
        again = client.get("/reference/categories", headers={"Accept-Language": "pt"})
        statuses.append(again.status_code)
        if again.status_code == 200:
            assert again.content == first.content
            assert again.headers["ETag"] == first.headers["ETag"]
            assert again.headers["Content-Language"] == "pt"
            assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    allowed = statuses.count(200)
    assert 190 <= allowed <= 230 and statuses.count(429) == 260 - allowed, allowed
    unchanged = client.get("/reference/channels")
    assert unchanged.status_code in {200, 429}
