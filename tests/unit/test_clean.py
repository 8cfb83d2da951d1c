"""Control characters never reach a stored field (issue 13, item 5)."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import BaseModel, Field

from hub.clean import CleanInput, strip_controls


class Nested(BaseModel):
    name: str = ""


class Draft(CleanInput):
    MULTILINE_FIELDS: ClassVar[frozenset[str]] = frozenset({"description"})

    title: str = ""
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    people: list[Nested] = Field(default_factory=list)
    count: int | None = None


@pytest.mark.parametrize(
    ("raw", "single", "multi"),
    [
        ("Apoio\x01 a idosos", "Apoio a idosos", "Apoio a idosos"),
        ("nul\x00byte", "nulbyte", "nulbyte"),
        ("two\nlines\r\nhere\rend", "two lines here end", "two\nlines\nhere\nend"),
        ("tab\there", "tab here", "tab\there"),
        ("del\x7f and c1\x85\x9f", "del and c1", "del and c1"),
        ("lone \ud800 surrogate", "lone  surrogate", "lone  surrogate"),
        ("not\ufffe xml\uffff", "not xml", "not xml"),
        ("Saúde — 24 h, ação", "Saúde — 24 h, ação", "Saúde — 24 h, ação"),
    ],
)
def test_strip_controls(raw: str, single: str, multi: str) -> None:
    assert strip_controls(raw) == single
    assert strip_controls(raw, multiline=True) == multi


def test_every_text_field_of_an_input_model_is_cleaned() -> None:
    draft = Draft(
        title="Title\x01\nsecond line",
        description="First\x00 paragraph.\r\n\r\nSecond.",
        tags=["a\x02b", "c"],
        people=[{"name": "Ana\x1b[31m"}],  # type: ignore[list-item]
        count=3,
    )
    assert draft.title == "Title second line"
    assert draft.description == "First paragraph.\n\nSecond."
    assert draft.tags == ["ab", "c"]
    assert draft.people[0].name == "Ana[31m"
    assert draft.count == 3


def test_model_copy_with_update_is_not_a_way_around() -> None:
    # model_copy(update=...) skips validation; services re-validate with
    # model_validate, which cleans.
    draft = Draft(title="ok")
    dirty = draft.model_copy(update={"title": "x\x01"})
    assert Draft.model_validate(dirty.model_dump()).title == "x"
