"""Feed fetching against a real HTTP server on 127.0.0.1, on SQLite and PostgreSQL.

Every hostile case of issue 5: the source's health shows a clear message, the last
good items stay, and the other sources polled alongside are not disturbed.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from feeds import health
from feeds.models import FeedItem, FeedSource, FeedState, ItemStatus, Outcome, TrustTier
from feeds.service import list_public_stories, source_health
from feeds.worker import acquire_lease, lease_owner, poll_sources
from hub.auth import Role
from hub.records import utcnow
from tests.factories import make_principal, make_source
from tests.feed_server import FeedServer, feed, item, respond, rss, serve

GOOD = rss(
    item("Linha SNS 24 reforçada para mais chamadas", guid="a1", link="https://dgs.pt/a1"),
    item("Escolas reabrem na segunda-feira em todo o país", guid="a2", link="https://dgs.pt/a2"),
)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with serve() as running:
        yield running


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_FETCH_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv("HUB_FETCH_DEADLINE_SECONDS", "10")


def add_source(
    session: Session, url: str, *, name: str = "Local", trust: TrustTier = TrustTier.TRUSTED
) -> int:
    source = make_source(session, name=name, url=url, trust=trust)
    assert source.id is not None
    return source.id


def state_of(engine: Engine, source_id: int) -> FeedState:
    with Session(engine) as session:
        state = session.get(FeedState, source_id)
        assert state is not None
        return state


def items_of(engine: Engine, source_id: int) -> list[FeedItem]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(FeedItem).where(FeedItem.source_id == source_id).order_by(col(FeedItem.id))
            ).all()
        )


def poll(engine: Engine, *ids: int) -> dict[int, object]:
    return {
        s.source_id: s for s in poll_sources(engine=engine, source_ids=list(ids), due_only=False)
    }


# --- the hostile cases: a good feed first, then the bad answer --------------------


def html_page(handler: BaseHTTPRequestHandler) -> None:
    respond(
        200,
        b"<!DOCTYPE html><html><body><form>Sign in</form></body></html>",
        {"Content-Type": "text/html"},
    )(handler)


def gzip_bomb(handler: BaseHTTPRequestHandler) -> None:
    # 20 MB of zeros, about 20 KB on the wire.
    body = gzip.compress(b"<rss>" + b"\0" * (20 * 1024 * 1024), compresslevel=9)
    respond(200, body, {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})(handler)


def dripping(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    for _ in range(200):  # one byte every 0.2 s: each read is quick, the whole is not
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.2)


def redirect_loop(handler: BaseHTTPRequestHandler) -> None:
    respond(302, b"", {"Location": "/loop"})(handler)


HOSTILE = {
    "html_page": (html_page, health.NOT_A_FEED, "web page, not a feed"),
    "empty": (respond(200, b"", {"Content-Type": "application/rss+xml"}), health.EMPTY, "empty"),
    "gzip_bomb": (gzip_bomb, health.TOO_LARGE, "larger than"),
    "dripping": (dripping, health.DEADLINE, "took longer than"),
    "redirect_loop": (redirect_loop, health.REDIRECTS, "redirects too many times"),
    "404": (respond(404, b"no"), health.HTTP_STATUS, "404 Not Found"),
    "410": (respond(410, b"gone"), health.HTTP_STATUS, "410 Gone"),
    "429": (respond(429, b"slow down", {"Retry-After": "7200"}), health.HTTP_STATUS, "429"),
    "500": (respond(500, b"oops"), health.HTTP_STATUS, "server had an error (500)"),
    "garbage": (respond(200, b"\x89PNG\r\n\x1a\n not xml"), health.UNREADABLE, "could not be read"),
}


@pytest.mark.usefixtures("allow_loopback")
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_answer_keeps_last_good_items_and_explains(
    engine: Engine, session: Session, server: FeedServer, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    monkeypatch.setenv("HUB_FETCH_MAX_BYTES", str(1024 * 1024))
    server.routes["/feed"] = feed(GOOD)
    server.routes["/other"] = feed(GOOD)
    bad = add_source(session, server.url("/feed"))
    other = add_source(session, server.url("/other"), name="Other")
    poll(engine, bad, other)  # the good poll keeps the roomy deadline: a busy machine is slow
    assert len(items_of(engine, bad)) == 2
    monkeypatch.setenv("HUB_FETCH_DEADLINE_SECONDS", "2")  # for the drip-feed cases

    route, problem, words = HOSTILE[case]
    server.routes["/feed"] = route
    server.routes["/loop"] = redirect_loop
    summaries = poll(engine, bad, other)

    state = state_of(engine, bad)
    assert state.outcome is Outcome.ERROR and state.problem == problem
    assert state.consecutive_failures == 1
    assert words in summaries[bad].message  # type: ignore[attr-defined]
    assert len(items_of(engine, bad)) == 2  # the last good items stay
    assert all(i.status is ItemStatus.PUBLISHED for i in items_of(engine, bad))
    assert (
        state_of(engine, other).outcome is Outcome.NOT_MODIFIED
        or state_of(engine, other).outcome is Outcome.OK
    )  # the neighbour is not disturbed
    staff = make_principal(session, role=Role.STAFF)
    row = next(r for r in source_health(session=session, actor=staff) if r.id == bad)
    assert row.message and words in row.message
    if case == "429":
        assert state.next_poll_at is not None
        assert state.next_poll_at >= utcnow() + timedelta(minutes=110)  # Retry-After honoured


@pytest.mark.usefixtures("allow_loopback")
def test_failures_back_off_and_never_stop(
    engine: Engine, session: Session, server: FeedServer
) -> None:
    server.routes["/feed"] = respond(500, b"")
    source_id = add_source(session, server.url("/feed"))
    waits = []
    for _ in range(4):
        poll(engine, source_id)
        state = state_of(engine, source_id)
        assert state.next_poll_at is not None and state.last_attempt_at is not None
        waits.append(state.next_poll_at - state.last_attempt_at)
    assert waits == sorted(waits) and waits[-1] > waits[0]
    assert state_of(engine, source_id).consecutive_failures == 4
    with Session(engine) as fresh:
        assert fresh.get(FeedSource, source_id).enabled  # type: ignore[union-attr]


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254"])
def test_private_addresses_are_refused_without_the_allow_setting(
    engine: Engine, session: Session, server: FeedServer, address: str
) -> None:
    server.routes["/feed"] = feed(GOOD)
    url = server.url("/feed").replace("127.0.0.1", address)
    source_id = add_source(session, url)
    poll(engine, source_id)
    state = state_of(engine, source_id)
    assert state.problem == health.BLOCKED_ADDRESS
    assert address in health.describe(state.problem, state.problem_detail)
    assert server.requests == []  # refused before connecting
    assert items_of(engine, source_id) == []


def test_redirect_to_a_private_address_is_refused_on_that_hop(
    engine: Engine, session: Session, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "localhost" is allowed, its redirect target 169.254.169.254 is not.
    monkeypatch.setenv("HUB_FETCH_ALLOW_HOSTS", "localhost")
    server.routes["/feed"] = respond(
        302, b"", {"Location": "http://169.254.169.254/latest/meta-data"}
    )
    source_id = add_source(session, f"http://localhost:{server.port}/feed")
    poll(engine, source_id)
    assert state_of(engine, source_id).problem == health.BLOCKED_ADDRESS


@pytest.mark.usefixtures("allow_loopback")
def test_redirect_to_file_url_is_refused(
    engine: Engine, session: Session, server: FeedServer
) -> None:
    server.routes["/feed"] = respond(302, b"", {"Location": "file:///etc/passwd"})
    source_id = add_source(session, server.url("/feed"))
    poll(engine, source_id)
    state = state_of(engine, source_id)
    assert state.problem == health.BAD_SCHEME
    assert "http://" in health.describe(state.problem, state.problem_detail)


@pytest.mark.usefixtures("allow_loopback")
def test_conditional_get_costs_a_304(engine: Engine, session: Session, server: FeedServer) -> None:
    server.routes["/feed"] = feed(GOOD, etag='"v1"')
    source_id = add_source(session, server.url("/feed"))
    first = poll(engine, source_id)[source_id]
    second = poll(engine, source_id)[source_id]
    assert first.new == 2  # type: ignore[attr-defined]
    assert second.outcome is Outcome.NOT_MODIFIED  # type: ignore[attr-defined]
    assert server.requests[-1][1].get("if-none-match") == '"v1"'
    assert len(items_of(engine, source_id)) == 2


@pytest.mark.usefixtures("allow_loopback")
def test_permanent_redirects_within_the_limit_are_followed_and_noted(
    engine: Engine, session: Session, server: FeedServer
) -> None:
    for hop in range(4):
        server.routes[f"/r{hop}"] = respond(301, b"", {"Location": f"/r{hop + 1}"})
    server.routes["/r4"] = feed(GOOD)
    source_id = add_source(session, server.url("/r0"))
    poll(engine, source_id)
    state = state_of(engine, source_id)
    assert state.outcome is Outcome.OK and state.moved_to.endswith("/r4")
    assert len(items_of(engine, source_id)) == 2


@pytest.mark.usefixtures("allow_loopback")
def test_malformed_truncated_xml_keeps_what_parsed(
    engine: Engine, session: Session, server: FeedServer
) -> None:
    truncated = GOOD[: GOOD.index(b"</item>") + 7] + b"<item><title>Cut off"
    server.routes["/feed"] = feed(truncated)
    source_id = add_source(session, server.url("/feed"))
    poll(engine, source_id)
    state = state_of(engine, source_id)
    assert state.outcome is Outcome.WARNING and state.problem == health.PARTIAL
    assert items_of(engine, source_id)[0].title.startswith("Linha SNS 24")
    assert "not well-formed" in health.describe(state.problem, state.problem_detail)


@pytest.mark.usefixtures("allow_loopback")
@pytest.mark.parametrize(
    "body",
    [
        # latin-1 bytes labelled utf-8
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
        "<item><title>Vacinação começa já</title><guid>e1</guid></item></channel></rss>".encode(
            "latin-1"
        ),
        # no declaration at all, windows-1252 bytes
        '<rss version="2.0"><channel><title>x</title><item><title>Informação útil'
        "</title><guid>e2</guid></item></channel></rss>".encode("cp1252"),
    ],
)
def test_wrong_or_missing_encoding_still_reads_the_items(
    engine: Engine, session: Session, server: FeedServer, body: bytes
) -> None:
    server.routes["/feed"] = respond(200, body, {"Content-Type": "application/rss+xml"})
    source_id = add_source(session, server.url("/feed"))
    poll(engine, source_id)
    stored = items_of(engine, source_id)
    assert len(stored) == 1 and stored[0].title


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rss version="2.0"><channel><title>b</title><item><title>Bomb &lol4;</title><guid>b1</guid>
</item></channel></rss>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>x</title><item><title>Leak &xxe;</title><guid>x1</guid>
<description>&xxe;</description></item></channel></rss>"""


