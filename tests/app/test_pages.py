"""Every page renders for every role that may see it and is refused to every other,
including by direct URL on a freshly started server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from hub.auth import Role
from tests.app.conftest import texts

ALL_PAGES = [
    "public_home",
    "login",
    "account",
    "partner_home",
    "partner_initiatives",
    "staff_home",
    "staff_review",
    "staff_registry",
    "staff_overlaps",
    "staff_partners",
    "staff_gaps",
    "staff_accounts",
    "staff_audit",
    "staff_feeds",
    "staff_feed_review",
    "staff_questions",
    "staff_directory",
    "staff_reports",
    "staff_outreach",
]
ALLOWED: dict[Role | None, set[str]] = {
    None: {"public_home", "login"},
    Role.PARTNER: {"public_home", "partner_home", "partner_initiatives", "account"},
    Role.STAFF: {
        "public_home",
        "staff_home",
        "staff_review",
        "staff_registry",
        "staff_overlaps",
        "staff_partners",
        "staff_gaps",
        "account",
        "staff_feeds",
        "staff_feed_review",
        "staff_questions",
        "staff_directory",
        "staff_reports",
        "staff_outreach",
    },
    Role.ADMIN: {
        "public_home",
        "staff_home",
        "staff_review",
        "staff_registry",
        "staff_overlaps",
        "staff_partners",
        "staff_gaps",
        "account",
        "staff_accounts",
        "staff_audit",
        "staff_feeds",
        "staff_feed_review",
        "staff_questions",
        "staff_directory",
        "staff_reports",
        "staff_outreach",
    },
}
REFUSALS = ("Please sign in to see this page.", "Your account does not give access to this page.")
CASES = [(role, page) for role in ALLOWED for page in ALL_PAGES]


def label(role: Role | None) -> str:
    return role.value if role else "anonymous"


@pytest.mark.parametrize(("role", "page"), CASES, ids=[f"{label(r)}-{p}" for r, p in CASES])
def test_page_access_through_the_navigation(
    open_app: Callable[[Role | None], AppTest], role: Role | None, page: str
) -> None:
    app = open_app(role).run()
    assert not app.exception, app.exception
    if page in ALLOWED[role]:
        app.switch_page(f"pages/{page}.py").run()
        assert not app.exception, app.exception
        assert not any(refusal in texts(app) for refusal in REFUSALS)
        assert app.title, f"{page} rendered no title for {label(role)}"
    else:
        # Not in this role's menu, but reachable by its address (hub_app.py lists every
        # page, unlisted, so a deep link reaches its guard): the guard refuses it.
        app.switch_page(f"pages/{page}.py").run()
        assert not app.exception, app.exception
        if page != "login":  # public: a signed-in visitor is told so
            assert any(refusal in texts(app) for refusal in REFUSALS), texts(app)
            assert len(app.title) == 0, "nothing of the page may render after the refusal"


# The sign-in page is public (a signed-in visitor is told so); every other page a role
# may not see must refuse.
FRESH_CASES = [
    (role, page) for role, page in CASES if page not in ALLOWED[role] and page != "login"
]


@pytest.mark.parametrize(
    ("role", "page"), FRESH_CASES, ids=[f"{label(r)}-{p}" for r, p in FRESH_CASES]
)
def test_deep_link_on_a_fresh_server_is_refused_by_the_page_guard(
    open_app: Callable[[Role | None], AppTest], role: Role | None, page: str
) -> None:
    """Before any session has called st.navigation, Streamlit serves pages/ by file
    name: only the guard at the top of the page stands between a visitor and it."""
    app = open_app(role)
    app.switch_page(f"pages/{page}.py").run()  # before the entry point ever ran
    assert not app.exception, app.exception
    shown = texts(app)
    assert any(refusal in shown for refusal in REFUSALS), shown
    assert len(app.title) == 0, "nothing of the page may render after the refusal"


def test_anonymous_start_page_is_the_public_information(
    open_app: Callable[[Role | None], AppTest],
) -> None:
    app = open_app(None).run()
    shown = texts(app)
    assert "Official information and support" in shown
    assert "Linha SNS 24 reforçada" in shown  # a published demo initiative
    assert "Demo data" in shown
