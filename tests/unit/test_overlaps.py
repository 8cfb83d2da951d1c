"""Overlap detection: scores and their explanations, area containment, staff decisions
that stick until a record changes materially, merge, joint links, the incremental
index, the partner's warning, and the batch CLI on bad files."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, select
from typer.testing import CliRunner

from geo.areas import load_reference_areas
from hub.audit import AuditEntry
from hub.auth import Principal, Role
from hub.errors import InvalidInput, NotFound, PermissionDenied
from hub.records import utcnow
from initiatives.exchange import export_initiatives
from initiatives.models import Initiative, InitiativeVersion, ReviewState
from initiatives.overlap import (
    coverage,
    decide_pair,
    find_overlaps,
    forget_indexes,
    note_overlap_response,
    overlap_groups,
    registry_index,
    similar_to_draft,
)
from initiatives.overlap_models import Decision, InitiativeLink, LinkKind, OverlapNote
from initiatives.queries import related_for_export
from initiatives.service import (
    approve,
    create_initiative,
    draft_of,
    report_progress,
    update_initiative,
)
from partners.models import Organisation
from tests.factories import World, initiative_draft, make_organisation, make_principal
from wiring import app

DATA_TITLE = "Dados móveis gratuitos para profissionais de saúde"
DATA_TEXT = (
    "Tráfego de dados móveis sem custo para médicos e enfermeiros do SNS durante o estado "
    "de emergência: 30 GB por mês, basta apresentar a cédula profissional."
)


@pytest.fixture(autouse=True)
def reference_areas(session: Session) -> None:
    load_reference_areas(session=session)
    forget_indexes()


def _create(
    session: Session, staff: Principal, organisation: Organisation, **overrides: Any
) -> Initiative:
    values: dict[str, Any] = {"title": DATA_TITLE, "description": DATA_TEXT}
    values.update(overrides)
    return create_initiative(
        session=session, actor=staff, draft=initiative_draft(organisation, **values), submit=True
    )


def _publish(session: Session, staff: Principal, initiative: Initiative) -> Initiative:
    return approve(
        session=session,
        actor=staff,
        initiative_id=initiative.id or 0,
        expected_version=initiative.version,
    )


def _pair(pairs: list[Any], a: Initiative, b: Initiative) -> Any:
    wanted = tuple(sorted((a.id or 0, b.id or 0)))
    return next((p for p in pairs if (p.initiative_a_id, p.initiative_b_id) == wanted), None)


@pytest.fixture
def sample(session: Session, world: World) -> dict[str, Any]:
    """Two similar initiatives of two operators and an unrelated one (a school's)."""
    staff, operator, other, unrelated = world.staff, world.own, world.joint, world.other
    first = _create(session, staff, operator)
    second = _create(
        session,
        staff,
        other,
        title="Internet móvel grátis para médicos e enfermeiros",
        description="Dados móveis gratuitos para profissionais de saúde do SNS: 30 GB por "
        "mês durante o estado de emergência, com a cédula profissional.",
        planned_start=date(2020, 4, 1),
    )
    far = _create(
        session,
        staff,
        unrelated,
        title="Aulas de música para crianças",
        description="Ensino de instrumentos ao fim de semana.",
        category="education",
        target_groups=["students_teachers"],
        areas=["PT-08"],
        planned_start=date(2022, 1, 1),
        planned_end=date(2022, 6, 1),
    )
    return {
        "staff": staff,
        "first": first,
        "second": second,
        "far": far,
        "org": operator,
        "second_org": other.name,
    }


def test_similar_initiatives_pair_up_with_a_plain_explanation(
    session: Session, sample: dict[str, Any]
) -> None:
    pairs = find_overlaps(session=session, actor=sample["staff"])
    pair = _pair(pairs, sample["first"], sample["second"])
    assert pair is not None and pair.score >= 0.5
    for phrase in (
        "same category",
        "same areas",
        "dates overlap",
        "same target group",
        "descriptions",
        "different organisations",
    ):
        assert phrase in pair.explanation, pair.explanation
    assert _pair(pairs, sample["first"], sample["far"]) is None
    assert overlap_groups(pairs) == [sorted([sample["first"].id, sample["second"].id])]
    assert [f for f, *_rest in pair.parts] == [
        "category",
        "where",
        "when",
        "for_whom",
        "title",
        "description",
        "text",
        "identifiers",
        "by_whom",
    ]


def test_a_national_initiative_overlaps_its_regional_copy(
    session: Session, sample: dict[str, Any]
) -> None:
    national = _create(session, sample["staff"], sample["org"], areas=["PT"], title="Dados móveis")
    pairs = find_overlaps(session=session, actor=sample["staff"], min_score=0.0)
    pair = _pair(pairs, national, sample["first"])
    assert pair is not None
    assert "a national initiative covers the other's areas" in pair.explanation
    district = _create(session, sample["staff"], sample["org"], areas=["PT-13", "1312"])
    municipality = _create(session, sample["staff"], sample["org"], areas=["1312"])
    pairs = find_overlaps(session=session, actor=sample["staff"], min_score=0.0)
    assert (
        "the areas of one lie within the other's"
        in _pair(pairs, district, municipality).explanation
    )


def test_only_staff_see_pairs_and_decide(session: Session, sample: dict[str, Any]) -> None:
    partner = make_principal(session, role=Role.PARTNER, organisation=sample["org"])
    with pytest.raises(PermissionDenied):
        find_overlaps(session=session, actor=partner)
    with pytest.raises(PermissionDenied):
        decide_pair(
            session=session,
            actor=partner,
            initiative_a_id=sample["first"].id,
            initiative_b_id=sample["second"].id,
            decision=Decision.UNRELATED,
        )
    with pytest.raises(InvalidInput, match="Reason"):
        decide_pair(
            session=session,
            actor=sample["staff"],
            initiative_a_id=sample["first"].id,
            initiative_b_id=sample["second"].id,
            decision=Decision.COMPLEMENTARY,
        )


def test_a_dismissed_pair_returns_only_after_a_material_change(
    session: Session, sample: dict[str, Any]
) -> None:
    staff, first, second = sample["staff"], sample["first"], sample["second"]
    decide_pair(
        session=session,
        actor=staff,
        initiative_a_id=second.id,
        initiative_b_id=first.id,
        decision=Decision.COMPLEMENTARY,
        reason="North and south networks",
    )
    assert _pair(find_overlaps(session=session, actor=staff), first, second) is None
    decided = find_overlaps(session=session, actor=staff, include_decided=True)
    assert _pair(decided, first, second).decision is Decision.COMPLEMENTARY
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "overlap_decision")).one()
    assert entry.actor_label == staff.label

    # Not material: people reached, status.
    current = session.get(Initiative, first.id)
    assert current is not None
    report_progress(
        session=session,
        actor=staff,
        initiative_id=first.id,
        expected_version=current.version,
        status=current.status,
        people_reached=500,
    )
    assert _pair(find_overlaps(session=session, actor=staff), first, second) is None

    # Material: the description changes.
    current = session.get(Initiative, first.id)
    assert current is not None
    edited = draft_of(session=session, initiative=current).model_copy(
        update={"description": DATA_TEXT + " Agora também para farmacêuticos."}
    )
    update_initiative(
        session=session,
        actor=staff,
        initiative_id=first.id,
        draft=edited,
        expected_version=current.version,
    )
    back = _pair(find_overlaps(session=session, actor=staff), first, second)
    assert back is not None and back.decision is Decision.COMPLEMENTARY


