"""Formula injection (issue 13, item 14): one guard, hub.tabular.safe_cell, for every CSV
and XLSX the hub writes; each writer is checked with the same hostile cells."""

from __future__ import annotations

import csv
import io

import pytest

from answers.directory import contacts_csv
from answers.models import ContactPublic
from connectivity.gaps import AreaInput, compute_gaps, targets_csv
from hub.tabular import safe_cell

HOSTILE = ['=1+HYPERLINK("http://x")', "@SUM(1)", "+1+1", "-1+1", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_starts_are_quoted(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["-12.5", "+351 213 000 000", "-1 000,5", "plain", "", "a=b"])
def test_plain_numbers_and_text_stay_intact(text: str) -> None:
    assert safe_cell(text) == text


def test_values_that_are_not_text_are_unchanged() -> None:
    assert safe_cell(-3) == -3 and safe_cell(None) is None and safe_cell(1.5) == 1.5


def cells(data: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(data)) for c in row]


@pytest.mark.parametrize("text", HOSTILE[:4])
def test_public_contacts_csv_quotes_formulas(text: str) -> None:
    contact = ContactPublic(
        id=1,
        name=text,
        phone="+351 213 000 000",
        tel="+351213000000",
        email="",
        web="",
        opening_hours="",
        languages="",
        audience="",
        area_code="PT-11",
        organisation="",
        last_verified=None,
        emergency=False,
        note=text,
    )
    written = cells(contacts_csv([contact]).decode("utf-8-sig"))
    assert "'" + text in written and text not in written
    assert "+351 213 000 000" in written  # a phone number is not a formula


@pytest.mark.parametrize("text", HOSTILE[:4])
def test_gap_targets_csv_quotes_formulas(text: str) -> None:
    gaps = compute_gaps([AreaInput(code=text, name=text, level="district")], [])
    written = cells(targets_csv(gaps))
    assert written.count("'" + text) == 2 and text not in written
