"""Overlap pages: staff see pairs with reasons and decide; a partner is warned of similar
initiatives before submitting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlmodel import Session, col, select
from streamlit.testing.v1 import AppTest

from hub.auth import Role
from hub.db import make_engine
from initiatives.models import Initiative
from initiatives.overlap_models import OverlapDecision, OverlapNote
from tests.app.conftest import texts

Opener = Callable[[Role | None], AppTest]
NEW = "partner_new_initiative"


@pytest.fixture
def flag_low(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decision tests are about the page, not the engine's calibration."""
    monkeypatch.setenv("HUB_OVERLAP_THRESHOLD", "0.01")


def open_overlaps(open_app: Opener) -> tuple[AppTest, str, tuple[int, int]]:
    staff = open_app(Role.STAFF).run()
    staff.switch_page("pages/staff_overlaps.py").run()
    assert not staff.exception, staff.exception
    shown = texts(staff)
    assert "Overlapping initiatives" in shown and "Why:" in shown, shown
    picked = tuple(staff.selectbox(key="overlaps_pick").value)
    return staff, f"overlaps_decision_{picked[0]}_{picked[1]}", (picked[0], picked[1])


def stored_rows(url: str) -> tuple[list[OverlapDecision], dict[int, Initiative]]:
    engine = make_engine(url)
    with Session(engine) as session:
        decisions = list(session.exec(select(OverlapDecision)).all())
        initiatives = {i.id or 0: i for i in session.exec(select(Initiative)).all()}
    engine.dispose()
    return decisions, initiatives


@pytest.mark.usefixtures("flag_low")
def test_staff_see_pairs_with_reasons_and_record_a_decision(
    open_app: Opener, demo_url: str
) -> None:
    staff, form, picked = open_overlaps(open_app)
    decision = staff.radio(key=f"{form}_decision")
    assert decision.value is None  # no default: one click records nothing
    assert "Choose a decision: nothing is recorded until you do." in [
        c.value for c in staff.caption
    ]
    decision.set_value("complementary").run()
    staff.text_area(key=f"{form}_reason").input("Different operators' customers")
    staff.button(key=f"{form}_record").click().run()
    assert not staff.exception, staff.exception
    assert "Decision recorded." in texts(staff)
    decisions, _initiatives = stored_rows(demo_url)
    assert [(d.initiative_a_id, d.initiative_b_id) for d in decisions] == [picked]


@pytest.mark.usefixtures("flag_low")
def test_merging_names_what_is_withdrawn_and_waits_for_confirmation(
    open_app: Opener, demo_url: str
) -> None:
    staff, form, picked = open_overlaps(open_app)
    staff.radio(key=f"{form}_decision").set_value("duplicate").run()
    assert not any(b.key == f"{form}_merge" for b in staff.button)  # keep not chosen yet
    staff.radio(key=f"{form}_keep").set_value(picked[0]).run()
    _decisions, initiatives = stored_rows(demo_url)
    merged = initiatives[picked[1]]
    warning = next(w.value for w in staff.warning if "Merging withdraws" in w.value)
    assert merged.code in warning and initiatives[picked[0]].title in warning.replace("\\", "")
    merge = staff.button(key=f"{form}_merge")
    assert merge.disabled and merged.code in merge.label
    assert stored_rows(demo_url)[0] == []  # nothing written before the confirmation

    staff.checkbox(key=f"{form}_confirm").check().run()
    assert not staff.button(key=f"{form}_merge").disabled
    staff.button(key=f"{form}_merge").click().run()
    assert not staff.exception, staff.exception
    assert f"Merged: {merged.code} was withdrawn." in texts(staff).replace("\\", "")
    decisions, initiatives = stored_rows(demo_url)
    assert [d.decision.value for d in decisions] == ["duplicate"]
    assert initiatives[picked[1]].review_state.value == "withdrawn"
    assert initiatives[picked[0]].review_state.value != "withdrawn"


def fill_mobile_data_offer(partner: AppTest, title: str) -> None:
    partner.switch_page("pages/partner_initiatives.py").run()
    partner.text_input(key=f"{NEW}_title").input(title)
    partner.text_area(key=f"{NEW}_description").input(
        "Dados móveis gratuitos para médicos e enfermeiros durante a emergência."
    )
    partner.selectbox(key=f"{NEW}_category").set_value("communications_packages")
    partner.multiselect(key=f"{NEW}_groups").set_value(["health_professionals"])
    partner.multiselect(key=f"{NEW}_areas").set_value(["PT"])


