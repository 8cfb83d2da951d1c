"""Factories for test records: ``make_organisation(session, **overrides)``.

Each makes a valid record through the same path the app uses where one exists (the
services, so rules and audit hold), with every field overridable.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from answers.models import Question, QuestionDraft
from answers.service import ask_question
from feeds.models import FeedSource, FeedState, TrustTier
from geo.areas import load_reference_areas
from hub.auth import Principal, Role, hash_password
from initiatives.models import Channel, Initiative, InitiativeDraft
from initiatives.service import approve, create_initiative
from partners.accounts import principal_for
from partners.models import Account, Organisation

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def make_organisation(session: Session, **overrides: Any) -> Organisation:
    n = next(_counter)
    values: dict[str, Any] = {"name": f"Organisation {n}", "acronym": f"O{n}"}
    values.update(overrides)
    organisation = Organisation(**values)
    session.add(organisation)
    session.commit()
    return organisation


def make_account(
    session: Session,
    *,
    role: Role = Role.STAFF,
    organisation: Organisation | None = None,
    password: str = PASSWORD,
    **overrides: Any,
) -> Account:
    n = next(_counter)
    values: dict[str, Any] = {
        "email": f"user{n}@example.pt",
        "display_name": f"User {n}",
        "role": role,
        "organisation_id": organisation.id if organisation else None,
        "password_hash": hash_password(password),
    }
    values.update(overrides)
    account = Account(**values)
    session.add(account)
    session.commit()
    return account


def make_principal(
    session: Session,
    *,
    role: Role = Role.STAFF,
    organisation: Organisation | None = None,
    **overrides: Any,
) -> Principal:
    if role is Role.PARTNER and organisation is None:
        organisation = make_organisation(session)
    return principal_for(make_account(session, role=role, organisation=organisation, **overrides))


def initiative_draft(organisation: Organisation, **overrides: Any) -> InitiativeDraft:
    """A valid draft led by ``organisation``."""
    values: dict[str, Any] = {
        "title": f"Free mobile data for health workers {next(_counter)}",
        "description": "Extra mobile data at no cost for doctors and nurses during the emergency.",
        "lead_organisation_id": organisation.id,
        "category": "connectivity",
        "target_groups": ["health_professionals"],
        "areas": ["PT-11", "1106"],
        "channels": [Channel.ONLINE, Channel.PHONE],
        "planned_start": date(2020, 3, 20),
        "planned_end": date(2020, 6, 30),
        "people_targeted": 1000,
        "link": "https://example.pt/dados",
        "contact_email": "contacto@example.pt",
    }
    values.update(overrides)
    return InitiativeDraft(**values)


def make_initiative(
    session: Session,
    organisation: Organisation,
    *,
    actor: Principal | None = None,
    submit: bool = False,
    publish: bool = False,
    **overrides: Any,
) -> Initiative:
    """An initiative led by ``organisation`` created through the service (by staff unless
    ``actor`` is given): a draft, submitted, or published (approved by staff)."""
    staff = make_principal(session, role=Role.STAFF) if actor is None or publish else None
    created = create_initiative(
        session=session,
        actor=actor or staff,
        draft=initiative_draft(organisation, **overrides),
        submit=submit or publish,
    )
    if not publish:
        return created
    return approve(
        session=session,
        actor=staff,
        initiative_id=created.id or 0,
        expected_version=created.version,
    )


def make_source(session: Session, **overrides: Any) -> FeedSource:
    """A feed source with its poll state, as the fetcher expects (no URL check: tests
    point sources at 127.0.0.1)."""
    n = next(_counter)
    values: dict[str, Any] = {
        "name": f"Source {n}",
        "url": f"https://feeds.example.pt/{n}.xml",
        "trust": TrustTier.TRUSTED,
    }
    values.update(overrides)
    source = FeedSource(**values)
    session.add(source)
    session.flush()
    session.add(FeedState(source_id=source.id or 0))
    session.commit()
    return source


def make_question(
    session: Session, text: str = "", *, email: str = "", client: str = "", **overrides: Any
) -> Question:
    """A question from the public through the public form's service (rate limit
    included: give each call its own ``client`` to stay under it)."""
    n = next(_counter)
    question_id = ask_question(
        session=session,
        actor=None,
        draft=QuestionDraft(
            text=text or f"Where can I get a free SIM card, question {n}?", email=email
        ),
        client=client or f"factory-client-{n}",
        **overrides,
    )
    question = session.get(Question, question_id)
    assert question is not None
    return question


@dataclass(frozen=True)
class World:
    """Reference areas, one staff member and three organisations with a partner user each:
    the registry tests' common start (``world`` fixture in tests/conftest.py)."""

    staff: Principal
    own: Organisation  # "Operadora Móvel" (OPM): the partner's own organisation
    other: Organisation  # "Escola Digital" (ED): an organisation the partner is not in
    joint: Organisation  # "Operadora Sul": a third organisation, for participants and pairs
    partner: Principal  # a partner user of ``own``
    joint_partner: Principal  # a partner user of ``joint``


def make_world(session: Session) -> World:
    load_reference_areas(session=session)
    own = make_organisation(session, name="Operadora Móvel", acronym="OPM")
    other = make_organisation(session, name="Escola Digital", acronym="ED")
    joint = make_organisation(session, name="Operadora Sul", acronym="OPS")
    return World(
        staff=make_principal(session, role=Role.STAFF),
        own=own,
        other=other,
        joint=joint,
        partner=make_principal(session, role=Role.PARTNER, organisation=own),
        joint_partner=make_principal(session, role=Role.PARTNER, organisation=joint),
    )
