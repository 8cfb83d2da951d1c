"""Parsing and sanitizing feed documents (inline XML; no network, no database)."""

from __future__ import annotations

from feeds import parse
from feeds.parse import parse_feed
from feeds.sanitize import clean_html, clean_text, safe_url, strip_control_bytes

URL = "https://www.dgs.pt/feed.xml"


def rss(items: str) -> bytes:
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    return f"{head}{items}</channel></rss>".encode()


def test_rss_atom_and_json_feed_give_the_same_shape() -> None:
    from_rss = parse_feed(
        rss("<item><title>A</title><link>/a</link><guid>g1</guid></item>"), url=URL
    )
    from_atom = parse_feed(
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title>A</title>'
        b'<id>g1</id><link href="https://www.dgs.pt/a"/></entry></feed>',
        url=URL,
    )
    from_json = parse_feed(
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": '
        b'[{"id": "g1", "url": "/a", "title": "A", "content_text": "x"}]}',
        url=URL,
    )
    for parsed in (from_rss, from_atom, from_json):
        assert parsed.problem == ""
        [entry] = parsed.entries
        assert (entry.title, entry.link, entry.guid) == ("A", "https://www.dgs.pt/a", "g1")
    assert from_rss.entries[0].key == from_atom.entries[0].key == from_json.entries[0].key


def test_identity_prefers_raw_guid_then_link_then_content() -> None:
    parsed = parse_feed(
        rss(
            "<item><title>A</title><guid>relative/1</guid></item>"
            "<item><title>B</title><link>https://x.pt/b</link></item>"
            "<item><title>C</title><description>c</description></item>"
        ),
        url=URL,
    )
    assert parsed.entries[0].guid == "relative/1"  # not resolved against the feed URL
    assert len({e.key for e in parsed.entries}) == 3


def test_repeats_inside_one_document_are_told_apart_stably() -> None:
    body = rss(
        "<item><title>A</title><guid>same</guid><link>https://x.pt/1</link></item>"
        "<item><title>B</title><guid>same</guid><link>https://x.pt/2</link></item>"
        "<item><title>C</title><guid>same</guid><link>https://x.pt/2</link></item>"
    )
    first = [e.key for e in parse_feed(body, url=URL).entries]
    again = [e.key for e in parse_feed(body, url=URL).entries]
    assert len(set(first)) == 3 and first == again


def test_html_page_empty_body_and_garbage_are_reported() -> None:
    assert parse_feed(b"<html><body>Login</body></html>", url=URL).problem == parse.NOT_A_FEED
    assert parse_feed(b"   ", url=URL).problem == parse.EMPTY
    assert parse_feed(b"\x00\x01garbage", url=URL).failed
    assert parse_feed(b'{"hello": 1}', url=URL).problem == parse.NOT_A_FEED


def test_truncated_document_keeps_complete_entries() -> None:
    body = rss("<item><title>Kept</title><guid>1</guid></item>")[:-20] + b"<item><title>Cu"
    parsed = parse_feed(body, url=URL)
    assert parsed.problem == parse.PARTIAL
    assert parsed.entries[0].title == "Kept"


def test_control_characters_are_stripped() -> None:
    parsed = parse_feed(rss("<item><title>Al\x00er\x0bta</title><guid>1</guid></item>"), url=URL)
    assert parsed.entries[0].title == "Alerta"
    assert strip_control_bytes("ção\x01".encode()) == "ção".encode()
    utf16 = "<rss/>".encode("utf-16")
    assert strip_control_bytes(utf16) == utf16


def test_sanitizer_allowlist() -> None:
    cleaned = clean_html(
        '<p style="x" onclick="a()">Hi <b>there</b></p><script>alert(1)</script>'
        '<style>p{}</style><iframe src="https://evil.example"></iframe><form><input></form>'
        '<a href="javascript:alert(1)">j</a><a href="/rel">r</a>'
        '<img src="data:image/png;base64,AA">'
        '<img src="//cdn.example.pt/i.png" onerror="x">',
        base=URL,
    )
    for banned in (
        "script",
        "style",
        "iframe",
        "form",
        "input",
        "onclick",
        "onerror",
        "javascript:",
        "data:",
    ):
        assert banned not in cleaned
    assert '<a href="https://www.dgs.pt/rel"' in cleaned
    assert 'src="https://cdn.example.pt/i.png"' in cleaned
    assert "<b>there</b>" in cleaned


def test_urls_must_be_http_or_https() -> None:
    for bad in (
        "javascript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "ftp://x.pt/f",
        " JaVaScRiPt:alert(1)",
        "vbscript:x",
    ):
        assert safe_url(bad) == "", bad
    assert safe_url("/a b", base=URL) == "https://www.dgs.pt/a%20b"
    assert clean_text("<b>A</b> &amp; B\n  C") == "A & B C"


