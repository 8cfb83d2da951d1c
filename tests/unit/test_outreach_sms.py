"""The SMS line: every keyword in both languages, within its segments, whole items."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from answers.directory import create_contact, create_measure
from answers.models import ContactDraft, MeasureDraft, Topic
from initiatives.models import Channel
from outreach.models import SmsConversation, SmsCount, Subscription, SubscriptionChannel
from outreach.sms import MAX_SEGMENTS, answer_sms, encoding_of, paginate, segment_count
from tests.factories import World, make_initiative

TODAY = date.today()
PHONE = "+351912345678"


@pytest.fixture(autouse=True)
def outreach_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_OUTREACH_SECRET", "test-secret-for-sms")
    monkeypatch.setenv("HUB_SMS_PER_HOUR", "1000")


def test_segments_are_counted_as_the_network_counts_them() -> None:
    assert segment_count("") == 0
    assert segment_count("a" * 160) == 1
    assert segment_count("a" * 161) == 2
    assert segment_count("a" * 306) == 2
    assert segment_count("a" * 307) == 3
    assert segment_count("€" * 80) == 1  # an extension character counts two
    assert segment_count("€" * 81) == 2
    assert encoding_of("Olá, é aqui") == "UCS-2"  # á is not in GSM 03.38
    assert encoding_of("Ligue para o SNS 24 é grátis") == "UCS-2"
    assert encoding_of("Ligue para o SNS 24, é gratis") == "GSM-7"  # é is
    assert segment_count("ç" * 70) == 1
    assert segment_count("ç" * 71) == 2
    assert segment_count("ç" * 134) == 2
    assert segment_count("ç" * 135) == 3
    assert segment_count("😀" * 35) == 1  # two UTF-16 units each


def test_pages_hold_whole_items_and_stay_within_three_segments() -> None:
    items = [f"Linha de apoio número {n}: 800 000 {n:03d}" for n in range(40)]
    pages = paginate("Linhas:", items, "Mais: envie MAIS")
    assert len(pages) > 1
    for page in pages:
        assert segment_count(page) <= MAX_SEGMENTS
    for page in pages[:-1]:
        assert page.endswith("Mais: envie MAIS")
    printed = [line for page in pages for line in page.split("\n")]
    assert [line for line in printed if line.startswith("Linha de")] == items


def test_one_item_too_long_for_a_reply_is_cut_at_a_word() -> None:
    pages = paginate("", ["palavra " * 200], "Mais: envie MAIS")
    assert len(pages) == 1 and segment_count(pages[0]) <= MAX_SEGMENTS
    assert pages[0].endswith("palavra...")


def directory(session: Session, world: World, lines: int = 2) -> None:
    for n in range(lines):
        create_contact(
            session=session,
            actor=world.staff,
            draft=ContactDraft(
                name=f"Linha de saúde {n}",
                phone=f"808 24 24 {n:02d}",
                published=True,
                position=n,
            ),
        )
    create_contact(
        session=session,
        actor=world.staff,
        draft=ContactDraft(
            name="Linha municipal de Lisboa", phone="800 910 112", area_code="1106", published=True
        ),
    )
    create_measure(
        session=session,
        actor=world.staff,
        draft=MeasureDraft(
            area=Topic.LABOUR,
            title="Apoio excecional à família",
            summary="Pais com filhos em casa.",
            documents=["Formulário GF88"],
            in_force_to=TODAY + timedelta(days=20),
            published=True,
        ),
    )
    make_initiative(
        session,
        world.own,
        publish=True,
        title="Compras ao domicílio para idosos",
        areas=["1106"],
        channels=[Channel.PHONE, Channel.IN_PERSON],
        planned_start=TODAY - timedelta(days=3),
        planned_end=TODAY + timedelta(days=30),
    )


@pytest.mark.parametrize(
    ("text", "keyword", "language", "expected"),
    [
        ("ajuda", "help", "pt", "LINHAS"),
        ("HELP", "help", "en", "LINES"),
        ("Linhas", "lines", "pt", "Linha de saúde 0: 808 24 24 00"),
        ("lines", "lines", "en", "Linha de saúde 1"),
        ("INFO Lisboa", "info", "pt", "Compras ao domicílio para idosos"),
        ("info lisboa", "info", "pt", "Linha municipal de Lisboa: 800 910 112"),
        ("MEDIDAS", "measures", "pt", "Formulário GF88"),
        ("measures", "measures", "en", "Apoio excecional à família"),
        ("info évora", "info", "pt", "Évora"),
        ("olá", "other", "pt", "AJUDA"),
    ],
)
def test_every_keyword_answers_within_its_segments(
    session: Session, world: World, text: str, keyword: str, language: str, expected: str
) -> None:
    directory(session, world)
    reply = answer_sms(session=session, text=text, sender=PHONE)
    assert reply.keyword == keyword
    assert reply.language == language
    assert expected in reply.text, reply.text
    assert 1 <= reply.segments <= MAX_SEGMENTS
    assert reply.encoding == encoding_of(reply.text)
    if reply.encoding == "UCS-2":
        assert len(reply.text.encode("utf-16-le")) // 2 <= 3 * 67


def test_accents_and_case_are_ignored_in_keywords_and_places(
    session: Session, world: World
) -> None:
    directory(session, world)
    assert answer_sms(session=session, text="  mÉdIdAs ", sender=PHONE).keyword == "measures"
    reply = answer_sms(session=session, text="INFO  SANTAREM", sender=PHONE)
    assert reply.keyword == "info" and "Santarém" in reply.text


def test_a_long_answer_continues_with_mais(session: Session, world: World) -> None:
    directory(session, world, lines=25)
    first = answer_sms(session=session, text="LINHAS", sender=PHONE)
    assert first.more and first.segments <= MAX_SEGMENTS
    seen = [line for line in first.text.split("\n") if line.startswith("Linha de saúde")]
    while True:
        page = answer_sms(session=session, text="mais", sender=PHONE)
        assert page.segments <= MAX_SEGMENTS
        seen += [line for line in page.text.split("\n") if line.startswith("Linha de saúde")]
        if not page.more:
            break
    assert seen == [f"Linha de saúde {n}: 808 24 24 {n:02d}" for n in range(25)]
    done = answer_sms(session=session, text="MAIS", sender=PHONE)
    assert "AJUDA" in done.text


def test_postal_codes_and_unknown_places_get_a_helpful_reply(
    session: Session, world: World
) -> None:
    assert "INFO" in answer_sms(session=session, text="INFO 1100-148", sender=PHONE).text
    reply = answer_sms(session=session, text="INFO Atlântida", sender=PHONE)
    assert "Atlântida" in reply.text and reply.segments <= MAX_SEGMENTS
    assert "INFO" in answer_sms(session=session, text="INFO", sender=PHONE).text


def test_seguir_subscribes_the_number_and_parar_deletes_it(session: Session, world: World) -> None:
    reply = answer_sms(session=session, text="SEGUIR Lisboa", sender=PHONE)
    assert reply.keyword == "follow" and "Lisboa" in reply.text
    subscription = session.exec(select(Subscription)).one()
    assert subscription.channel is SubscriptionChannel.SMS
    assert subscription.address == PHONE and subscription.area_code == "1106"
    english = answer_sms(session=session, text="follow Porto", sender=PHONE)
    assert english.language == "en" and "STOP" in english.text
    assert len(session.exec(select(Subscription)).all()) == 2
    stop = answer_sms(session=session, text="PARAR", sender=PHONE)
    assert stop.keyword == "stop" and "SMS" in stop.text
    assert session.exec(select(Subscription)).all() == []


def test_staff_counts_keep_no_text_and_no_sender(session: Session, world: World) -> None:
    directory(session, world, lines=25)
    answer_sms(session=session, text="INFO Lisboa", sender=PHONE)
    answer_sms(session=session, text="info lisboa", sender="+351911111111")
    answer_sms(session=session, text="LINHAS", sender=PHONE)
    counts = {(c.keyword, c.area_code): c.count for c in session.exec(select(SmsCount)).all()}
    assert counts == {("info", "1106"): 2, ("lines", ""): 1}
    conversation = session.exec(select(SmsConversation)).one()  # LINHAS has more pages
    assert PHONE not in conversation.sender_hash and len(conversation.sender_hash) == 64


def test_a_sender_over_the_rate_limit_gets_no_reply(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_SMS_PER_HOUR", "3")
    replies = [
        answer_sms(session=session, text="AJUDA", sender=PHONE, now=1000.0) for _ in range(4)
    ]
    assert [bool(r.text) for r in replies] == [True, True, True, False]
    assert answer_sms(session=session, text="AJUDA", sender="+351900000000", now=1000.0).text
