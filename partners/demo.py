"""Illustrative demo data: the organisations that formed Portugal's 2020 office, and
their demo accounts (``wiring.load_demo`` loads the other packages' demo data next).

The records are labelled as illustrative everywhere they appear (banner in demo mode,
data/README.md). Demo accounts share one published password, so demo data must never
be loaded into a real deployment: the loader refuses unless demo mode is on or the
operator asks explicitly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from hub.audit import record_change, snapshot
from hub.auth import Role, hash_password
from hub.settings import PROJECT_ROOT
from partners.models import Account, Organisation, OrganisationDraft
from partners.service import validate_organisation

DEMO_DIR = PROJECT_ROOT / "data" / "demo"
DEMO_PASSWORD = "demo-hub-2020"  # noqa: S105 - published on purpose, demo only


@dataclass(frozen=True)
class DemoAccount:
    email: str
    display_name: str
    role: Role
    organisation: str | None


def demo_accounts() -> list[DemoAccount]:
    rows = json.loads((DEMO_DIR / "accounts.json").read_text(encoding="utf-8"))
    return [
        DemoAccount(row["email"], row["display_name"], Role(row["role"]), row["organisation"])
        for row in rows
    ]


def database_is_empty(*, session: Session) -> bool:
    organisations = session.exec(select(func.count()).select_from(Organisation)).one()
    accounts = session.exec(select(func.count()).select_from(Account)).one()
    return organisations == 0 and accounts == 0


def load_demo_partners(*, session: Session) -> int:
    """Insert the demo organisations and accounts in one transaction; returns how many
    records were added. Records already present (same name / e-mail) are left alone."""
    added = 0
    by_key: dict[str, Organisation] = {}
    existing = {o.name.lower(): o for o in session.exec(select(Organisation)).all()}
    rows = json.loads((DEMO_DIR / "organisations.json").read_text(encoding="utf-8"))
    for row in rows:
        draft = validate_organisation(OrganisationDraft(**row))
        organisation = existing.get(draft.name.lower())
        if organisation is None:
            organisation = Organisation(**draft.model_dump(), updated_by="demo loader")
            session.add(organisation)
            session.flush()
            record_change(
                session=session,
                actor=None,
                action="create",
                entity_type="organisation",
                entity_id=organisation.id,
                after=snapshot(organisation),
                summary="demo data",
            )
            added += 1
        by_key[organisation.name.lower()] = organisation
        if organisation.acronym:
            by_key[organisation.acronym.lower()] = organisation
    password_hash = hash_password(DEMO_PASSWORD)
    emails = set(session.exec(select(Account.email)).all())
    for demo in demo_accounts():
        if demo.email in emails:
            continue
        organisation_id = by_key[demo.organisation.lower()].id if demo.organisation else None
        account = Account(
            email=demo.email,
            display_name=demo.display_name,
            role=demo.role,
            organisation_id=organisation_id,
            password_hash=password_hash,
            updated_by="demo loader",
        )
        session.add(account)
        session.flush()
        record_change(
            session=session,
            actor=None,
            action="create",
            entity_type="account",
            entity_id=account.id,
            after=snapshot(account),
            summary="demo data",
        )
        added += 1
    session.commit()
    return added
