"""Registry pages: a partner submits through the form, staff review and publish."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from hub.auth import Role
from hub.db import make_engine
from initiatives.models import Initiative, ReviewState
from tests.app.conftest import principal_of, texts

Opener = Callable[[Role | None], AppTest]
NEW = "partner_new_initiative"


def stored(url: str, title: str) -> Initiative | None:
    engine = make_engine(url)
    with Session(engine) as session:
        found = session.exec(select(Initiative).where(Initiative.title == title)).first()
    engine.dispose()
    return found


def test_partner_submits_and_staff_publish(open_app: Opener, demo_url: str) -> None:
    partner = open_app(Role.PARTNER).run()
    partner.switch_page("pages/partner_initiatives.py").run()
    assert not partner.exception
    partner.text_input(key=f"{NEW}_title").input("Linha de apoio psicológico")
    partner.text_area(key=f"{NEW}_description").input("Apoio por telefone, gratuito.")
    partner.selectbox(key=f"{NEW}_category").set_value("health")
    partner.multiselect(key=f"{NEW}_groups").set_value(["citizens"])
    partner.multiselect(key=f"{NEW}_areas").set_value(["PT-11"])
    partner.button(key=f"FormSubmitter:{NEW}-Submit for review").click().run()
    assert not partner.exception
    assert "Submitted." in texts(partner), texts(partner)
    created = stored(demo_url, "Linha de apoio psicológico")
    assert created is not None and created.review_state is ReviewState.SUBMITTED

    staff = open_app(Role.STAFF).run()
    staff.switch_page("pages/staff_review.py").run()
    staff.selectbox(key="review_pick").set_value(created.id)
    staff.run()
    assert "Linha de apoio psicológico" in texts(staff)
    form = f"review_decision_{created.id}"
    staff.button(key=f"FormSubmitter:{form}-Approve and publish").click().run()
    assert not staff.exception
    assert "Approved and published." in texts(staff)
    published = stored(demo_url, "Linha de apoio psicológico")
    assert published is not None and published.review_state is ReviewState.PUBLISHED


def test_bad_form_input_is_explained_and_nothing_saved(open_app: Opener, demo_url: str) -> None:
    partner = open_app(Role.PARTNER).run()
    partner.switch_page("pages/partner_initiatives.py").run()
    partner.text_input(key=f"{NEW}_title").input("Sem categoria")
    partner.button(key=f"FormSubmitter:{NEW}-Save as draft").click().run()
    assert "Category:" in texts(partner)
    assert stored(demo_url, "Sem categoria") is None


def test_staff_registry_filters_and_opens_history(open_app: Opener) -> None:
    staff = open_app(Role.STAFF).run()
    staff.switch_page("pages/staff_registry.py").run()
    assert not staff.exception
    shown = texts(staff)
    assert "Registry of initiatives" in shown
    staff.text_input(key="registry_filters_text").input("saude").run()  # accents ignored
    assert not staff.exception
    staff.selectbox(key="registry_filters_category").set_value("education").run()
    assert not staff.exception


def test_review_queue_shows_the_demo_submissions(open_app: Opener) -> None:
    staff = open_app(Role.STAFF).run()
    staff.switch_page("pages/staff_review.py").run()
    assert not staff.exception
    assert staff.metric[0].value == "2"  # two demo initiatives are waiting


CSV_HEADER = (
    "id,title,description,organisation,participating_organisations,category,target_groups,"
    "areas,channels,start_date,end_date,status,people_targeted,people_reached,link,contact_email\n"
)


def test_partner_imports_a_spreadsheet_and_bad_rows_are_reported(
    open_app: Opener, demo_url: str
) -> None:
    partner = open_app(Role.PARTNER).run()
    partner.switch_page("pages/partner_initiatives.py").run()
    bad = CSV_HEADER + (
        "IMP-1,Apoio escolar por telefone,,,,education,students_teachers,PT-11,phone,"
        "2020-04-01,2020-06-30,active,100,,https://example.pt,\n"
        "IMP-2,Datas trocadas,,,,education,,PT-11,,2020-06-30,2020-04-01,planned,,,,\n"
    )
    partner.file_uploader(key="partner_import_file").set_value(
        ("iniciativas.csv", bad.encode(), "text/csv")
    ).run()
    partner.button(key="partner_import_go").click().run()
    assert not partner.exception
    shown = texts(partner)
    assert "Nothing was imported" in shown or "nothing was imported" in shown.lower(), shown
    assert stored(demo_url, "Apoio escolar por telefone") is None  # all or nothing
    problems = partner.dataframe[-1].value
    assert list(problems.iloc[:, 0]) == [3] and "end_date" in str(problems.iloc[0, 1]) + str(
        problems.iloc[0, 2]
    )

    partner.checkbox(key="partner_import_valid_only").check().run()
    partner.button(key="partner_import_go").click().run()
    created = stored(demo_url, "Apoio escolar por telefone")
    assert created is not None
    assert created.lead_organisation_id == principal_of(demo_url, Role.PARTNER).organisation_id


def test_the_import_report_lists_every_problem_of_a_row_and_downloads(
    open_app: Opener, demo_url: str
) -> None:
    partner = open_app(Role.PARTNER).run()
    partner.switch_page("pages/partner_initiatives.py").run()
    bad = (
        "id,title,category,target_groups,areas,channels,link\n"
        "IMP-9,Apoio escolar,astrology,martians,Narnia;PT-99,pigeon,javascript:x\n"
    )
    partner.file_uploader(key="partner_import_file").set_value(
        ("iniciativas.csv", bad.encode(), "text/csv")
    ).run()
    partner.button(key="partner_import_go").click().run()
    assert not partner.exception, partner.exception
    problems = partner.dataframe[-1].value
    assert list(problems.columns) == ["Row", "Column", "Value", "Problem"]
    assert list(zip(problems["Column"], problems["Value"], strict=True)) == [
        ("channels", "pigeon"),
        ("category", "astrology"),
        ("target_groups", "martians"),
        ("areas", "Narnia"),
        ("areas", "PT-99"),
        ("link", "javascript:x"),
    ]
    assert set(problems["Row"]) == {2}
    download = partner.get("download_button")
    assert any("Download the report (CSV)" in str(d.proto.label) for d in download), download


def test_staff_export_offers_every_format(open_app: Opener) -> None:
    staff = open_app(Role.STAFF).run()
    staff.switch_page("pages/staff_registry.py").run()
    staff.selectbox(key="registry_export_format").set_value("xlsx")
    staff.button(key="registry_export_prepare").click().run()
    assert not staff.exception
    assert any(
        "registry" in b.label.lower() or ".xlsx" in b.label for b in staff.get("download_button")
    )


def test_a_failed_export_takes_the_earlier_download_away(
    open_app: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUB_IATI_REPORTING_ORG_REF", raising=False)
    staff = open_app(Role.STAFF).run()
    staff.switch_page("pages/staff_registry.py").run()
    staff.selectbox(key="registry_export_format").set_value("csv")
    staff.button(key="registry_export_prepare").click().run()
    assert any(".csv" in b.label for b in staff.get("download_button"))
    staff.selectbox(key="registry_export_format").set_value("iati")
    staff.button(key="registry_export_prepare").click().run()
    assert not staff.exception, staff.exception
    assert any("HUB_IATI_REPORTING_ORG_REF" in e.value for e in staff.error)
    assert not any(".csv" in b.label or ".xml" in b.label for b in staff.get("download_button"))