def test_dates_missing_and_future_are_kept_as_claimed_for_the_store_to_clamp() -> None:
    parsed = parse_feed(
        rss(
            "<item><title>Old</title><guid>1</guid>"
            "<pubDate>Mon, 16 Mar 2020 10:00:00 +0100</pubDate></item>"
            "<item><title>None</title><guid>2</guid></item>"
            "<item><title>Bad</title><guid>3</guid><pubDate>not a date</pubDate></item>"
        ),
        url=URL,
    )
    old, none, bad = parsed.entries
    assert old.published_at is not None and old.published_at.hour == 9  # converted to UTC
    assert none.published_at is None and bad.published_at is None


def test_enclosures_and_images_are_scheme_checked() -> None:
    parsed = parse_feed(
        rss(
            "<item><title>E</title><guid>1</guid>"
            '<enclosure url="https://x.pt/a.jpg" type="image/jpeg" length="1"/>'
            "</item>"
            "<item><title>F</title><guid>2</guid>"
            '<enclosure url="javascript:alert(1)" type="image/jpeg" length="1"/></item>'
        ),
        url=URL,
    )
    good, bad = parsed.entries
    assert good.image_url == "https://x.pt/a.jpg" and good.enclosures[0]["url"] == good.image_url
    assert bad.enclosures == [] and bad.image_url == ""


def test_topic_rules_count_words_and_phrases_in_either_language() -> None:
    from feeds.topics import Topic, classify, compile_rules

    rules = compile_rules(
        [
            Topic("measures", {}, ("estado de emergencia", "decreto")),
            Topic("health", {}, ("saude", "covid-19", "vacina")),
            Topic("education", {}, ("escola",)),
        ]
    )
    # Accents and case fold away; a phrase counts as one hit.
    assert classify("Estado de Emergência: novo DECRETO", topics=rules) == "measures"
    assert classify("Vacina contra a COVID-19 e saúde", topics=rules) == "health"
    # Markup and link addresses are not read.
    assert classify('<a href="/escola/escola">Vacina</a>', topics=rules) == "health"
    # A tie goes to the topic listed first; no hit gives the fallback.
    assert classify("decreto sobre a vacina", topics=rules) == "measures"
    assert classify("nada a ver", topics=rules, fallback="other") == "other"
    # "covid" alone is not the phrase "covid-19".
    assert classify("covid", topics=rules, fallback="none") == "none"


# --- issue 13.9: items with only a description ------------------------------------------

ALERT = (
    "Aviso amarelo de tempo quente para Lisboa entre as 12h e as 18h. "
    "Evite a exposição ao sol e beba água com frequência."
)


def test_description_only_items_are_kept_with_a_title_from_their_text() -> None:
    """RSS 2.0: an item needs a title OR a description; these used to disappear."""
    long_text = "Informação " + "muito " * 30 + "longa sem ponto final"
    parsed = parse_feed(
        rss(
            f'<item><guid isPermaLink="false">al-1</guid><description>{ALERT}</description></item>'
            f"<item><description>&lt;p&gt;{long_text}&lt;/p&gt;</description></item>"
            "<item><description>Curto</description></item>"
        ),
        url=URL,
    )
    assert parsed.problem == "" and parsed.skipped == 0
    first, second, third = parsed.entries
    assert first.title == "Aviso amarelo de tempo quente para Lisboa entre as 12h e as 18h."
    assert first.guid == "al-1" and "Evite a exposição" in first.summary_html
    assert second.title.endswith("…") and len(second.title) <= parse.TITLE_FROM_TEXT_MAX
    assert second.title.startswith("Informação muito muito") and "<" not in second.title
    assert third.title == "Curto"


def test_description_only_identity_is_the_guid_else_a_hash_of_the_text() -> None:
    def keys(items: str) -> list[str]:
        return [e.key for e in parse_feed(rss(items), url=URL).entries]

    with_guid = f'<item><guid isPermaLink="false">al-1</guid><description>{ALERT}</description>'
    without = f"<item><description>{ALERT}</description></item>"
    assert keys(with_guid + "</item>") == keys(
        with_guid.replace(ALERT, ALERT + " Atualizado.") + "</item>"
    )
    assert keys(without) == keys(without)
    assert keys(without) != keys(without.replace("Lisboa", "Porto"))


def test_entries_with_nothing_to_show_are_counted_as_skipped() -> None:
    parsed = parse_feed(
        rss(
            "<item><title>Kept</title></item>"
            '<item><guid isPermaLink="false">x</guid></item>'
            "<item><description>  </description></item>"
        ),
        url=URL,
    )
    assert [e.title for e in parsed.entries] == ["Kept"]
    assert parsed.skipped == 2 and parsed.problem == parse.SKIPPED and parsed.detail == "2"
    assert not parsed.failed