@pytest.mark.usefixtures("allow_loopback")
@pytest.mark.parametrize("body", [BOMB, XXE], ids=["entity_expansion", "external_entity"])
def test_entities_are_never_expanded(
    engine: Engine, session: Session, server: FeedServer, body: bytes
) -> None:
    server.routes["/feed"] = respond(200, body, {"Content-Type": "application/rss+xml"})
    source_id = add_source(session, server.url("/feed"))
    poll(engine, source_id)
    for stored in items_of(engine, source_id):
        assert "lollollol" not in stored.title
        assert "root:" not in stored.title + stored.summary_html
    assert state_of(engine, source_id).outcome is not None


@pytest.mark.usefixtures("allow_loopback")
def test_dangerous_links_guids_and_dates(
    engine: Engine, session: Session, server: FeedServer
) -> None:
    body = rss(
        item(
            "Javascript link item here",
            guid="j",
            link="javascript:alert(1)",
            extra="<description><![CDATA[<a href='data:text/html,x'>d</a>"
            "<img src='file:///etc/passwd'><a href='/ok'>ok</a>"
            "<script>alert(1)</script><p onclick='x()'>p</p>]]></description>",
        ),
        item("Repeated guid one", guid="same", link="https://example.pt/1"),
        item("Repeated guid two", guid="same", link="https://example.pt/2"),
        item("No guid at all", link="https://example.pt/3"),
        item("No guid and no link either"),
        item("Far future date", guid="f", extra="<pubDate>Tue, 01 Jan 2099 00:00:00 GMT</pubDate>"),
    )
    server.routes["/feed"] = feed(body)
    source_id = add_source(session, server.url("/feed"))
    poll(engine, source_id)
    poll(engine, source_id)  # idempotent: no duplicates on a second pass
    stored = {i.title: i for i in items_of(engine, source_id)}
    assert len(stored) == 6
    danger = stored["Javascript link item here"]
    assert danger.link == ""
    for bad in ("javascript:", "data:", "file:", "<script", "onclick"):
        assert bad not in danger.summary_html
    assert f'href="{server.url("/ok")}"' in danger.summary_html
    assert stored["No guid and no link either"].published_at is None
    future = stored["Far future date"]
    assert future.published_at is not None and future.published_at <= utcnow()
    stories = list_public_stories(session=session)
    assert len(stories) == 6


