"""The registry's life cycle: draft, submit, review, publish, edit under review, history."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from geo.areas import load_reference_areas
from hub.audit import AuditEntry
from hub.auth import Role
from hub.db import make_engine
from hub.errors import InvalidInput, StaleRecord
from hub.records import utcnow
from initiatives.exchange import import_initiatives
from initiatives.models import Initiative, InitiativeArea, Notification, ReviewState, Status
from initiatives.queries import RegistryFilter, list_public, review_queue, search_registry
from initiatives.service import (
    approve,
    confirm_initiative,
    create_initiative,
    draft_of,
    history,
    report_progress,
    review_diff,
    send_back,
    submit_initiative,
    update_initiative,
    withdraw_initiative,
)
from tests.factories import initiative_draft, make_organisation, make_principal


@pytest.fixture(autouse=True)
def reference_areas(session: Session) -> None:
    load_reference_areas(session=session)


def test_partner_submits_staff_publish_public_sees_it(session: Session) -> None:
    organisation = make_organisation(session, name="Operator")
    partner = make_principal(session, role=Role.PARTNER, organisation=organisation)
    staff = make_principal(session, role=Role.STAFF)

    draft = create_initiative(session=session, actor=partner, draft=initiative_draft(organisation))
    assert draft.review_state is ReviewState.DRAFT
    assert draft.code.startswith("INI-")
    assert list_public(session=session)[1] == 0

    submitted = submit_initiative(
        session=session, actor=partner, initiative_id=draft.id or 0, expected_version=draft.version
    )
    queue = review_queue(session=session, actor=staff)
    assert [(q.initiative_id, q.kind) for q in queue] == [(draft.id, "new")]

    published = approve(
        session=session,
        actor=staff,
        initiative_id=draft.id or 0,
        expected_version=submitted.version,
    )
    assert published.review_state is ReviewState.PUBLISHED
    assert review_queue(session=session, actor=staff) == []
    public, total = list_public(session=session)
    assert total == 1
    assert public[0].areas == ["1106", "PT-11"]
    assert "contact_email" not in public[0].model_dump()
    assert "review_note" not in public[0].model_dump()
    note = session.exec(select(Notification)).one()
    assert note.organisation_id == organisation.id and "approved" in note.message


def test_edit_of_published_waits_for_review_and_published_version_stays_live(
    session: Session,
) -> None:
    organisation = make_organisation(session)
    partner = make_principal(session, role=Role.PARTNER, organisation=organisation)
    staff = make_principal(session, role=Role.STAFF)
    created = create_initiative(
        session=session,
        actor=partner,
        draft=initiative_draft(organisation, title="Original title"),
        submit=True,
    )
    live = approve(
        session=session,
        actor=staff,
        initiative_id=created.id or 0,
        expected_version=created.version,
    )

    edited = initiative_draft(organisation, title="Proposed title", areas=["PT-11"])
    proposed = update_initiative(
        session=session,
        actor=partner,
        initiative_id=live.id or 0,
        draft=edited,
        expected_version=live.version,
    )
    assert proposed.pending_changes is not None
    assert list_public(session=session)[0][0].title == "Original title"  # still live
    diff = dict(
        (f, (a, b))
        for f, a, b in review_diff(session=session, actor=staff, initiative_id=live.id or 0)
    )
    assert diff["title"] == ("Original title", "Proposed title")
    assert diff["areas"] == (["1106", "PT-11"], ["PT-11"])
    assert "description" not in diff
    assert [q.kind for q in review_queue(session=session, actor=staff)] == ["edit"]

    applied = approve(
        session=session, actor=staff, initiative_id=live.id or 0, expected_version=proposed.version
    )
    assert applied.pending_changes is None
    public = list_public(session=session)[0][0]
    assert (public.title, public.areas) == ("Proposed title", ["PT-11"])
    numbers = [
        v.number for v in history(session=session, actor=partner, initiative_id=live.id or 0)
    ]
    assert numbers == [4, 3, 2, 1]


def test_rejected_edit_keeps_the_published_version_and_tells_the_partner(session: Session) -> None:
    organisation = make_organisation(session)
    partner = make_principal(session, role=Role.PARTNER, organisation=organisation)
    staff = make_principal(session, role=Role.STAFF)
    created = create_initiative(
        session=session,
        actor=partner,
        draft=initiative_draft(organisation, title="Kept"),
        submit=True,
    )
    live = approve(
        session=session,
        actor=staff,
        initiative_id=created.id or 0,
        expected_version=created.version,
    )
    proposed = update_initiative(
        session=session,
        actor=partner,
        initiative_id=live.id or 0,
        draft=initiative_draft(organisation, title="Worse"),
        expected_version=live.version,
    )
    with pytest.raises(InvalidInput) as caught:
        send_back(
            session=session,
            actor=staff,
            initiative_id=live.id or 0,
            expected_version=proposed.version,
            reason="  ",
        )
    assert caught.value.field == "reason"
    back = send_back(
        session=session,
        actor=staff,
        initiative_id=live.id or 0,
        expected_version=proposed.version,
        reason="Keep the official name",
    )
    assert back.review_state is ReviewState.PUBLISHED and back.title == "Kept"
    assert back.review_note == "Keep the official name"
    assert any("Keep the official name" in n.message for n in session.exec(select(Notification)))


def test_changes_requested_then_resubmitted(session: Session) -> None:
    organisation = make_organisation(session)
    partner = make_principal(session, role=Role.PARTNER, organisation=organisation)
    staff = make_principal(session, role=Role.STAFF)
    created = create_initiative(
        session=session, actor=partner, draft=initiative_draft(organisation), submit=True
    )
    back = send_back(
        session=session,
        actor=staff,
        initiative_id=created.id or 0,
        expected_version=created.version,
        reason="Add the municipalities",
    )
    assert back.review_state is ReviewState.CHANGES_REQUESTED
    again = update_initiative(
        session=session,
        actor=partner,
        initiative_id=back.id or 0,
        draft=initiative_draft(organisation, areas=["1106", "1105"]),
        expected_version=back.version,
        submit=True,
    )
    assert again.review_state is ReviewState.SUBMITTED and again.review_note == ""
    rejected = send_back(
        session=session,
        actor=staff,
        initiative_id=again.id or 0,
        expected_version=again.version,
        reason="Duplicate",
        reject=True,
    )
    assert rejected.review_state is ReviewState.REJECTED


def test_progress_confirm_and_withdraw(session: Session) -> None:
    organisation = make_organisation(session)
    partner = make_principal(session, role=Role.PARTNER, organisation=organisation)
    created = create_initiative(
        session=session, actor=partner, draft=initiative_draft(organisation)
    )
    progressed = report_progress(
        session=session,
        actor=partner,
        initiative_id=created.id or 0,
        expected_version=created.version,
        status=Status.ACTIVE,
        people_reached=250,
        actual_start=date(2020, 3, 22),
    )
    assert (progressed.status, progressed.people_reached) == (Status.ACTIVE, 250)
    confirmed = confirm_initiative(
        session=session,
        actor=partner,
        initiative_id=created.id or 0,
        expected_version=progressed.version,
    )
    withdrawn = withdraw_initiative(
        session=session,
        actor=partner,
        initiative_id=created.id or 0,
        expected_version=confirmed.version,
        reason="Merged elsewhere",
    )
    assert withdrawn.review_state is ReviewState.WITHDRAWN
    with pytest.raises(InvalidInput):
        update_initiative(
            session=session,
            actor=partner,
            initiative_id=created.id or 0,
            draft=initiative_draft(organisation),
            expected_version=withdrawn.version,
        )
    actions = session.exec(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type == "initiative")
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "report_progress", "confirm", "withdraw"]


def test_stale_save_is_refused(session: Session) -> None:
    organisation = make_organisation(session)
    first = make_principal(session, role=Role.STAFF, display_name="First Reviewer")
    second = make_principal(session, role=Role.STAFF)
    created = create_initiative(session=session, actor=first, draft=initiative_draft(organisation))
    shown = created.version
    update_initiative(
        session=session,
        actor=first,
        initiative_id=created.id or 0,
        draft=initiative_draft(organisation, title="First"),
        expected_version=shown,
    )
    with pytest.raises(StaleRecord, match="First Reviewer"):
        update_initiative(
            session=session,
            actor=second,
            initiative_id=created.id or 0,
            draft=initiative_draft(organisation, title="Second"),
            expected_version=shown,
        )


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"title": "   "}, "title", "title"),
        ({"title": "x" * 201}, "title", "200"),
        ({"description": "x" * 5001}, "description", "5000"),
        ({"category": "astrology"}, "category", "not in the list"),
        ({"target_groups": ["aliens"]}, "target_groups", "not in the list"),
        ({"areas": ["PT-99"]}, "areas", "PT-99"),
        ({"areas": ["9999"]}, "areas", "9999"),
        (
            {"planned_start": date(2020, 5, 1), "planned_end": date(2020, 4, 1)},
            "planned_end",
            "before the start date",
        ),
        ({"people_targeted": -5}, "people_targeted", "whole number"),
        ({"link": "javascript:alert(1)"}, "link", "https://"),
        ({"contact_email": "not-an-email"}, "contact_email", "name@example.pt"),
        ({"lead_organisation_id": 999_999}, "lead_organisation_id", "organisation"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    session: Session, overrides: dict[str, object], field: str, words: str
) -> None:
    organisation = make_organisation(session)
    staff = make_principal(session, role=Role.STAFF)
    with pytest.raises(InvalidInput) as caught:
        create_initiative(
            session=session, actor=staff, draft=initiative_draft(organisation, **overrides)
        )
    assert caught.value.field == field
    assert words in str(caught.value)
    assert session.exec(select(Initiative)).all() == []


def test_registry_filters_search_sort_and_freshness(session: Session) -> None:
    health = make_organisation(session, name="Saúde Org")
    school = make_organisation(session, name="Escola Org")
    staff = make_principal(session, role=Role.STAFF)
    a = create_initiative(
        session=session,
        actor=staff,
        draft=initiative_draft(
            health,
            title="Teleconsultas para idosos",
            category="health",
            areas=["PT-13"],
            target_groups=["elderly"],
            planned_end=date(2020, 5, 1),
        ),
    )
    create_initiative(
        session=session,
        actor=staff,
        draft=initiative_draft(
            school,
            title="Computadores para alunos",
            category="education",
            areas=["1106"],
            target_groups=["students_teachers"],
            planned_end=date.today() + timedelta(days=90),
        ),
    )

    def titles(**filters: object) -> list[str]:
        rows, _ = search_registry(session=session, actor=staff, filters=RegistryFilter(**filters))  # type: ignore[arg-type]
        return sorted(r.title for r in rows)

    assert titles(category="health") == ["Teleconsultas para idosos"]
    assert titles(area="1106") == ["Computadores para alunos"]
    assert titles(target_group="elderly") == ["Teleconsultas para idosos"]
    assert titles(organisation_id=school.id) == ["Computadores para alunos"]
    assert titles(text="TELECONSULTAS") == ["Teleconsultas para idosos"]
    assert titles(text="saude") == ["Teleconsultas para idosos"]  # accents and case ignored
    assert titles(text="100%_") == []
    assert titles(stale_only=True) == ["Teleconsultas para idosos"]  # past its end date
    rows, total = search_registry(
        session=session,
        actor=staff,
        filters=RegistryFilter(sort="title", descending=False),
        limit=1,
    )
    assert total == 2 and [r.title for r in rows] == ["Computadores para alunos"]
    first, _ = search_registry(
        session=session, actor=staff, filters=RegistryFilter(), today=date(2020, 6, 1)
    )
    flagged = {r.title: (r.past_end, r.unconfirmed) for r in first}
    assert flagged["Teleconsultas para idosos"] == (True, False)
    del a


def test_unconfirmed_for_too_long_is_flagged(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_CONFIRM_AFTER_DAYS", "10")
    organisation = make_organisation(session)
    staff = make_principal(session, role=Role.STAFF)
    created = create_initiative(
        session=session,
        actor=staff,
        draft=initiative_draft(organisation, planned_end=None, status=Status.ACTIVE),
    )
    created.last_confirmed_at = utcnow() - timedelta(days=11)
    session.add(created)
    session.commit()
    rows, _ = search_registry(session=session, actor=staff, filters=RegistryFilter(stale_only=True))
    assert [r.id for r in rows] == [created.id] and rows[0].unconfirmed


def test_draft_round_trips_through_the_form_shape(session: Session) -> None:
    organisation = make_organisation(session)
    partner_org = make_organisation(session)
    staff = make_principal(session, role=Role.STAFF)
    from initiatives.models import Participant, ParticipantRole

    draft = initiative_draft(
        organisation,
        participants=[
            Participant(organisation_id=partner_org.id or 0, role=ParticipantRole.FUNDING)
        ],
    )
    created = create_initiative(session=session, actor=staff, draft=draft)
    again = draft_of(session=session, initiative=created)
    assert again.participants == draft.participants
    assert sorted(again.areas) == sorted(draft.areas)
    assert again.title == draft.title and again.channels == sorted(draft.channels)


# --- issue 13: hardening -----------------------------------------------------------------


@pytest.fixture
def other_session(database_url: str) -> Iterator[Session]:
    """A second connection to the same database: another user's request."""
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def before_first_write(session: Session, action: Callable[[], Any]) -> None:
    """Run ``action`` (another user's save) just before ``session`` writes its first row:
    the moment two requests race for the same record or the same code."""

    def run(*_args: Any) -> None:
        action()

    event.listen(session, "before_flush", run, once=True)