def test_duplicate_merges_keeping_history_and_audit(
    session: Session, sample: dict[str, Any]
) -> None:
    staff, first, second = sample["staff"], sample["first"], sample["second"]
    decide_pair(
        session=session,
        actor=staff,
        initiative_a_id=first.id,
        initiative_b_id=second.id,
        decision="duplicate",
        keep_id=second.id,
        reason="Same offer",
    )
    merged = session.get(Initiative, first.id, populate_existing=True)
    assert merged is not None and merged.review_state is ReviewState.WITHDRAWN
    assert second.code in merged.review_note
    versions = session.exec(
        select(InitiativeVersion).where(InitiativeVersion.initiative_id == first.id)
    ).all()
    assert [v.action for v in versions][-1] == "merge_withdraw" and len(versions) >= 2
    actions = {e.action for e in session.exec(select(AuditEntry)).all()}
    assert {"overlap_decision", "merge", "link_merged"} <= actions
    link = session.get(InitiativeLink, (second.id, first.id))
    assert link is not None and link.kind is LinkKind.MERGED
    assert _pair(find_overlaps(session=session, actor=staff, min_score=0.0), first, second) is None


def test_joint_effort_is_linked_and_exported_as_related_activity(
    session: Session, sample: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    staff, first, second = sample["staff"], sample["first"], sample["second"]
    decide_pair(
        session=session,
        actor=staff,
        initiative_a_id=first.id,
        initiative_b_id=second.id,
        decision=Decision.JOINT,
    )
    assert related_for_export(session=session) == {first.id: [second.code], second.id: [first.code]}
    monkeypatch.setenv("HUB_IATI_REPORTING_ORG_REF", "PT-NIPPC-600000000")
    xml = export_initiatives(session=session, actor=staff, format="iati", include_all=True).data
    assert b"related-activity" in xml and f"PT-NIPPC-600000000-{second.code}".encode() in xml


def test_index_follows_saves_and_other_writers_incrementally(
    session: Session, sample: dict[str, Any]
) -> None:
    staff = sample["staff"]
    index = registry_index(session=session)
    generation = index.generation
    new = _create(session, staff, sample["org"], title="Cartões SIM para idosos isolados")
    assert registry_index(session=session) is index  # same object: updated, not rebuilt
    assert str(new.id) in index.position and index.generation > generation
    # Another process writes straight to the database: the watermark notices.
    session.execute(
        update(Initiative)
        .where(Initiative.id == new.id)  # type: ignore[arg-type]
        .values(title="Telemóveis para idosos", updated_at=utcnow())
    )
    session.commit()
    before = index.fingerprints[index.position[str(new.id)]]
    index = registry_index(session=session)  # caught up (or rebuilt: a small registry churns fast)
    assert index.fingerprints[index.position[str(new.id)]] != before


def test_partner_sees_similar_published_initiatives_while_filling_the_form(
    session: Session, sample: dict[str, Any]
) -> None:
    staff = sample["staff"]
    _publish(session, staff, sample["second"])  # first stays submitted: not public
    newcomer = make_organisation(session, name="Nova Operadora")
    partner = make_principal(session, role=Role.PARTNER, organisation=newcomer)
    draft = initiative_draft(newcomer, title=DATA_TITLE, description=DATA_TEXT)
    similar = similar_to_draft(session=session, actor=partner, draft=draft)
    assert [s.initiative_id for s in similar] == [sample["second"].id]
    assert similar[0].organisation == sample["second_org"]
    assert "same category" in similar[0].explanation
    assert similar_to_draft(session=session, actor=staff, draft=draft)[0].score >= 0.3
    empty = initiative_draft(newcomer, title=" ", description="")
    assert similar_to_draft(session=session, actor=partner, draft=empty) == []

    created = create_initiative(session=session, actor=partner, draft=draft)
    written = note_overlap_response(
        session=session,
        actor=partner,
        initiative_id=created.id or 0,
        shown_ids=[s.initiative_id for s in similar],
        related_ids=[sample["second"].id],
        note="Ours is for pharmacists",
    )
    assert written == 1
    note = session.exec(select(OverlapNote)).one()
    assert note.related and note.note == "Ours is for pharmacists"
    assert session.get(InitiativeLink, (created.id, sample["second"].id)) is not None


def test_coverage_counts_category_by_district(session: Session, sample: dict[str, Any]) -> None:
    grid = coverage(session=session, actor=sample["staff"])
    assert grid.areas[0] == "PT"
    assert grid.counts[("connectivity", "PT-11")] == 2  # PT-11 and 1106 count once each
    assert grid.counts[("education", "PT-08")] == 1


# --- the batch CLI ---------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.setenv("HUB_DEFAULT_LANGUAGE", "en")
    return tmp_path


def _run(folder: Path, content: bytes, *extra: str) -> Any:
    source = folder / "in.csv"
    source.write_bytes(content)
    return runner.invoke(app, ["overlaps", str(source), "--out", str(folder / "out.csv"), *extra])


GOOD = (
    "id;title;description;areas;start_date;end_date\n"
    f"A1;{DATA_TITLE};{DATA_TEXT};PT-11;2020-03-20;2020-06-30\n"
    f"A2;Internet móvel grátis para médicos;{DATA_TEXT};PT-11;2020-03-25;2020-06-30\n"
    "A3;Aulas de música;Ensino de instrumentos.;PT-08;2022-01-01;2022-02-01\n"
)


def test_cli_writes_overlapping_pairs(cli_db: Path) -> None:
    result = _run(cli_db, GOOD.encode("cp1252", errors="replace"), "--threshold", "0.3")
    assert result.exit_code == 0, result.output
    raw = (cli_db / "out.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM first, as every CSV the hub writes
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "id_a,id_b,score,explanation"
    assert lines[1].startswith("A1,A2,") and len(lines) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"id,title\nA1,Only one\n", "at least two"),
        (b"id,name\nA1,x\nA2,y\n", "no column title"),
        (b"id|title\nA1|x\nA2|y\n", "no column id, title"),
        (b"id,title\nA1,x\nA1,y\n", "appears twice"),
        (b"id,title,start_date\nA1,x,soon\nA2,y,\n", "not a date"),
        ("id,title\nA1,x\n".encode("utf-16"), "no column"),
    ],
)
def test_cli_explains_bad_files_and_writes_nothing(
    cli_db: Path, content: bytes, message: str
) -> None:
    result = _run(cli_db, content)
    assert result.exit_code == 1
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert not (cli_db / "out.csv").exists()