@pytest.mark.usefixtures("allow_loopback")
def test_an_all_304_refresh_reuses_connections(
    engine: Engine, session: Session, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_FETCH_CONCURRENCY", "3")
    monkeypatch.setenv("HUB_FETCH_PER_HOST", "3")
    ids = []
    for n in range(12):
        server.routes[f"/f{n}"] = feed(GOOD, etag=f'"e{n}"')
        ids.append(add_source(session, server.url(f"/f{n}"), name=f"Feed {n}"))
    poll(engine, *ids)
    before = len(server.client_ports)
    second = poll(engine, *ids)
    assert {s.outcome for s in second.values()} == {Outcome.NOT_MODIFIED}  # type: ignore[attr-defined]
    # A 304 read to its end leaves its connection in the pool: at most one new
    # connection per concurrent fetch, not one per feed.
    assert len(set(server.client_ports[before:])) <= 3


@pytest.mark.usefixtures("allow_loopback")
def test_a_large_refresh_parses_in_processes_and_writes_in_batches(
    engine: Engine, session: Session, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feeds.worker

    monkeypatch.setattr(feeds.worker, "PARSE_PROCESSES_FROM", 5)
    ids = []
    for n in range(8):
        body = rss(item(f"Notícia {n} sobre as medidas em vigor", guid=f"g{n}"), title=f"F{n}")
        server.routes[f"/f{n}"] = feed(body)
        ids.append(add_source(session, server.url(f"/f{n}"), name=f"Feed {n}"))
    taken = ids[3]
    assert acquire_lease(engine=engine, source_id=taken, owner="other-process", seconds=300)
    summaries = poll(engine, *ids)
    assert summaries[taken].skipped  # type: ignore[attr-defined]
    assert items_of(engine, taken) == []
    for source_id in set(ids) - {taken}:
        assert summaries[source_id].new == 1  # type: ignore[attr-defined]
        state = state_of(engine, source_id)
        assert state.outcome is Outcome.OK and state.lease_owner == ""
    assert state_of(engine, taken).lease_owner == "other-process"


@pytest.mark.usefixtures("allow_loopback")
def test_one_source_failing_to_store_does_not_lose_the_others(
    engine: Engine, session: Session, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feeds.worker

    ids = []
    for n in range(4):
        server.routes[f"/f{n}"] = feed(rss(item(f"Aviso {n}", guid=f"g{n}")))
        ids.append(add_source(session, server.url(f"/f{n}"), name=f"Feed {n}"))
    broken = ids[1]
    real_ingest = feeds.worker.ingest_entries

    def ingest(**kwargs):  # type: ignore[no-untyped-def]
        if kwargs["source"].id == broken:
            raise RuntimeError("disk full")
        return real_ingest(**kwargs)

    # A fault injected into the real store path: the batch it shares with other
    # sources is written again one source at a time.
    monkeypatch.setattr(feeds.worker, "ingest_entries", ingest)
    summaries = poll(engine, *ids)
    assert summaries[broken].outcome is Outcome.ERROR  # type: ignore[attr-defined]
    assert state_of(engine, broken).lease_owner == ""
    for source_id in set(ids) - {broken}:
        assert len(items_of(engine, source_id)) == 1


@pytest.mark.usefixtures("allow_loopback")
def test_reading_a_feed_has_a_deadline_too(
    engine: Engine, session: Session, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.routes["/feed"] = feed(GOOD)
    source_id = add_source(session, server.url("/feed"))
    poll(engine, source_id)
    # Quick to send (3 MB over loopback), slow to read (about 3 s on a quiet machine):
    # 30,000 items, with a one-second deadline.
    huge = rss(*(item(f"Aviso número {n} à população", guid=f"h{n}") for n in range(30_000)))
    server.routes["/feed"] = feed(huge)
    monkeypatch.setenv("HUB_FETCH_DEADLINE_SECONDS", "1")
    summary = poll(engine, source_id)[source_id]
    state = state_of(engine, source_id)
    assert state.outcome is Outcome.ERROR and state.problem == health.TOO_SLOW
    assert "longer than 1 seconds" in summary.message  # type: ignore[attr-defined]
    assert len(items_of(engine, source_id)) == 2


def test_a_lease_keeps_a_second_scheduler_off_the_source(engine: Engine, session: Session) -> None:
    source_id = add_source(session, "https://example.pt/feed")
    assert acquire_lease(engine=engine, source_id=source_id, owner="other-process", seconds=300)
    # This process finds the source leased: it skips it and touches nothing.
    summaries = poll_sources(engine=engine, source_ids=[source_id], due_only=False)
    assert [s.skipped for s in summaries] == [True]
    assert state_of(engine, source_id).lease_owner == "other-process"
    assert not acquire_lease(engine=engine, source_id=source_id, owner=lease_owner(), seconds=300)


@pytest.mark.usefixtures("allow_loopback")
def test_description_only_items_are_stored_and_empty_ones_shown_as_skipped(
    engine: Engine, session: Session, server: FeedServer
) -> None:
    """Issue 13.9: an alert feed whose items carry only a description used to give
    "ok, 0 new"; the items arrive with a title from their text, once each, and entries
    with nothing to show are counted on the health page."""
    alert = "Aviso vermelho de agitação marítima na costa norte. Evite a orla costeira."
    body = rss(
        f'<item><guid isPermaLink="false">al-1</guid><description>{alert}</description></item>',
        "<item><description>Praias do Algarve reabrem amanhã</description></item>",
        '<item><guid isPermaLink="false">empty-1</guid></item>',
        "<item><description> </description></item>",
    )
    server.routes["/alerts"] = feed(body)
    source_id = add_source(session, server.url("/alerts"), name="Alerts")
    poll(engine, source_id)
    poll(engine, source_id)  # the same document again: nothing is stored twice
    titles = [i.title for i in items_of(engine, source_id)]
    assert titles == [
        "Aviso vermelho de agitação marítima na costa norte.",
        "Praias do Algarve reabrem amanhã",
    ]
    state = state_of(engine, source_id)
    assert state.outcome is Outcome.WARNING and state.problem == health.SKIPPED
    staff = make_principal(session, role=Role.STAFF)
    [row] = source_health(session=session, actor=staff)
    assert row.message.startswith("Entries skipped because they have no title, link or text: 2.")
