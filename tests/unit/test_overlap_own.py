"""The partner's own earlier initiative with nearly the same title (issue 15): flagged as
"your own earlier initiative: a renewal or an update?" whatever its dates, at the
default settings, only among the drafting organisation's own records, best three."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session

from hub.auth import Role
from hub.errors import PermissionDenied
from initiatives.overlap import (
    OWN_TITLE_SIMILARITY,
    forget_indexes,
    own_earlier_initiatives,
    title_key,
    title_similarity,
)
from initiatives.service import withdraw_initiative
from tests.factories import World, initiative_draft, make_initiative, make_principal

TITLE = "Teleconsultas para pessoas idosas em Lisboa"
BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "data"


@pytest.fixture(autouse=True)
def fresh_index() -> None:
    forget_indexes()


def test_the_issues_case_flags_the_own_earlier_record_and_nothing_else(
    session: Session, world: World
) -> None:
    earlier = make_initiative(
        session,
        world.own,
        publish=True,
        title=TITLE,
        category="health",
        planned_start=date(2020, 4, 1),
        planned_end=date(2020, 8, 31),
    )
    make_initiative(  # another organisation's near-identical title, other dates
        session,
        world.other,
        publish=True,
        title=TITLE + " 2021",
        category="health",
        planned_start=date(2021, 1, 1),
        planned_end=date(2021, 6, 30),
    )
    make_initiative(session, world.own, publish=True, title="Cartões SIM para escolas do Porto")
    draft = initiative_draft(
        world.own,
        title="Teleconsultas para pessoas idosas em Lisboa (2.ª edição, 2021)",
        category="health",
        planned_start=date(2021, 1, 15),
        planned_end=date(2021, 6, 30),
    )

    found = own_earlier_initiatives(session=session, actor=world.partner, draft=draft)

    assert [f.initiative_id for f in found] == [earlier.id]
    assert found[0].similarity == 1.0  # numbers and edition words do not count
    assert "title 100 % alike" in found[0].explanation
    assert "2020" in found[0].explanation and "2021" in found[0].explanation
    assert "status: Published" in found[0].explanation


def test_only_the_drafting_organisations_records_are_read(session: Session, world: World) -> None:
    theirs = make_initiative(session, world.other, title=TITLE)  # a draft: not public
    mine = make_initiative(session, world.own, title=TITLE)
    posing = initiative_draft(world.other, title=TITLE)  # a partner naming another lead
    found = own_earlier_initiatives(session=session, actor=world.partner, draft=posing)
    assert [f.initiative_id for f in found] == [mine.id]

    staff = make_principal(session, role=Role.STAFF)
    for_other = own_earlier_initiatives(session=session, actor=staff, draft=posing)
    assert [f.initiative_id for f in for_other] == [theirs.id]
    with pytest.raises(PermissionDenied):
        own_earlier_initiatives(session=session, actor=None, draft=posing)


def test_best_three_first_withdrawn_and_the_record_itself_left_out(
    session: Session, world: World
) -> None:
    exact = make_initiative(session, world.own, title=TITLE)
    near = [
        make_initiative(session, world.own, title=f"{TITLE} {suffix}")
        for suffix in ("e Oeiras", "e Loures", "e Sintra", "e Amadora")
    ]
    gone = make_initiative(session, world.own, title=TITLE)
    withdraw_initiative(
        session=session,
        actor=make_principal(session, role=Role.STAFF),
        initiative_id=gone.id or 0,
        expected_version=gone.version,
        reason="ended",
    )
    draft = initiative_draft(world.own, title=TITLE)

    found = own_earlier_initiatives(session=session, actor=world.partner, draft=draft)
    assert len(found) == 3 and found[0].initiative_id == exact.id
    assert [f.similarity for f in found] == sorted((f.similarity for f in found), reverse=True)
    assert gone.id not in {f.initiative_id for f in found}
    assert {f.initiative_id for f in found[1:]} <= {n.id for n in near}

    editing = own_earlier_initiatives(
        session=session, actor=world.partner, draft=draft, exclude_id=exact.id
    )
    assert exact.id not in {f.initiative_id for f in editing}


def test_titles_without_words_and_other_places_are_not_flagged(
    session: Session, world: World
) -> None:
    make_initiative(session, world.own, title=TITLE)
    numbers_only = initiative_draft(world.own, title="2021")
    assert own_earlier_initiatives(session=session, actor=world.partner, draft=numbers_only) == []
    porto = initiative_draft(world.own, title="Teleconsultas para pessoas idosas no Porto")
    assert title_similarity(TITLE, porto.title) < OWN_TITLE_SIMILARITY
    assert own_earlier_initiatives(session=session, actor=world.partner, draft=porto) == []


def test_title_key_folds_accents_case_punctuation_numbers_and_editions() -> None:
    assert title_key("Cabazes 2021 (2.ª Edição)") == "cabazes"
    assert title_key("SAÚDE, já!") == "saude ja"
    assert title_similarity("Saúde já", "saude ja") == 1.0


def test_the_threshold_separates_resubmissions_from_other_efforts_on_the_benchmark() -> None:
    """The evidence for OWN_TITLE_SIMILARITY (see its comment): the labelled benchmark's
    same-organisation pairs, a resubmission of one effort or another effort."""
    rows = {r["id"]: r for r in csv.DictReader((BENCHMARK / "overlap_labelled.csv").open())}
    same_effort, other_effort = [], []
    for pair in csv.DictReader((BENCHMARK / "overlap_pairs.csv").open()):
        a, b = rows[pair["id_a"]], rows[pair["id_b"]]
        if a["organisation"] != b["organisation"]:
            continue
        flagged = title_similarity(a["title"], b["title"]) >= OWN_TITLE_SIMILARITY
        (same_effort if pair["label"] == "1" else other_effort).append(flagged)
    assert len(same_effort) > 200 and len(other_effort) > 150
    assert sum(same_effort) / len(same_effort) >= 0.95
    assert sum(other_effort) / len(other_effort) <= 0.01
