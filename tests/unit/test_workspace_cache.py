"""The workspace's data version (ui.datacache, issue 21): the staff pages cache their
figures per version, so every write that changes a figure must move it, and nothing
else may (or every rerun would miss the cache)."""

from __future__ import annotations

from sqlmodel import Session

from initiatives.overlap import decide_pair
from initiatives.service import draft_of, update_initiative
from tests.factories import World, make_initiative
from ui.datacache import data_version


def test_the_version_moves_with_each_write_and_only_then(session: Session, world: World) -> None:
    empty = data_version(session=session)
    assert data_version(session=session) == empty  # stable while nothing is written

    first = make_initiative(session, world.own, publish=True, title="Dados móveis")
    second = make_initiative(session, world.other, publish=True, title="Tablets para escolas")
    published = data_version(session=session)
    assert published != empty
    assert data_version(session=session) == published

    draft = draft_of(session=session, initiative=first)
    draft.title = "Dados móveis grátis"
    update_initiative(
        session=session,
        actor=world.staff,
        initiative_id=first.id or 0,
        draft=draft,
        expected_version=first.version,
    )
    edited = data_version(session=session)
    assert edited != published  # same number of rows, a later updated_at

    decide_pair(
        session=session,
        actor=world.staff,
        initiative_a_id=first.id or 0,
        initiative_b_id=second.id or 0,
        decision="unrelated",
    )
    assert data_version(session=session) != edited  # a decided pair leaves the list
