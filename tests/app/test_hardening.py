"""Hardening in the faces (issue 13): partner text never becomes Markdown, and an account
whose password must change reaches no page but "My account"."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from feeds.models import FeedItem, ItemStatus
from hub.auth import Role
from hub.db import make_engine
from initiatives.models import Initiative, InitiativeDraft
from initiatives.service import approve, create_initiative
from partners.models import Account
from tests.app.conftest import DEMO_EMAILS, principal_of, texts

Opener = Callable[[Role | None], AppTest]

TITLE = "Linha de ajuda com imagem"
# A tracking pixel every visitor's browser would fetch, and a live link to a phish.
DESCRIPTION = (
    "Ligue já ![p](http://127.0.0.1:9/x.png) ou [Official help line](https://phish.example)"
)
ESCAPED = (
    r"Ligue já \!\[p\]\(http\://127\.0\.0\.1\:9/x\.png\) ou "
    r"\[Official help line\]\(https\://phish\.example\)"
)


def submitted(url: str, *, publish: bool) -> Initiative:
    """A partner's initiative with the hostile description, submitted (and published)."""
    engine = make_engine(url)
    partner = principal_of(url, Role.PARTNER)
    with Session(engine) as session:
        initiative = create_initiative(
            session=session,
            actor=partner,
            draft=InitiativeDraft(
                title=TITLE,
                description=DESCRIPTION,
                lead_organisation_id=partner.organisation_id,
                category="health",
                target_groups=["citizens"],
                areas=["PT"],
            ),
            submit=True,
        )
        if publish:
            assert initiative.id is not None
            initiative = approve(
                session=session,
                actor=principal_of(url, Role.STAFF),
                initiative_id=initiative.id,
                expected_version=initiative.version,
            )
        session.refresh(initiative)
        session.expunge(initiative)
    engine.dispose()
    return initiative


def assert_rendered_as_text(app: AppTest) -> None:
    values = [str(m.value) for m in app.markdown]
    assert any(ESCAPED in v for v in values), [v for v in values if "Ligue já" in v]
    for value in values:
        assert "![p](" not in value and "](https://phish.example)" not in value, value


def test_public_page_renders_a_description_as_text(open_app: Opener, demo_url: str) -> None:
    submitted(demo_url, publish=True)
    app = open_app(None).run()
    app.text_input(key="public_search").input(TITLE).run()
    assert not app.exception, app.exception
    assert TITLE in texts(app)
    assert_rendered_as_text(app)


def test_staff_review_renders_a_description_as_text(open_app: Opener, demo_url: str) -> None:
    initiative = submitted(demo_url, publish=False)
    staff = open_app(Role.STAFF).run()
    staff.switch_page("pages/staff_review.py").run()
    staff.selectbox(key="review_pick").set_value(initiative.id).run()
    assert not staff.exception, staff.exception
    assert TITLE in texts(staff)
    assert_rendered_as_text(staff)


def test_public_page_renders_a_feed_summary_as_text(open_app: Opener, demo_url: str) -> None:
    engine = make_engine(demo_url)
    with Session(engine) as session:
        items = session.exec(select(FeedItem).where(FeedItem.status == ItemStatus.PUBLISHED)).all()
        assert items, "the demo publishes feed items"
        for item in items:
            item.summary_html = f"<p>{DESCRIPTION}</p>"
            session.add(item)
        session.commit()
    engine.dispose()
    app = open_app(None).run()
    assert not app.exception, app.exception
    assert_rendered_as_text(app)


def must_change_password(url: str, role: Role) -> None:
    engine = make_engine(url)
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.email == DEMO_EMAILS[role])).one()
        account.must_change_password = True
        session.add(account)
        session.commit()
    engine.dispose()


FORCED = "Please change your password before you use the hub."


@pytest.mark.parametrize(
    ("role", "page"),
    [
        (Role.PARTNER, "partner_initiatives"),
        (Role.PARTNER, "partner_home"),
        (Role.STAFF, "staff_review"),
        (Role.ADMIN, "staff_accounts"),
    ],
)
def test_an_account_that_must_change_its_password_is_sent_to_my_account(
    open_app: Opener, demo_url: str, role: Role, page: str
) -> None:
    must_change_password(demo_url, role)
    app = open_app(role)
    app.switch_page(f"pages/{page}.py").run()  # the page's own guard, by file name
    assert not app.exception, app.exception
    assert FORCED in texts(app), texts(app)
    assert len(app.title) == 0, "nothing of the page may render after the refusal"
    assert any('href="/app/account"' in str(m.value) for m in app.markdown)


def test_the_account_page_still_opens_to_change_the_password(
    open_app: Opener, demo_url: str
) -> None:
    must_change_password(demo_url, Role.PARTNER)
    app = open_app(Role.PARTNER)
    app.switch_page("pages/account.py").run()
    assert not app.exception, app.exception
    assert FORCED not in texts(app)
    assert app.title