def test_generated_codes_skip_an_imported_code_in_their_namespace(session: Session) -> None:
    """Issue 13.2: an import took INI-<largest id + 2>; creating keeps working."""
    organisation = make_organisation(session, name="Operator")
    partner = make_principal(session, role=Role.PARTNER, organisation=organisation)
    first = create_initiative(session=session, actor=partner, draft=initiative_draft(organisation))
    taken = f"INI-{(first.id or 0) + 2:06d}"
    data = (
        "id,title,category,target_groups,areas\n"
        f"{taken},Imported data packages,connectivity,health_professionals,PT-11\n"
    ).encode()
    report = import_initiatives(session=session, actor=partner, data=data)
    assert report.written and report.created == [taken], report.problems
    codes = {first.code, taken}
    for _n in range(3):
        created = create_initiative(
            session=session, actor=partner, draft=initiative_draft(organisation)
        )
        assert created.code.startswith("INI-") and created.code not in codes
        codes.add(created.code)


def test_a_code_taken_by_a_concurrent_create_gives_the_next_one_or_a_field_error(
    session: Session, other_session: Session
) -> None:
    """Issue 13.2: two creates at once: a generated code moves on to the next free one;
    an explicit code already taken is a clear error on ``code``, never an IntegrityError."""
    organisation = make_organisation(session, name="Operator")
    staff = make_principal(session, role=Role.STAFF)
    rival = {}

    def create_elsewhere(code: str | None = None) -> Callable[[], None]:
        def create() -> None:
            rival["initiative"] = create_initiative(
                session=other_session, actor=staff, draft=initiative_draft(organisation, code=code)
            )

        return create

    before_first_write(session, create_elsewhere())
    mine = create_initiative(session=session, actor=staff, draft=initiative_draft(organisation))
    assert mine.code != rival["initiative"].code and mine.code.startswith("INI-")

    before_first_write(session, create_elsewhere("OPS-2020-1"))
    with pytest.raises(InvalidInput) as err:
        create_initiative(
            session=session, actor=staff, draft=initiative_draft(organisation, code="OPS-2020-1")
        )
    assert err.value.field == "code" and "OPS-2020-1" in str(err.value)
    assert len(session.exec(select(Initiative)).all()) == 3


