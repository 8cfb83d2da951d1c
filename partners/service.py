"""Organisations: the partner directory.

Staff create and edit any organisation; a partner user may edit their own
organisation's profile but not its trust level. Every write is audited.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hub.audit import record_change, snapshot
from hub.auth import Principal, require_member_of, require_staff
from hub.clean import cleaned
from hub.errors import InvalidInput, NotFound
from hub.i18n import _
from hub.records import check_version, save_record
from hub.urls import safe_http_url
from partners.models import Organisation, OrganisationDraft, OrganisationPublic
from partners.orgid import check_org_id


def clean_website(raw: str) -> str:
    """An http(s) URL or empty; anything else is refused (no javascript: links)."""
    if not raw.strip():
        return ""
    url = safe_http_url(raw)
    if url is None:
        raise InvalidInput(
            _("Website: enter an address starting with https:// (for example https://www.gov.pt)."),
            field="website",
        )
    return url


def clean_org_identifier(raw: str) -> str:
    """An org-id.guide identifier (issue 16) or empty."""
    if not raw.strip():
        return ""
    return check_org_id(raw, label=_("Organisation identifier"), field="org_identifier")


def validate_organisation(draft: OrganisationDraft) -> OrganisationDraft:
    draft = cleaned(draft)
    name = " ".join(draft.name.split())
    if not name:
        raise InvalidInput(_("Name: the organisation needs a name."), field="name")
    if len(name) > 200:
        raise InvalidInput(_("Name: use at most 200 characters."), field="name")
    if len(draft.acronym.strip()) > 40:
        raise InvalidInput(_("Acronym: use at most 40 characters."), field="acronym")
    if len(draft.sector.strip()) > 120:
        raise InvalidInput(_("Sector: use at most 120 characters."), field="sector")
    return draft.model_copy(
        update={
            "name": name,
            "acronym": draft.acronym.strip(),
            "sector": draft.sector.strip(),
            "website": clean_website(draft.website),
            "org_identifier": clean_org_identifier(draft.org_identifier),
        }
    )


def _name_taken(session: Session, name: str, *, except_id: int | None = None) -> bool:
    query = select(Organisation.id).where(func.lower(Organisation.name) == name.lower())
    if except_id is not None:
        query = query.where(Organisation.id != except_id)
    return session.exec(query).first() is not None


def _duplicate_name_error(name: str) -> InvalidInput:
    return InvalidInput(
        _("Name: an organisation called '{name}' already exists.").format(name=name),
        field="name",
    )


def create_organisation(
    *, session: Session, actor: Principal | None, draft: OrganisationDraft
) -> Organisation:
    require_staff(actor)
    assert actor is not None
    draft = validate_organisation(draft)
    if _name_taken(session, draft.name):
        raise _duplicate_name_error(draft.name)
    organisation = Organisation(**draft.model_dump(), updated_by=actor.label)
    session.add(organisation)
    try:
        session.flush()
    except IntegrityError:  # a concurrent insert of the same name
        session.rollback()
        raise _duplicate_name_error(draft.name) from None
    record_change(
        session=session,
        actor=actor,
        action="create",
        entity_type="organisation",
        entity_id=organisation.id,
        after=snapshot(organisation),
    )
    session.commit()
    return organisation


def update_organisation(
    *,
    session: Session,
    actor: Principal | None,
    organisation_id: int,
    draft: OrganisationDraft,
    expected_version: int,
) -> Organisation:
    """Save an edit made on a form that showed ``expected_version`` of the record."""
    require_member_of(actor, organisation_id)
    assert actor is not None
    organisation = get_organisation(session=session, organisation_id=organisation_id)
    check_version(organisation, expected_version)
    draft = validate_organisation(draft)
    if not actor.is_staff:
        # A partner describes itself; how far the office trusts it is the office's call.
        draft = draft.model_copy(update={"trust_level": organisation.trust_level})
    if _name_taken(session, draft.name, except_id=organisation_id):
        raise _duplicate_name_error(draft.name)
    before = snapshot(organisation)
    for field, value in draft.model_dump().items():
        setattr(organisation, field, value)
    return save_record(
        session=session,
        actor=actor,
        record=organisation,
        action="update",
        entity_type="organisation",
        before=before,
    )


def set_organisation_active(
    *,
    session: Session,
    actor: Principal | None,
    organisation_id: int,
    active: bool,
    expected_version: int,
) -> Organisation:
    require_staff(actor)
    assert actor is not None
    organisation = get_organisation(session=session, organisation_id=organisation_id)
    check_version(organisation, expected_version)
    before = snapshot(organisation)
    organisation.active = active
    return save_record(
        session=session,
        actor=actor,
        record=organisation,
        action="activate" if active else "deactivate",
        entity_type="organisation",
        before=before,
    )


def get_organisation(*, session: Session, organisation_id: int) -> Organisation:
    organisation = session.get(Organisation, organisation_id, populate_existing=True)
    if organisation is None:
        raise NotFound(_("That organisation does not exist."))
    return organisation


def list_organisations(*, session: Session, include_inactive: bool = False) -> list[Organisation]:
    query = select(Organisation).order_by(func.lower(Organisation.name))
    if not include_inactive:
        query = query.where(col(Organisation.active).is_(True))
    return list(session.exec(query).all())


def list_public_organisations(*, session: Session) -> list[OrganisationPublic]:
    return [
        OrganisationPublic.model_validate(org, from_attributes=True)
        for org in list_organisations(session=session)
    ]


def find_organisation(*, session: Session, name_or_acronym: str) -> Organisation:
    key = name_or_acronym.strip().lower()
    organisation = session.exec(
        select(Organisation).where(
            (func.lower(Organisation.name) == key) | (func.lower(Organisation.acronym) == key)
        )
    ).first()
    if organisation is None:
        raise NotFound(
            _("No organisation is called '{name}'. Check the name or acronym.").format(
                name=name_or_acronym
            )
        )
    return organisation


def count_by_type(*, session: Session) -> dict[str, int]:
    rows = session.exec(
        select(Organisation.type, func.count())
        .where(col(Organisation.active).is_(True))
        .group_by(Organisation.type)
    ).all()
    return {str(organisation_type): int(count) for organisation_type, count in rows}
