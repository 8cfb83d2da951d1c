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
