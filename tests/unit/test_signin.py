"""The sign-in routes (portal.signin) through Starlette's TestClient, on SQLite and
PostgreSQL: CSRF, cookies, errors in the page's language, hostile ``next`` values,
sign-out, and the rate limit."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from hub.audit import AuditEntry
from hub.auth import Role
from partners.models import Account
from partners.sessions import WebSession, hash_token, resolve
from portal.signin import (
    CSRF_COOKIE,
    DEFAULT_NEXT,
    PER_CLIENT,
    ROUTES,
    SESSION_COOKIE,
    safe_next,
    with_language,
)
from tests.factories import PASSWORD, make_account

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def client(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    with TestClient(Starlette(routes=ROUTES), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def account(session: Session) -> Account:
    return make_account(session, role=Role.STAFF, email="ana@example.pt")


def csrf_of(client: TestClient, path: str = "/signin") -> str:
    page = client.get(path)
    assert page.status_code == 200
    found = CSRF_FIELD.search(page.text)
    assert found, page.text
    assert client.cookies.get(CSRF_COOKIE) == found.group(1)
    return found.group(1)


def sessions_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(WebSession)).one())


def set_cookie_headers(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def session_cookie_header(response: httpx.Response) -> str:
    return next(h for h in set_cookie_headers(response) if h.startswith(f"{SESSION_COOKIE}="))


def post_signin(client: TestClient, **fields: str) -> httpx.Response:
    return client.post("/signin", data=fields)


def test_the_form_is_portuguese_by_default_and_fits_password_managers(client: TestClient) -> None:
    page = client.get("/signin")
    assert page.status_code == 200
    assert '<html lang="pt">' in page.text
    assert "<h1>Iniciar sessão</h1>" in page.text
    assert 'autocomplete="username"' in page.text
    assert 'autocomplete="current-password"' in page.text
    assert 'method="post" action="/signin"' in page.text
    assert "<script" not in page.text
    assert 'href="/signin?lang=en"' in page.text and ">English<" in page.text
    csrf = next(h for h in set_cookie_headers(page) if h.startswith(f"{CSRF_COOKIE}="))
    assert "HttpOnly" in csrf and "SameSite=strict" in csrf and "Path=/" in csrf
    assert page.headers["cache-control"] == "no-store"


def test_the_form_in_english_keeps_next_in_the_language_link(client: TestClient) -> None:
    page = client.get("/signin?lang=en&next=/app/staff_accounts")
    assert '<html lang="en">' in page.text and "Sign in" in page.text
    assert 'name="next" value="/app/staff_accounts"' in page.text
    assert "next=%2Fapp%2Fstaff_accounts" in page.text  # the link to the Portuguese form


def test_demo_mode_lists_the_demo_accounts(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DEMO_MODE", "1")
    page = client.get("/signin?lang=en")
    assert "Demo accounts" in page.text and "admin@demo.example" in page.text
    monkeypatch.setenv("HUB_DEMO_MODE", "0")
    assert "Demo accounts" not in client.get("/signin?lang=en").text


@pytest.mark.parametrize("csrf", [None, "", "x" * 43])
def test_missing_or_wrong_csrf_is_refused_and_opens_no_session(
    client: TestClient, account: Account, engine: Engine, csrf: str | None
) -> None:
    csrf_of(client)
    fields = {"email": account.email, "password": PASSWORD, "lang": "en"}
    if csrf is not None:
        fields["csrf"] = csrf
    response = post_signin(client, **fields)
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    assert not any(h.startswith(f"{SESSION_COOKIE}=") for h in set_cookie_headers(response))
    assert sessions_count(engine) == 0


def test_csrf_without_its_cookie_is_refused(client: TestClient, account: Account) -> None:
    token = csrf_of(client)
    client.cookies.delete(CSRF_COOKIE)
    response = post_signin(client, email=account.email, password=PASSWORD, csrf=token)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("pt", "Não foi possível iniciar sessão"),
        ("en", "Sign-in failed. Check your e-mail and password"),
    ],
)
def test_wrong_password_shows_the_error_in_the_page_language_and_keeps_the_email(
    client: TestClient, account: Account, engine: Engine, lang: str, message: str
) -> None:
    csrf = csrf_of(client, f"/signin?lang={lang}")
    response = post_signin(
        client, email=account.email, password="not the password", csrf=csrf, lang=lang
    )
    assert response.status_code == 401
    assert message in response.text
    assert f'value="{account.email}"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert not any(h.startswith(f"{SESSION_COOKIE}=") for h in set_cookie_headers(response))
    assert sessions_count(engine) == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "", "password": PASSWORD}, "E-mail: enter the e-mail address"),
        ({"email": "ana@example.pt", "password": ""}, "Password: enter your password."),
    ],
)
def test_empty_fields_are_named(
    client: TestClient, account: Account, fields: dict[str, str], message: str
) -> None:
    csrf = csrf_of(client)
    response = post_signin(client, csrf=csrf, lang="en", **fields)
    assert response.status_code == 400
    assert message in response.text


def test_an_oversized_or_non_form_body_is_refused(client: TestClient) -> None:
    csrf = csrf_of(client)
    huge = client.post("/signin", data={"csrf": csrf, "email": "a" * 20_000, "password": "x"})
    assert huge.status_code == 400
    as_json = client.post("/signin", json={"csrf": csrf})
    assert as_json.status_code == 400


def test_success_sets_a_lax_httponly_cookie_and_redirects_to_next(
    client: TestClient, account: Account, session: Session
) -> None:
    csrf = csrf_of(client)
    response = post_signin(
        client,
        email="  ANA@example.pt ",
        password=PASSWORD,
        csrf=csrf,
        next="/app/staff_accounts?x=1",
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/app/staff_accounts?x=1&lang=pt"
    cookie = session_cookie_header(response)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Max-Age=43200" in cookie  # HUB_SESSION_MAX_HOURS=12
    assert "Secure" not in cookie  # plain HTTP
    token = client.cookies.get(SESSION_COOKIE)
    assert token
    principal = resolve(session=session, token=token)
    assert principal is not None and principal.account_id == account.id
    row = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(token))).one()
    assert row.device  # "unknown browser" or the test client's name, never empty
    actions = session.exec(select(AuditEntry.action)).all()
    assert "sign_in" in actions


def test_the_default_next_keeps_the_language(client: TestClient, account: Account) -> None:
    csrf = csrf_of(client, "/signin?lang=en")
    response = post_signin(client, email=account.email, password=PASSWORD, csrf=csrf, lang="en")
    assert response.headers["location"] == f"{DEFAULT_NEXT}?lang=en"


@pytest.mark.parametrize(
    "hostile",
    [
        "//evil.example",
        "//evil.example/app/",
        "https://evil.example",
        "https:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/app/\r\nSet-Cookie: x=1",
        "/app/\t",
        "app/",
        " /app/",
        "/app/\u2028",
        "/" + "a" * 3000,
    ],
)
def test_hostile_next_values_go_to_the_workspace(
    client: TestClient, account: Account, hostile: str
) -> None:
    assert safe_next(hostile) == DEFAULT_NEXT
    csrf = csrf_of(client)
    response = post_signin(
        client, email=account.email, password=PASSWORD, csrf=csrf, next=hostile, lang="pt"
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{DEFAULT_NEXT}?lang=pt"


@pytest.mark.parametrize("local", ["/app/", "/app/staff_audit", "/initiatives/INI-000014?x=1"])
def test_local_next_values_are_kept(local: str) -> None:
    assert safe_next(local) == local


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/app/", "/app/?lang=en"),
        ("/app/staff_audit?who=ana", "/app/staff_audit?who=ana&lang=en"),
        ("/app/?lang=pt", "/app/?lang=pt"),
    ],
)
def test_the_page_after_sign_in_keeps_the_form_language(path: str, expected: str) -> None:
    assert with_language(path, "en") == expected


def test_https_makes_the_cookie_secure(
    database_url: str, monkeypatch: pytest.MonkeyPatch, account: Account
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    with TestClient(
        Starlette(routes=ROUTES), base_url="https://hub.example", follow_redirects=False
    ) as secure:
        csrf = csrf_of(secure)
        response = post_signin(secure, email=account.email, password=PASSWORD, csrf=csrf)
    assert "Secure" in session_cookie_header(response)


@pytest.mark.parametrize(("peer", "secure"), [("127.0.0.1", True), ("203.0.113.9", False)])
def test_x_forwarded_proto_is_believed_only_from_a_trusted_proxy(
    database_url: str, monkeypatch: pytest.MonkeyPatch, account: Account, peer: str, secure: bool
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    with TestClient(
        Starlette(routes=ROUTES),
        follow_redirects=False,
        client=(peer, 40000),
        headers={"X-Forwarded-Proto": "https"},
    ) as proxied:
        page = proxied.get("/signin")
        csrf = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
        # A Secure cookie is not sent back over http://testserver: send it by hand.
        response = proxied.post(
            "/signin",
            data={"email": account.email, "password": PASSWORD, "csrf": csrf},
            headers={"Cookie": f"{CSRF_COOKIE}={csrf}"},
        )
    assert response.status_code == 303
    assert ("Secure" in session_cookie_header(response)) is secure


def test_sign_out_needs_csrf_then_ends_the_session_and_clears_the_cookie(
    client: TestClient, account: Account, session: Session
) -> None:
    csrf = csrf_of(client)
    post_signin(client, email=account.email, password=PASSWORD, csrf=csrf)
    token = client.cookies.get(SESSION_COOKIE)
    assert token

    refused = client.post("/signout", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert resolve(session=session, token=token) is not None

    confirm = client.get("/signout?lang=en")
    assert "Signed in as" in confirm.text and 'action="/signout"' in confirm.text
    response = client.post("/signout", data={"csrf": csrf_of(client, "/signout"), "lang": "en"})
    assert response.status_code == 303
    assert response.headers["location"] == "/?lang=en"
    cleared = session_cookie_header(response)
    assert 'hub_session=""' in cleared and "Max-Age=0" in cleared
    assert resolve(session=session, token=token) is None
    assert "sign_out" in session.exec(select(AuditEntry.action)).all()


def test_a_dead_session_cookie_is_dropped_by_the_form(client: TestClient) -> None:
    client.cookies.set(SESSION_COOKIE, "not-a-live-token")
    page = client.get("/signout")
    assert page.status_code == 200
    assert 'hub_session=""' in session_cookie_header(page)


def test_signed_in_visitor_is_offered_to_continue(client: TestClient, account: Account) -> None:
    csrf = csrf_of(client)
    post_signin(client, email=account.email, password=PASSWORD, csrf=csrf, next="/app/x")
    page = client.get("/signin?lang=en&next=/app/x")
    assert f"You are signed in as {account.display_name}." in page.text
    assert 'href="/app/x"' in page.text


def test_attempts_from_one_client_are_rate_limited(
    client: TestClient, account: Account, engine: Engine
) -> None:
    csrf = csrf_of(client)
    statuses = [
        post_signin(
            client, email=f"nobody{n}@example.pt", password="guess", csrf=csrf, lang="en"
        ).status_code
        for n in range(int(PER_CLIENT.capacity) + 1)
    ]
    assert statuses[:-1] == [401] * int(PER_CLIENT.capacity)
    assert statuses[-1] == 429
    refused = post_signin(client, email=account.email, password=PASSWORD, csrf=csrf, lang="en")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert "Too many sign-in attempts" in refused.text
    assert sessions_count(engine) == 0
