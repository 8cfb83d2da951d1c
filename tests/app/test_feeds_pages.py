"""The staff feed pages with AppTest: health, refresh now (against a local server),
register a source, and the review queue."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from feeds.models import FeedItem, FeedSource, ItemStatus
from hub.auth import Role
from hub.db import make_engine
from tests.app.conftest import texts
from tests.factories import make_source
from tests.feed_server import feed, item, rss, serve


def test_feeds_page_shows_health_and_refreshes_a_local_source(
    open_app: Callable[[Role | None], AppTest], demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_FETCH_ALLOW_HOSTS", "127.0.0.1")
    with serve() as server:
        server.routes["/feed"] = feed(rss(item("Aviso local de teste para a página", guid="l1")))
        engine = make_engine(demo_url)
        with Session(engine) as session:
            source = make_source(session, name="Local test", url=server.url("/feed"))
            source_id = source.id
        app = open_app(Role.STAFF).run()
        app.switch_page("pages/staff_feeds.py").run()
        assert not app.exception, app.exception
        assert "Feed health" in texts(app)
        assert len(app.dataframe) >= 1
        app.multiselect(key="staff_feeds_refresh_pick").set_value([source_id]).run()
        app.button(key="staff_feeds_refresh").click().run()
        assert not app.exception, app.exception
        assert "Local test: 1 new, 0 revised." in texts(app)
        with Session(engine) as session:
            assert session.exec(select(FeedItem).where(FeedItem.source_id == source_id)).one()
        engine.dispose()


def test_register_source_form_refuses_bad_url_then_accepts(
    open_app: Callable[[Role | None], AppTest], demo_url: str
) -> None:
    app = open_app(Role.STAFF).run()
    app.switch_page("pages/staff_feeds.py").run()
    app.text_input(key="staff_feeds_new_name").input("Câmara Municipal")
    app.text_input(key="staff_feeds_new_url").input("javascript:alert(1)")
    app.button(key="FormSubmitter:staff_feeds_new-Register source").click().run()
    assert "Feed URL:" in texts(app)
    app.text_input(key="staff_feeds_new_name").input("Câmara Municipal")
    app.text_input(key="staff_feeds_new_url").input("https://www.cm-lisboa.pt/rss")
    app.button(key="FormSubmitter:staff_feeds_new-Register source").click().run()
    assert not app.exception, app.exception
    engine = make_engine(demo_url)
    with Session(engine) as session:
        assert session.exec(select(FeedSource).where(FeedSource.name == "Câmara Municipal")).one()
    engine.dispose()


def test_review_queue_publishes_a_demo_item(
    open_app: Callable[[Role | None], AppTest], demo_url: str
) -> None:
    engine = make_engine(demo_url)
    with Session(engine) as session:
        pending = session.exec(select(FeedItem).where(FeedItem.status == ItemStatus.PENDING)).all()
        assert pending, "the demo's allowed source leaves items to review"
        target = pending[0]
    app = open_app(Role.STAFF).run()
    app.switch_page("pages/staff_feed_review.py").run()
    assert not app.exception, app.exception
    assert "Feed review" in texts(app)
    app.button(key=f"staff_feed_review_action_publish_{target.id}").click().run()
    assert not app.exception, app.exception
    with Session(engine) as session:
        again = session.get(FeedItem, target.id)
        assert again is not None and again.status is ItemStatus.PUBLISHED
    engine.dispose()
