"""Factories for test records: ``make_organisation(session, **overrides)``."""

from __future__ import annotations

import itertools
from typing import Any

from sqlmodel import Session

from hub.auth import Principal, Role, hash_password
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


def initiative_draft(organisation: Organisation, **overrides: Any) -> Any:
    """A valid draft led by ``organisation``."""
    from datetime import date

    from initiatives.models import Channel, InitiativeDraft

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