def created_with_notes(url: str, title: str) -> tuple[list[Initiative], list[OverlapNote]]:
    engine = make_engine(url)
    with Session(engine) as session:
        created = list(session.exec(select(Initiative).where(Initiative.title == title)).all())
        notes = list(
            session.exec(
                select(OverlapNote).where(
                    col(OverlapNote.initiative_id).in_([c.id for c in created])
                )
            ).all()
        )
    engine.dispose()
    return created, notes


@pytest.fixture
def warn_low(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warning tests are about the form, not the engine's calibration (its own tests
    cover that): any comparable initiative warns."""
    monkeypatch.setenv("HUB_OVERLAP_WARN_THRESHOLD", "0.01")


@pytest.mark.usefixtures("warn_low")
def test_submit_checks_first_and_holds_the_record_until_the_partner_answers(
    open_app: Opener, demo_url: str
) -> None:
    title = "Dados móveis grátis para profissionais de saúde"
    partner = open_app(Role.PARTNER).run()
    fill_mobile_data_offer(partner, title)
    partner.button(key=f"FormSubmitter:{NEW}-Submit for review").click().run()
    assert not partner.exception, partner.exception
    shown = texts(partner)
    assert "Before it is sent: similar initiatives" in shown, shown
    assert "Similar initiatives exist" in shown and "Why:" in shown
    assert "Submitted." not in shown
    assert created_with_notes(demo_url, title)[0] == []  # nothing sent yet
    similar = partner.session_state[f"{NEW}_similar"]
    scores = [s.score for s in similar]
    assert scores == sorted(scores, reverse=True) and len(similar) <= 5

    partner.button(key=f"{NEW}_answer_explain").click().run()  # no explanation written yet
    assert "Write how yours differs from them, above." in texts(partner)
    assert created_with_notes(demo_url, title)[0] == []

    partner.text_area(key=f"{NEW}_differs").input("Ours is for pharmacists")
    partner.button(key=f"{NEW}_answer_explain").click().run()
    assert not partner.exception, partner.exception
    assert "Submitted." in texts(partner)
    created, notes = created_with_notes(demo_url, title)
    assert len(created) == 1 and created[0].review_state.value == "submitted"
    assert {n.other_initiative_id for n in notes} == {s.initiative_id for s in similar}
    assert all(n.note == "Ours is for pharmacists" for n in notes)


@pytest.mark.usefixtures("warn_low")
def test_link_as_related_links_the_chosen_ones(open_app: Opener, demo_url: str) -> None:
    title = "Cartões SIM para médicos internos"
    partner = open_app(Role.PARTNER).run()
    fill_mobile_data_offer(partner, title)
    partner.button(key=f"FormSubmitter:{NEW}-Check for similar initiatives").click().run()
    assert "Similar initiatives exist" in texts(partner)  # the early look
    partner.button(key=f"FormSubmitter:{NEW}-Submit for review").click().run()
    similar = partner.session_state[f"{NEW}_similar"]
    partner.multiselect(key=f"{NEW}_related").set_value([similar[0].initiative_id])
    partner.button(key=f"{NEW}_answer_related").click().run()
    assert not partner.exception, partner.exception
    created, notes = created_with_notes(demo_url, title)
    assert len(created) == 1
    assert [(n.other_initiative_id, n.related) for n in notes] == [(similar[0].initiative_id, True)]


def test_an_unlike_initiative_is_sent_at_once_saying_how_near_the_nearest_came(
    open_app: Opener, demo_url: str
) -> None:
    title = "Oficina de costura de máscaras em Bragança"
    partner = open_app(Role.PARTNER).run()
    partner.switch_page("pages/partner_initiatives.py").run()
    partner.text_input(key=f"{NEW}_title").input(title)
    partner.selectbox(key=f"{NEW}_category").set_value("other")
    partner.button(key=f"FormSubmitter:{NEW}-Submit for review").click().run()
    assert not partner.exception, partner.exception
    shown = texts(partner)
    infos = [str(i.value) for i in partner.info]
    assert "Submitted. The coordination office will review it." in infos  # on its own
    why = " ".join(infos)
    assert "No similar initiative found" in why and "Nearest:" in why, shown
    assert "a warning starts at" in why
    assert len(created_with_notes(demo_url, title)[0]) == 1


def test_refused_fields_are_shown_beside_the_field_and_at_the_top(
    open_app: Opener, demo_url: str
) -> None:
    partner = open_app(Role.PARTNER).run()
    partner.switch_page("pages/partner_initiatives.py").run()
    partner.text_input(key=f"{NEW}_title").input("Linha de apoio")
    partner.selectbox(key=f"{NEW}_category").set_value("other")
    partner.text_input(key=f"{NEW}_link").input("javascript:alert(1)")
    partner.text_input(key=f"{NEW}_contact").input("not-an-address")
    partner.button(key=f"FormSubmitter:{NEW}-Submit for review").click().run()
    assert not partner.exception, partner.exception
    errors = [str(e.value).replace("\\", "") for e in partner.error]
    top = next(e for e in errors if e.startswith("Nothing was saved."))
    assert "Public link" in top and "Contact e-mail" in top
    beside = [e for e in errors if e != top]
    assert any(e.startswith("Public link:") for e in beside), errors
    assert any(e.startswith("Contact e-mail:") for e in beside), errors
    assert created_with_notes(demo_url, "Linha de apoio")[0] == []


def fill_renewal_of_own_teleconsultations(partner: AppTest, title: str) -> None:
    """The issue's case: DGS (the demo partner) ran "Teleconsultas para pessoas idosas em
    Lisboa" (DEMO-007) in 2020; a near-identical title with 2021 dates."""
    partner.switch_page("pages/partner_initiatives.py").run()
    partner.text_input(key=f"{NEW}_title").input(title)
    partner.text_area(key=f"{NEW}_description").input(
        "Consultas por telefone e vídeo com o médico de família para idosos que vivem sós."
    )
    partner.selectbox(key=f"{NEW}_category").set_value("health")
    partner.date_input(key=f"{NEW}_planned_start").set_value(date(2021, 1, 15))
    partner.date_input(key=f"{NEW}_planned_end").set_value(date(2021, 6, 30))


