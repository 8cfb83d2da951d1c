"""Issue 8 on the Streamlit pages: the public asks, staff merge / answer / publish, and the
answer appears on the public page (with the demo's contacts and measures)."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from answers.models import Question, QuestionContact, QuestionState, Topic
from hub.auth import Role
from hub.db import make_engine
from tests.app.conftest import texts
from ui.answers import QUESTION_EMAIL_KEY, QUESTION_TEXT_KEY

Opener = Callable[[Role | None], AppTest]
SEND = "FormSubmitter:public_question-Send the question"
MASK_QUESTION = "Devo usar máscara nos transportes públicos?"


def questions(url: str) -> list[Question]:
    engine = make_engine(url)
    with Session(engine) as session:
        rows = list(session.exec(select(Question).order_by(Question.id)).all())
    engine.dispose()
    return rows


def labels(app: AppTest) -> str:
    return "\n".join(e.label for e in app.expander).replace("\\", "")


def ask(app: AppTest, text: str, email: str = "") -> AppTest:
    app.text_area(key=QUESTION_TEXT_KEY).input(text)
    app.text_input(key=QUESTION_EMAIL_KEY).input(email)
    return app.button(key=SEND).click().run()


def test_public_page_shows_contacts_answers_and_measures(open_app: Opener) -> None:
    app = open_app(None).run()
    assert not app.exception, app.exception
    assert {"112", "808 24 24 24"} <= {m.value for m in app.metric}
    assert MASK_QUESTION in labels(app)
    shown = texts(app)
    assert "Questions answered by the authorities" in shown
    assert "Measures in force" in shown and "Apoio excecional à família" in shown
    app.text_input(key="public_answers_search").input("receita").run()
    assert "Como obtenho a receita médica" in labels(app)
    assert MASK_QUESTION not in labels(app)


def test_ask_merge_answer_publish_then_public(open_app: Opener, demo_url: str) -> None:
    before = len(questions(demo_url))
    public = ask(open_app(None).run(), "<script>alert(1)</script> mask?")
    assert "without HTML tags" in texts(public)
    assert public.text_area(key=QUESTION_TEXT_KEY).value.startswith("<script>")  # kept to fix
    ask(public, "Devo usar máscara no autocarro? Liguem-me: 912 345 678", "eu@example.pt")
    assert "Thank you. The coordination office" in texts(public)
    ask(public, "Quando reabrem as creches e os jardins de infância?")
    rows = questions(demo_url)
    assert len(rows) == before + 2
    bus, nursery = rows[-2], rows[-1]
    assert bus.state is QuestionState.RECEIVED and "[number removed]" in bus.public_text
    assert "Devo usar máscara no autocarro" not in labels(open_app(None).run())

    staff = open_app(Role.STAFF).run()
    staff.switch_page("pages/staff_questions.py").run()
    assert not staff.exception, staff.exception
    staff.selectbox(key="questions_pick").set_value(bus.id).run()
    mask = next(q for q in rows if q.public_text == MASK_QUESTION)
    staff.button(key=f"merge_{bus.id}_{mask.id}").click().run()
    assert not staff.exception, staff.exception
    merged = {q.id: q for q in questions(demo_url)}
    assert merged[bus.id].state is QuestionState.MERGED
    assert merged[mask.id].ask_count == mask.ask_count + 1

    staff.selectbox(key="questions_pick").set_value(nursery.id).run()
    form = f"questions_answer_{nursery.id}"
    staff.selectbox(key=f"{form}_topic").set_value(Topic.EDUCATION)
    staff.text_input(key=f"{form}_authority").input("DGEstE")
    staff.text_area(key=f"{form}_answer").input("As creches reabrem a 18 de maio.")
    staff.text_input(key=f"{form}_source").input("https://www.dge.mec.pt/creches")
    staff.button(key=f"FormSubmitter:{form}-Save").click().run()
    assert not staff.exception, staff.exception
    staff.button(key=f"{form}_publish_question").click().run()
    assert not staff.exception, staff.exception
    assert {q.id: q for q in questions(demo_url)}[nursery.id].state is QuestionState.PUBLISHED

    public = open_app(None).run()
    assert "Quando reabrem as creches" in labels(public)
    assert "As creches reabrem a 18 de maio." in texts(public)
    assert "eu@example.pt" not in texts(public) + labels(public)
    engine = make_engine(demo_url)
    with Session(engine) as session:
        contact = session.exec(select(QuestionContact)).one()
    engine.dispose()
    assert contact.question_id == mask.id  # told when the merged-into question changes

    public.button(key=f"useful_{nursery.id}").click().run()
    assert "Thank you for telling us." in texts(public)
    public.button(key=f"useful_{nursery.id}").click().run()
    assert "already counted" in texts(public)
    assert {q.id: q for q in questions(demo_url)}[nursery.id].useful_count == 1


def test_staff_directory_saves_a_contact_and_refuses_a_bad_phone(open_app: Opener) -> None:
    staff = open_app(Role.STAFF).run()
    staff.switch_page("pages/staff_directory.py").run()
    assert not staff.exception, staff.exception
    form = "directory_contact_new"
    staff.text_input(key=f"{form}_name").input("Linha teste")
    staff.text_input(key=f"{form}_phone").input("808-24-24")
    staff.button(key=f"FormSubmitter:{form}-Save the contact").click().run()
    assert "Phone: use only digits and spaces" in texts(staff)
    staff.text_input(key=f"{form}_phone").input("808 24 24 24")
    staff.checkbox(key=f"{form}_published").check()
    staff.button(key=f"FormSubmitter:{form}-Save the contact").click().run()
    assert not staff.exception, staff.exception
    assert "Contact saved." in texts(staff)
    public = open_app(None).run()
    frames = [f.value for f in public.dataframe]
    assert any("Linha teste" in set(frame.iloc[:, 0]) for frame in frames)
