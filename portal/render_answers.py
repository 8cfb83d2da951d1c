"""Open data of issue 8: the contacts directory (JSON and CSV), the published official
answers and the measures in force, built from their public shapes only."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from answers.directory import (
    contacts_csv,
    contacts_json,
    list_public_contacts,
    list_public_measures,
    open_data_json,
)
from answers.service import list_public_answers
from portal.render import item_url

ANSWERS_FILES = frozenset({"contacts.json", "contacts.csv", "answers.json", "measures.json"})
EVERYTHING = 100_000


def build_answers_file(
    *, session: Session, name: str, generated_at: datetime, demo: bool, static: bool = False
) -> bytes:
    """One open-data file; answers and measures carry ``url``, their page's address."""
    if name == "contacts.csv":
        return contacts_csv(list_public_contacts(session=session))
    if name == "contacts.json":
        return contacts_json(
            list_public_contacts(session=session), generated_at=generated_at, demo=demo
        )
    if name == "answers.json":
        answers = [
            a.model_copy(update={"url": item_url("answers", a.id, static=static)})
            for a in list_public_answers(session=session, limit=EVERYTHING)
        ]
        return open_data_json("answers", answers, generated_at=generated_at, demo=demo)
    if name == "measures.json":
        measures = [
            m.model_copy(update={"url": item_url("measures", m.id, static=static)})
            for m in list_public_measures(session=session, limit=EVERYTHING)
        ]
        return open_data_json("measures", measures, generated_at=generated_at, demo=demo)
    raise KeyError(name)
