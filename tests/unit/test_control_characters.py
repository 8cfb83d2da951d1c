"""Control characters never reach a stored field, so every export stays readable
(issue 13, item 5): once a title with ``\\x01`` was published the XLSX and IATI exports
crashed, the Atom feed was no longer XML, and a NUL was a raw DataError on PostgreSQL."""

from __future__ import annotations

import io

import openpyxl
import pytest
from lxml import etree
from sqlalchemy.engine import Engine
from sqlmodel import Session

from answers.directory import create_measure
from answers.models import MeasureDraft, Topic
from geo.areas import load_reference_areas
from hub.auth import Role
from initiatives.exchange import export_initiatives
from initiatives.service import approve, create_initiative, send_back, update_initiative
from partners.models import OrganisationDraft
from partners.service import create_organisation
from portal.content import PublicQuery
from portal.site import build
from tests.factories import initiative_draft, make_organisation, make_principal

DIRTY_TITLE = "Apoio\x01 a idosos\x00 em casa\x1b"
DIRTY_TEXT = "Primeiro parágrafo.\x00\x07\r\n\r\nSegundo\x0b parágrafo."


@pytest.fixture(autouse=True)
def areas(session: Session) -> None:
    load_reference_areas(session=session)


def test_initiative_text_is_stored_clean_and_every_export_reads(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_IATI_REPORTING_ORG_REF", "PT-NIPPC-600000000")
    organisation = make_organisation(session)
    staff = make_principal(session, role=Role.STAFF)
    created = create_initiative(
        session=session,
        actor=staff,
        submit=True,
        draft=initiative_draft(organisation, title=DIRTY_TITLE, description=DIRTY_TEXT),
    )
    assert created.title == "Apoio a idosos em casa"
    assert created.description == "Primeiro parágrafo.\n\nSegundo parágrafo."
    published = approve(
        session=session,
        actor=staff,
        initiative_id=created.id or 0,
        expected_version=created.version,
    )

    # A copy made with model_copy skips pydantic validation: the service cleans it too.
    from_copy = initiative_draft(organisation).model_copy(update={"title": "Cópia\x02 suja"})
    updated = update_initiative(
        session=session,
        actor=staff,
        initiative_id=published.id or 0,
        draft=from_copy,
        expected_version=published.version,
    )
    assert updated.title == "Cópia suja"

    xlsx = export_initiatives(session=session, actor=staff, format="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet is not None
    assert "Cópia suja" in [cell.value for row in sheet.iter_rows() for cell in row]
    iati = export_initiatives(session=session, actor=staff, format="iati")
    assert etree.fromstring(iati.data).findall(".//iati-activity")
    # The factory's dates are of 2020: the record has ended, so ask for ended ones too.
    atom = build(engine, "feed.xml", language="pt", query=PublicQuery(ended=True))
    assert b"C\xc3\xb3pia suja" in atom and etree.fromstring(atom) is not None


def test_reasons_organisations_and_measures_are_stored_clean(session: Session) -> None:
    organisation = make_organisation(session)
    staff = make_principal(session, role=Role.STAFF)
    created = create_initiative(
        session=session, actor=staff, submit=True, draft=initiative_draft(organisation)
    )
    sent = send_back(
        session=session,
        actor=staff,
        initiative_id=created.id or 0,
        expected_version=created.version,
        reason="Falta\x00 a data\x01.",
    )
    assert sent.review_note == "Falta a data."

    partner_org = create_organisation(
        session=session, actor=staff, draft=OrganisationDraft(name="Junta\x00 de Freguesia\x1f")
    )
    assert partner_org.name == "Junta de Freguesia"

    measure = create_measure(
        session=session,
        actor=staff,
        draft=MeasureDraft(
            area=next(iter(Topic)), title="Medida\x00 um", summary="Linha\x01 um\nLinha dois"
        ),
    )
    assert (measure.title, measure.summary) == ("Medida um", "Linha um\nLinha dois")