def test_cli_copes_with_one_word_and_boilerplate_texts(cli_db: Path) -> None:
    boiler = "Iniciativa no âmbito da resposta à COVID-19."
    rows = ["id,title,description"] + [f"B{n},Apoio,{boiler}" for n in range(6)]
    rows += ["B9,,", "B10,x,"]
    result = _run(cli_db, "\n".join(rows).encode(), "--threshold", "0.0")
    assert result.exit_code == 0, result.output
    text = (cli_db / "out.csv").read_text(encoding="utf-8")
    assert "same standard description (ignored)" in text


def test_cli_one_row_against_an_empty_registry_is_explained(cli_db: Path) -> None:
    result = _run(cli_db, f"id,title\nA1,{DATA_TITLE}\n".encode(), "--against-registry")
    assert result.exit_code == 1 and "at least two initiatives" in result.output
    assert not (cli_db / "out.csv").exists()


def test_overlap_response_names_only_visible_initiatives_and_keeps_staff_links(
    session: Session, sample: dict[str, Any]
) -> None:
    """Issue 13.8: a partner may link only what they may see (published, or their own);
    an id they may not see is refused exactly like one that does not exist; and a
    partner's "related" never turns a staff "joint effort" link into something else."""
    staff, first, second, far = sample["staff"], sample["first"], sample["second"], sample["far"]
    partner = make_principal(session, role=Role.PARTNER, organisation=sample["org"])  # leads first
    second = _publish(session, staff, second)  # far stays submitted: another's, never shown
    messages = []
    for hidden in (far.id or 0, 999_999):
        with pytest.raises(NotFound) as refused:
            note_overlap_response(
                session=session,
                actor=partner,
                initiative_id=first.id or 0,
                shown_ids=[second.id or 0],
                related_ids=[hidden],
                note="Ours is different",
            )
        messages.append(str(refused.value))
    assert messages[0] == messages[1]
    assert session.exec(select(OverlapNote)).all() == []
    assert session.exec(select(InitiativeLink)).all() == []

    decide_pair(
        session=session,
        actor=staff,
        initiative_a_id=first.id or 0,
        initiative_b_id=second.id or 0,
        decision=Decision.JOINT,
    )
    written = note_overlap_response(
        session=session,
        actor=partner,
        initiative_id=first.id or 0,
        shown_ids=[second.id or 0],
        related_ids=[second.id or 0],
    )
    assert written == 1
    links = session.exec(select(InitiativeLink)).all()
    assert [(link.initiative_id, link.kind) for link in links] == [(first.id, LinkKind.JOINT)]
    assert related_for_export(session=session)[first.id or 0] == [second.code]


def test_an_empty_registry_has_no_pairs(session: Session) -> None:
    """A fresh deployment: the Overlaps page and the weekly report ask for pairs before
    any initiative is published."""
    forget_indexes()
    staff = make_principal(session, role=Role.STAFF)
    assert find_overlaps(session=session, actor=staff) == []
