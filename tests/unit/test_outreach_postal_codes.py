"""SMS ``INFO <postal code>`` (issue 19): the committed GeoNames table and an office's own
file, loaded by the CLI, answer for the right municipality."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from geo.models import PostalCode
from geo.postal_codes import (
    POSTAL_CODES_FILE,
    area_for_postal_code,
    load_postal_codes,
    parse_postal_code,
    read_postal_codes,
)
from hub.errors import InvalidInput
from initiatives.models import Channel
from outreach.sms import answer_sms
from tests.factories import World, make_initiative

PHONE = "+351912345678"
TODAY = date.today()


@pytest.fixture(autouse=True)
def outreach_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_OUTREACH_SECRET", "test-secret-for-sms")
    monkeypatch.setenv("HUB_SMS_PER_HOUR", "1000")


def test_postal_codes_are_read_in_the_forms_people_type() -> None:
    assert parse_postal_code("1000-001") == ("1000", "1000-001")
    assert parse_postal_code(" 1000 001 ") == ("1000", "1000-001")
    assert parse_postal_code("1000001") == ("1000", "1000-001")
    assert parse_postal_code("4700") == ("4700", None)
    assert parse_postal_code("Braga") is None and parse_postal_code("100-001") is None


def test_the_committed_file_covers_every_prefix_of_the_main_towns() -> None:
    codes = read_postal_codes(POSTAL_CODES_FILE)
    assert codes["1000"] == "1106"  # Lisboa
    assert codes["4000"] == "1312"  # Porto
    assert codes["4700"] == "0303"  # Braga
    assert codes["9000"] == "3103"  # Funchal
    assert codes["2750"] == "1105"  # Cascais (named after a parish in municipalities.csv)
    assert len([c for c in codes if len(c) == 4]) > 700


def test_info_with_a_postal_code_answers_for_its_municipality(
    session: Session, world: World
) -> None:
    assert load_postal_codes(session=session) > 700
    assert load_postal_codes(session=session) == 0  # on every start: loaded once
    make_initiative(
        session,
        world.own,
        publish=True,
        title="Mercearia solidária da Baixa",
        areas=["1106"],
        channels=[Channel.PHONE, Channel.IN_PERSON],
        planned_start=TODAY - timedelta(days=3),
        planned_end=TODAY + timedelta(days=30),
    )
    assert area_for_postal_code(session=session, text="1000-001") == "1106"
    reply = answer_sms(session=session, text="INFO 1000-001", sender=PHONE)
    assert reply.keyword == "info" and "Lisboa" in reply.text
    assert "Mercearia solidária da Baixa" in reply.text
    unknown = answer_sms(session=session, text="INFO 0999-999", sender=PHONE)
    assert "INFO" in unknown.text and "Lisboa" not in unknown.text
    english = answer_sms(session=session, text="info 4700-001", sender=PHONE)
    assert "Braga" in english.text


def test_an_offices_own_file_replaces_the_table_through_the_cli(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.db import make_engine
    from wiring import build_cli

    monkeypatch.setenv("HUB_DATABASE_URL", database_url)
    own = tmp_path / "ctt.csv"
    own.write_text(
        "postal_code,municipality_code\n4700,0303\n4700-123,0312\n1000-001,9999\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(build_cli(), ["postal-codes", "load", str(own)])
    assert result.exit_code == 0, result.output
    assert "2 postal codes loaded" in result.output  # 9999 is no known area
    engine = make_engine(database_url)
    with Session(engine) as session:
        assert sorted(session.exec(select(PostalCode.code)).all()) == ["4700", "4700-123"]
        assert area_for_postal_code(session=session, text="4700-123") == "0312"
        assert area_for_postal_code(session=session, text="4700-999") == "0303"
        assert area_for_postal_code(session=session, text="1000-001") is None
    engine.dispose()
    bad = tmp_path / "bad.csv"
    bad.write_text("postal_code,municipality_code\nLisboa,1106\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"bad\.csv, (line|linha) 2"):  # the CLI set pt
        read_postal_codes(bad)