def test_submit_at_default_thresholds_names_the_partners_own_earlier_initiative(
    open_app: Opener, demo_url: str
) -> None:
    title = "Teleconsultas para pessoas idosas em Lisboa (2021)"
    partner = open_app(Role.PARTNER).run()
    fill_renewal_of_own_teleconsultations(partner, title)
    partner.button(key=f"FormSubmitter:{NEW}-Submit for review").click().run()
    assert not partner.exception, partner.exception
    shown = texts(partner)
    assert "Your own earlier initiative: is this a renewal or an update of it?" in shown, shown
    assert "**Teleconsultas para pessoas idosas em Lisboa** · DEMO-007" in shown, shown
    captions = " ".join(str(c.value) for c in partner.caption).replace("\\", "")
    assert "title 100 % alike" in captions and "status: Published" in captions, captions
    assert "No similar initiative found" not in shown
    assert created_with_notes(demo_url, title)[0] == []  # held, not sent
    earlier = partner.session_state[f"{NEW}_own"][0].initiative_id

    partner.button(key=f"{NEW}_own_edition_{earlier}").click().run()
    assert not partner.exception, partner.exception
    assert "Submitted." in texts(partner)
    created, notes = created_with_notes(demo_url, title)
    assert len(created) == 1 and created[0].review_state.value == "submitted"
    assert [(n.other_initiative_id, n.related) for n in notes] == [(earlier, True)]


def test_update_that_one_instead_opens_the_earlier_initiative_for_editing(
    open_app: Opener, demo_url: str
) -> None:
    title = "Teleconsultas para pessoas idosas em Lisboa"
    partner = open_app(Role.PARTNER).run()
    fill_renewal_of_own_teleconsultations(partner, title)
    partner.button(key=f"FormSubmitter:{NEW}-Check for similar initiatives").click().run()
    assert "Your own earlier initiative" in texts(partner)  # the early look, same note
    earlier = partner.session_state[f"{NEW}_own"][0].initiative_id
    partner.button(key=f"{NEW}_own_update_{earlier}").click().run()
    assert not partner.exception, partner.exception
    assert partner.selectbox(key="partner_initiative_pick").value == earlier
    assert partner.session_state["partner_initiatives_tab"] == "Update an initiative"
    assert f"{NEW}_own" not in partner.session_state  # the new draft was dropped
    assert len(created_with_notes(demo_url, title)[0]) == 1  # only the earlier one