def test_approving_an_edit_keeps_progress_reported_after_it_was_proposed(
    session: Session,
) -> None:
    """Issue 13.7: the stored proposal (with the old figures) must not undo a report."""
    organisation = make_organisation(session, name="Operator")
    partner = make_principal(session, role=Role.PARTNER, organisation=organisation)
    staff = make_principal(session, role=Role.STAFF)
    created = create_initiative(
        session=session, actor=partner, draft=initiative_draft(organisation), submit=True
    )
    live = approve(
        session=session,
        actor=staff,
        initiative_id=created.id or 0,
        expected_version=created.version,
    )
    proposed = update_initiative(
        session=session,
        actor=partner,
        initiative_id=live.id or 0,
        draft=draft_of(session=session, initiative=live).model_copy(
            update={"title": "Proposed title"}
        ),
        expected_version=live.version,
    )
    reported = report_progress(
        session=session,
        actor=partner,
        initiative_id=live.id or 0,
        expected_version=proposed.version,
        status=Status.ACTIVE,
        people_reached=500,
        actual_start=date(2020, 3, 25),
    )
    diff = {
        f for f, _old, _new in review_diff(session=session, actor=staff, initiative_id=live.id or 0)
    }
    assert diff == {"title"}
    applied = approve(
        session=session, actor=staff, initiative_id=live.id or 0, expected_version=reported.version
    )
    assert applied.title == "Proposed title"
    assert (applied.status, applied.people_reached, applied.actual_start) == (
        Status.ACTIVE,
        500,
        date(2020, 3, 25),
    )


