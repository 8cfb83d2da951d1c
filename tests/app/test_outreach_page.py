"""The staff Offline reach page (issue 19): an urgent notice goes to the area's
subscribers once, is audited, and the counts show it; partners and the public are
refused (also in tests/app/test_pages.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from hub.audit import AuditEntry
from hub.auth import Role
from hub.db import make_engine
from hub.records import utcnow
from outreach.models import DigestSent, Subscription, SubscriptionChannel, SubscriptionState
from outreach.subscriptions import address_hash
from tests.app.conftest import texts

PAGE = "pages/staff_outreach.py"


def subscribe(url: str, address: str) -> None:
    engine = make_engine(url)
    with Session(engine) as session:
        session.add(
            Subscription(
                channel=SubscriptionChannel.EMAIL,
                address=address,
                address_hash=address_hash(SubscriptionChannel.EMAIL, address),
                area_code="1106",
                topic="all",
                language="pt",
                state=SubscriptionState.ACTIVE,
                confirmed_at=utcnow(),
            )
        )
        session.commit()
    engine.dispose()


def test_staff_send_an_urgent_notice_once_and_see_it_counted(
    open_app: Callable[[Role | None], AppTest], demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_OUTREACH_SECRET", "test-secret-for-outreach")
    subscribe(demo_url, "ana@example.pt")
    app = open_app(Role.STAFF).run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    assert "Offline reach" in texts(app) and "No urgent notice has been sent." in texts(app)
    for attempt in range(2):  # the same notice twice sends nothing more
        app.selectbox[0].set_value("1106")
        app.text_input[0].set_value("Corte de água na Baixa")
        app.text_input[1].set_value("https://example.pt/aviso")
        app.button[0].click().run()
        assert not app.exception, app.exception
        expected = "1 messages queued" if attempt == 0 else "0 messages queued"
        assert expected in texts(app)
    assert list(app.dataframe[-1].value["What is urgent"]) == ["Corte de água na Baixa"] * 2
    engine = make_engine(demo_url)
    with Session(engine) as session:
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "send_urgent")).all()
        assert len(audit) == 2 and "ana@example.pt" not in str([a.after for a in audit])
        assert len(session.exec(select(DigestSent)).all()) == 1  # one message, not two
    engine.dispose()


@pytest.mark.parametrize("role", [Role.PARTNER, None])
def test_partners_and_the_public_are_refused(
    open_app: Callable[[Role | None], AppTest], role: Role | None
) -> None:
    app = open_app(role).run()
    app.switch_page(PAGE).run()
    assert "Mark an item urgent" not in texts(app)
    assert any(
        refusal in texts(app)
        for refusal in ("Please sign in to see this page.", "Your account does not give access")
    )
