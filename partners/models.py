"""Organisations and accounts: table models, form inputs and the public shape."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel
from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from hub.auth import Principal, Role
from hub.clean import CleanInput
from hub.i18n import N_
from hub.records import UTCDateTime, Versioned, enum_type, utcnow


class OrganisationType(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    NON_PROFIT = "non_profit"
    ACADEMIC = "academic"


ORGANISATION_TYPE_LABELS = {
    OrganisationType.PUBLIC: N_("Public"),
    OrganisationType.PRIVATE: N_("Private"),
    OrganisationType.NON_PROFIT: N_("Non-profit"),
    OrganisationType.ACADEMIC: N_("Academic"),
}


class GovernmentLevel(enum.StrEnum):
    NONE = "none"
    NATIONAL = "national"
    REGIONAL = "regional"
    MUNICIPAL = "municipal"


GOVERNMENT_LEVEL_LABELS = {
    GovernmentLevel.NONE: N_("Not government"),
    GovernmentLevel.NATIONAL: N_("National"),
    GovernmentLevel.REGIONAL: N_("Regional"),
    GovernmentLevel.MUNICIPAL: N_("Municipal"),
}


class TrustLevel(enum.StrEnum):
    """How far the office relies on this partner's submissions."""

    VERIFIED = "verified"
    KNOWN = "known"
    NEW = "new"


TRUST_LEVEL_LABELS = {
    TrustLevel.VERIFIED: N_("Verified"),
    TrustLevel.KNOWN: N_("Known"),
    TrustLevel.NEW: N_("New"),
}


class OrganisationBase(SQLModel):
    name: str = Field(max_length=200)
    acronym: str = Field(default="", max_length=40)
    type: OrganisationType = Field(
        default=OrganisationType.PUBLIC, sa_type=enum_type(OrganisationType)
    )
    sector: str = Field(default="", max_length=120)
    government_level: GovernmentLevel = Field(
        default=GovernmentLevel.NONE, sa_type=enum_type(GovernmentLevel)
    )
    website: str = Field(default="", max_length=500)
    trust_level: TrustLevel = Field(default=TrustLevel.NEW, sa_type=enum_type(TrustLevel))
    # issue 16: org-id.guide identifier (PT-NIPPC-600000000), the IATI participating-org ref
    org_identifier: str = Field(default="", max_length=120)


class Organisation(Versioned, OrganisationBase, table=True):
    __table_args__ = (Index("uq_organisation_name_lower", text("lower(name)"), unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    # Unique regardless of case (the functional index above).
    name: str = Field(max_length=200, index=True)
    active: bool = True
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str = ""


class OrganisationDraft(CleanInput):
    """What a form submits to create or edit an organisation."""

    name: str
    acronym: str = ""
    type: OrganisationType = OrganisationType.PUBLIC
    sector: str = ""
    government_level: GovernmentLevel = GovernmentLevel.NONE
    website: str = ""
    trust_level: TrustLevel = TrustLevel.NEW
    org_identifier: str = ""


class OrganisationPublic(BaseModel):
    """What the public may see of a partner: no trust level, no accounts."""

    id: int
    name: str
    acronym: str
    type: OrganisationType
    sector: str
    website: str
    org_identifier: str = ""


class Account(Versioned, SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # Stored lower-case; unique.
    email: str = Field(max_length=254, unique=True, index=True)
    display_name: str = Field(max_length=200)
    role: Role = Field(sa_type=enum_type(Role))
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    password_hash: str | None = None  # None: may only sign in through single sign-on
    active: bool = True
    must_change_password: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str = ""


class AccountDraft(CleanInput):
    RAW_FIELDS: ClassVar[frozenset[str]] = frozenset({"password"})

    email: str
    display_name: str
    role: Role
    organisation_id: int | None = None
    password: str | None = None


class AccountView(BaseModel):
    """An account as the administrators' table shows it (never the hash)."""

    id: int
    email: str
    display_name: str
    role: Role
    organisation_id: int | None
    organisation_name: str | None
    active: bool
    locked: bool
    must_change_password: bool
    last_login_at: datetime | None
    version: int


def principal_for(account: Account, *, signed_in_at: datetime | None = None) -> Principal:
    """The principal services see for ``account`` (its role and organisation as stored)."""
    assert account.id is not None
    return Principal(
        account_id=account.id,
        email=account.email,
        display_name=account.display_name,
        role=account.role,
        organisation_id=account.organisation_id,
        signed_in_at=signed_in_at or utcnow(),
    )