def test_the_losing_save_of_two_concurrent_edits_is_told_to_reload(
    session: Session, other_session: Session
) -> None:
    """Issue 13.10: both load version N; the second save gets StaleRecord naming who saved
    first, not StaleDataError or DeadlockDetected, and nothing of it is written."""
    organisation = make_organisation(session, name="Operator")
    staff = make_principal(session, role=Role.STAFF, email="first@example.pt")
    late = make_principal(session, role=Role.STAFF, email="late@example.pt")
    created = create_initiative(session=session, actor=staff, draft=initiative_draft(organisation))
    version = created.version

    def first_saves() -> None:
        update_initiative(
            session=other_session,
            actor=staff,
            initiative_id=created.id or 0,
            draft=initiative_draft(organisation, title="Saved first"),
            expected_version=version,
        )

    before_first_write(session, first_saves)
    with pytest.raises(StaleRecord) as err:
        update_initiative(
            session=session,
            actor=late,
            initiative_id=created.id or 0,
            draft=initiative_draft(organisation, title="Saved late", areas=["PT-08"]),
            expected_version=version,
        )
    assert "first@example.pt" in str(err.value) and "reload" in str(err.value)
    session.expire_all()
    stored = session.get(Initiative, created.id)
    assert stored is not None and stored.title == "Saved first"
    areas = session.exec(
        select(InitiativeArea.area_code).where(InitiativeArea.initiative_id == created.id)
    ).all()
    assert sorted(areas) == ["1106", "PT-11"]
