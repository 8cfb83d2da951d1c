"""The import report names every problem of every row (issue 15), not only the first."""

from __future__ import annotations

import csv
import io

from sqlmodel import Session

from hub.i18n import set_language
from initiatives.exchange import import_initiatives
from tests.factories import World
from tests.unit.test_exchange import count, csv_file, good_row


def test_a_row_with_five_bad_fields_reports_all_five(session: Session, world: World) -> None:
    bad = good_row(
        2,
        channels="carrier pigeon",
        category="astrology",
        target_groups="students_teachers;martians",
        areas="Narnia;PT-11;PT-99",
        link="javascript:alert(1)",
        contact_email="not-an-address",
        start_date="2020-05-01",
        end_date="2020-04-01",
    )
    report = import_initiatives(
        session=session, actor=world.staff, data=csv_file([good_row(1), bad])
    )
    assert not report.written and count(session) == 0
    found = [(p.row, p.column, p.value) for p in report.problems]
    assert found == [
        (3, "channels", "carrier pigeon"),
        (3, "category", "astrology"),
        (3, "target_groups", "martians"),
        (3, "areas", "Narnia"),
        (3, "areas", "PT-99"),
        (3, "end_date", "2020-04-01"),
        (3, "link", "javascript:alert(1)"),
        (3, "contact_email", "not-an-address"),
    ], report.lines()
    messages = {p.value: p.message for p in report.problems}
    assert "not in the list" in messages["martians"]
    assert "'PT-99' is not a known" in messages["PT-99"]
    assert report.bad_rows == [3]


def test_the_report_is_in_the_users_language(session: Session, world: World) -> None:
    set_language("pt")
    try:
        report = import_initiatives(
            session=session,
            actor=world.staff,
            data=csv_file([good_row(1, areas="Narnia", channels="pombo")]),
        )
        rows = report.problem_rows()
    finally:
        set_language("en")
    assert [list(r) for r in rows] == [["Linha", "Coluna", "Valor", "Problema"]] * 2
    assert "não é um canal" in str(rows[0]["Problema"]), rows
    assert "Narnia" in str(rows[1]["Problema"]) and "Áreas" in str(rows[1]["Problema"]), rows


def test_refused_organisation_does_not_hide_the_other_fields(
    session: Session, world: World
) -> None:
    row = good_row(1, organisation="Nobody Ltd", title="  ", people_targeted="-5")
    report = import_initiatives(session=session, actor=world.staff, data=csv_file([row]))
    columns = [p.column for p in report.problems]
    assert columns == ["organisation", "title", "people_targeted"], report.lines()


def test_the_report_downloads_as_csv_with_formulas_quoted(session: Session, world: World) -> None:
    row = good_row(1, channels='=HYPERLINK("http://x")', areas="Narnia")
    report = import_initiatives(session=session, actor=world.staff, data=csv_file([row]))
    data = report.problems_csv()
    assert data.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == ["Row", "Column", "Value", "Problem"]
    assert [r[:3] for r in table[1:]] == [
        ["2", "channels", '\'=HYPERLINK("http://x")'],
        ["2", "areas", "Narnia"],
    ]
