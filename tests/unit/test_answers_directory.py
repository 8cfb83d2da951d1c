"""Measures in force and the contacts directory (issue 8), and how both reach the public
HTML page, the open data routes and ``export-public``."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.testclient import TestClient

import portal.routes
from answers.checks import clean_phone
from answers.directory import (
    contacts_csv,
    create_contact,
    create_measure,
    list_public_contacts,
    list_public_measures,
    update_contact,
    update_measure,
)
from answers.models import (
    AnswerDraft,
    ContactDraft,
    Measure,
    MeasureDraft,
    Topic,
)
from answers.service import get_question, publish_question, save_answer
from geo.areas import load_reference_areas
from hub.auth import Principal, Role
from hub.db import make_engine
from hub.errors import InvalidInput, PermissionDenied, StaleRecord
from initiatives.service import approve, create_initiative
from portal.content import PublicQuery
from portal.export import export_public
from portal.routes import ROUTES
from portal.site import build
from tests.factories import initiative_draft, make_organisation, make_principal, make_question


@pytest.fixture
def staff(session: Session) -> Principal:
    return make_principal(session, role=Role.STAFF)


def contact(**overrides: object) -> ContactDraft:
    values: dict[str, object] = {
        "name": "SNS 24 (illustrative)",
        "phone": "808 24 24 24",
        "web": "https://www.sns24.gov.pt",
        "opening_hours": "24 hours",
        "languages": "pt, en",
        "audience": "Everyone",
        "organisation": "SNS",
        "last_verified": date(2020, 4, 1),
        "published": True,
    }
    values.update(overrides)
    return ContactDraft(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "phone", ["112", "808 24 24 24", "+351 21 000 0000", "+351210000000", "144", "  808  200 520 "]
)
def test_valid_phones(phone: str) -> None:
    assert clean_phone(phone) == " ".join(phone.split())


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ("808-24-24-24", "only digits and spaces"),
        ("tel:112", "only digits and spaces"),
        ("+351 (21) 000", "only digits and spaces"),
        ("21 000 00", "3 to 6 digits"),
        ("1", "3 to 6 digits"),
        ("+35", "8 to 15 digits"),
        ("1234567890123456", "9 to 15"),
        ("12+34", "only digits and spaces"),
        ("<script>", "only digits and spaces"),
    ],
)
def test_malformed_phones_are_refused_with_a_reason(phone: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        clean_phone(phone)


def test_contacts_are_checked_and_public(session: Session, staff: Principal) -> None:
    for bad, field in (
        ({"web": "javascript:alert(1)"}, "Website"),
        ({"web": 'https://x.pt/"><script>'}, "Website"),
        ({"email": "not-an-address"}, "E-mail"),
        ({"phone": "", "web": "", "email": ""}, "at least a phone"),
        ({"name": " "}, "Name"),
        ({"last_verified": date.today() + timedelta(days=3)}, "future"),
    ):
        with pytest.raises(InvalidInput, match=field):
            create_contact(session=session, actor=staff, draft=contact(**bad))
    with pytest.raises(PermissionDenied):
        create_contact(session=session, actor=None, draft=contact())
    emergency = create_contact(
        session=session,
        actor=staff,
        draft=contact(name="Emergency (112)", phone="112", emergency=True, web=""),
    )
    sns = create_contact(session=session, actor=staff, draft=contact())
    create_contact(session=session, actor=staff, draft=contact(name="Draft line", published=False))
    public = list_public_contacts(session=session)
    assert [c.name for c in public] == ["Emergency (112)", "SNS 24 (illustrative)"]
    assert public[1].tel == "808242424"
    update_contact(
        session=session,
        actor=staff,
        contact_id=sns.id or 0,
        expected_version=sns.version,
        draft=contact(opening_hours="8:00-20:00"),
    )
    with pytest.raises(StaleRecord):
        update_contact(
            session=session,
            actor=staff,
            contact_id=sns.id or 0,
            expected_version=1,
            draft=contact(opening_hours="never"),
        )
    assert emergency.id


def test_contacts_csv_cannot_carry_spreadsheet_formulas(session: Session, staff: Principal) -> None:
    create_contact(
        session=session, actor=staff, draft=contact(name='=HYPERLINK("http://x")', note="@SUM(1)")
    )
    rows = list(
        csv.reader(
            io.StringIO(contacts_csv(list_public_contacts(session=session)).decode("utf-8-sig"))
        )
    )
    assert rows[0][:2] == ["name", "phone"]
    assert rows[1][0].startswith("'=") and rows[1][-1].startswith("'@")
    assert rows[1][1] == "808 24 24 24"


def test_measures_are_checked_linked_and_only_in_force_shown(
    session: Session, staff: Principal
) -> None:
    load_reference_areas(session=session)
    organisation = make_organisation(session)
    initiative = create_initiative(
        session=session, actor=staff, submit=True, draft=initiative_draft(organisation)
    )
    approve(
        session=session,
        actor=staff,
        initiative_id=initiative.id or 0,
        expected_version=initiative.version,
    )
    base = {
        "area": Topic.LABOUR,
        "title": "Simplified lay-off",
        "summary": "Support for companies keeping their workers.",
        "audience": "Companies in crisis",
        "in_force_from": date(2020, 3, 26),
        "legal_reference": "Decreto-Lei n.º 10-G/2020",
        "legal_link": "https://dre.pt/10-G-2020",
        "documents": ["Form RC 3056-DGSS", "Declaration of the employer"],
        "initiative_codes": [initiative.code],
        "published": True,
    }
    for bad, reason in (
        ({"legal_link": "javascript:alert(1)"}, "Legal text link"),
        ({"in_force_to": date(2020, 1, 1)}, "before the date"),
        ({"initiative_codes": ["INI-999999"]}, "INI-999999"),
        ({"summary": "  "}, "Summary"),
    ):
        with pytest.raises(InvalidInput, match=reason):
            create_measure(session=session, actor=staff, draft=MeasureDraft(**(base | bad)))
    create_measure(session=session, actor=staff, draft=MeasureDraft(**base))
    create_measure(
        session=session,
        actor=staff,
        draft=MeasureDraft(
            **(base | {"title": "Expired measure", "in_force_to": date(2020, 6, 30)})
        ),
    )
    create_measure(
        session=session,
        actor=staff,
        draft=MeasureDraft(**(base | {"title": "Unpublished measure", "published": False})),
    )
    [measure] = list_public_measures(session=session)
    assert measure.title == "Simplified lay-off"
    assert [i.code for i in measure.initiatives] == [initiative.code]
    assert measure.documents == ["Form RC 3056-DGSS", "Declaration of the employer"]
    assert [m.title for m in list_public_measures(session=session, text="lay off")] == [
        "Simplified lay-off"
    ]
    assert list_public_measures(session=session, text="unpublished") == []
    assert len(list_public_measures(session=session, on=date(2020, 5, 1))) == 2


def publish_answer(session: Session, staff: Principal) -> None:
    question_id = make_question(
        session,
        "Who may take the <3 elderly to the day centre? Call me on 912345678.",
        email="asker@example.pt",
    ).id
    assert question_id is not None
    question = get_question(session=session, actor=staff, question_id=question_id)
    question = save_answer(
        session=session,
        actor=staff,
        question_id=question_id,
        expected_version=question.version,
        draft=AnswerDraft(
            public_text=question.public_text,
            topic=Topic.HEALTH,
            authority="DGS",
            answer_text="Day centres stay closed; the social services arrange home support.",
            source_url="https://www.dgs.pt/faq",
        ),
    )
    publish_question(
        session=session, actor=staff, question_id=question_id, expected_version=question.version
    )


def test_published_answers_contacts_and_measures_reach_every_public_face(
    engine: Engine, session: Session, staff: Principal, tmp_path: Path
) -> None:
    publish_answer(session, staff)
    unpublished = make_question(session, "An unreviewed question nobody may see yet").id
    create_contact(session=session, actor=staff, draft=contact())
    create_contact(
        session=session,
        actor=staff,
        draft=contact(name="Emergency (112)", phone="112", emergency=True, web=""),
    )
    create_measure(
        session=session,
        actor=staff,
        draft=MeasureDraft(
            area=Topic.EDUCATION,
            title="Lessons on television",
            summary="#EstudoEmCasa lessons on RTP Memória.",
            published=True,
        ),
    )
    html = build(engine, "index", language="en", query=PublicQuery()).decode()
    assert "Day centres stay closed" in html and "Answered by DGS" in html
    assert "asker@example.pt" not in html and "912345678" not in html
    assert "An unreviewed question" not in html and unpublished
    assert 'href="tel:808242424"' in html and 'href="tel:112"' in html
    assert "Lessons on television" in html
    assert "&lt;3 elderly" in html  # escaped, never markup
    assert len(html.encode()) < 100_000 and "<script" not in html
    searched = build(
        engine, "index", language="en", query=PublicQuery.from_params({"aq": "day centre"})
    ).decode()
    assert "Day centres stay closed" in searched
    missed = build(
        engine, "index", language="en", query=PublicQuery.from_params({"aq": "zebra"})
    ).decode()
    assert "Day centres stay closed" not in missed

    sizes = export_public(engine, tmp_path)
    for name in ("contacts.json", "contacts.csv", "answers.json", "measures.json"):
        assert sizes[name] > 0
    exported = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Day centres stay closed" in exported and 'href="contacts.csv"' in exported
    answers = json.loads((tmp_path / "answers.json").read_text(encoding="utf-8"))
    assert answers["count"] == 1 and answers["answers"][0]["authority"] == "DGS"
    assert "asker@example.pt" not in (tmp_path / "answers.json").read_text(encoding="utf-8")
    contacts = json.loads((tmp_path / "contacts.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in contacts["contacts"]] == ["Emergency (112)", "SNS 24 (illustrative)"]
    assert "SNS 24" in (tmp_path / "contacts.csv").read_text(encoding="utf-8-sig")


def test_open_data_routes(
    engine: Engine, session: Session, staff: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal.site import PublicCache

    create_contact(session=session, actor=staff, draft=contact())
    monkeypatch.setattr(portal.routes, "_cache", PublicCache(engine))
    client = TestClient(Starlette(routes=ROUTES))
    response = client.get("/public/contacts.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "808 24 24 24" in response.text
    response = client.get("/public/contacts.json")
    assert response.json()["contacts"][0]["tel"] == "808242424"
    assert client.get("/public/answers.json").json()["answers"] == []
    assert client.get("/public/measures.json").json()["count"] == 0
    etag = response.headers["etag"]
    assert client.get("/public/contacts.json", headers={"if-none-match": etag}).status_code == 304


# --- issue 13.10: concurrent edits of a measure ----------------------------------------


def test_the_losing_concurrent_measure_edit_is_told_to_reload(
    database_url: str, session: Session, staff: Principal
) -> None:
    """Two staff members' requests (two engines on one database) pass the version check;
    the other one saves just before this one writes. The side-table rewrite flushed the
    measure outside the old guarded block: the loser got a raw StaleDataError (or a
    deadlock on PostgreSQL) instead of "reload"."""
    first = make_principal(session, role=Role.STAFF, display_name="Maria Staff")
    draft = MeasureDraft(area=Topic.LABOUR, title="Lay-off", summary="Support.", published=True)
    measure = create_measure(session=session, actor=staff, draft=draft)
    shown = measure.version
    other_engine = make_engine(database_url)

    def save_elsewhere(*_args: object) -> None:
        with Session(other_engine) as other:
            update_measure(
                session=other,
                actor=first,
                measure_id=measure.id or 0,
                draft=draft.model_copy(update={"title": "Lay-off (first)"}),
                expected_version=shown,
            )

    event.listen(session, "before_flush", save_elsewhere, once=True)
    try:
        with pytest.raises(StaleRecord, match=r"Maria Staff.*reload"):
            update_measure(
                session=session,
                actor=staff,
                measure_id=measure.id or 0,
                draft=draft.model_copy(update={"title": "Lay-off (second)", "summary": "Other."}),
                expected_version=shown,
            )
    finally:
        other_engine.dispose()
    session.expire_all()
    stored = session.get(Measure, measure.id)
    assert stored is not None and (stored.title, stored.summary) == ("Lay-off (first)", "Support.")
    # The loser's session is usable again: a save from the version now shown goes through.
    update_measure(
        session=session,
        actor=staff,
        measure_id=measure.id or 0,
        draft=draft.model_copy(update={"title": "Lay-off (second)"}),
        expected_version=stored.version,
    )
