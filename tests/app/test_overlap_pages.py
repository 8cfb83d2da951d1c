"""Overlap pages: staff see pairs with reasons and decide; a partner is warned of similar
initiatives before submitting."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from hub.auth import Role
from hub.db import make_engine
from initiatives.models import Initiative
from initiatives.overlap_models import OverlapDecision, OverlapNote
from tests.app.conftest import texts

Opener = Callable[[Role | None], AppTest]
NEW = "partner_new_initiative"


def test_staff_see_pairs_with_reasons_and_record_a_decision(
    open_app: Opener, demo_url: str
) -> None:
    staff = open_app(Role.STAFF).run()
    staff.switch_page("pages/staff_overlaps.py").run()
    assert not staff.exception, staff.exception
    shown = texts(staff)
    assert "Overlapping initiatives" in shown
    assert "Why:" in shown and "same category" in shown  # the demo's three mobile-data offers
    picked = staff.selectbox(key="overlaps_pick").value
    form = f"overlaps_decision_{picked[0]}_{picked[1]}"
    staff.radio(key=f"{form}_decision").set_value("complementary")
    staff.text_area(key=f"{form}_reason").input("Different operators' customers")
    staff.button(key=f"FormSubmitter:{form}-Record decision").click().run()
    assert not staff.exception, staff.exception
    assert "Decision recorded." in texts(staff)
    engine = make_engine(demo_url)
    with Session(engine) as session:
        decision = session.exec(select(OverlapDecision)).one()
    engine.dispose()
    assert (decision.initiative_a_id, decision.initiative_b_id) == tuple(picked)


def test_partner_checks_for_similar_initiatives_before_submitting(
    open_app: Opener, demo_url: str
) -> None:
    partner = open_app(Role.PARTNER).run()
    partner.switch_page("pages/partner_initiatives.py").run()
    partner.text_input(key=f"{NEW}_title").input("Dados móveis grátis para profissionais de saúde")
    partner.text_area(key=f"{NEW}_description").input(
        "Dados móveis gratuitos para médicos e enfermeiros durante a emergência."
    )
    partner.selectbox(key=f"{NEW}_category").set_value("communications_packages")
    partner.multiselect(key=f"{NEW}_groups").set_value(["health_professionals"])
    partner.multiselect(key=f"{NEW}_areas").set_value(["PT"])
    partner.button(key=f"FormSubmitter:{NEW}-Check for similar initiatives").click().run()
    assert not partner.exception, partner.exception
    shown = texts(partner)
    assert "Similar initiatives exist" in shown, shown
    assert "Why:" in shown
    similar = partner.session_state[f"{NEW}_similar"]
    partner.text_area(key=f"{NEW}_differs").input("Ours is for pharmacists")
    partner.button(key=f"FormSubmitter:{NEW}-Submit for review").click().run()
    assert not partner.exception, partner.exception
    assert "Submitted." in texts(partner)
    engine = make_engine(demo_url)
    with Session(engine) as session:
        created = session.exec(
            select(Initiative).where(
                Initiative.title == "Dados móveis grátis para profissionais de saúde"
            )
        ).one()
        notes = session.exec(
            select(OverlapNote).where(OverlapNote.initiative_id == created.id)
        ).all()
    engine.dispose()
    assert {n.other_initiative_id for n in notes} == {s.initiative_id for s in similar}
    assert all(n.note == "Ours is for pharmacists" for n in notes)
