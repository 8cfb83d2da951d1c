"""The partner directory: staff manage it, partners only their own profile."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hub.audit import AuditEntry
from hub.auth import Role
from hub.errors import InvalidInput, PermissionDenied, StaleRecord
from partners.models import Organisation, OrganisationDraft, OrganisationType, TrustLevel
from partners.service import (
    create_organisation,
    list_public_organisations,
    set_organisation_active,
    update_organisation,
)
from tests.factories import make_organisation, make_principal


def draft(**overrides: object) -> OrganisationDraft:
    values: dict[str, object] = {
        "name": "Direção-Geral da Saúde",
        "acronym": "DGS",
        "type": OrganisationType.PUBLIC,
        "website": "www.dgs.pt",
    }
    values.update(overrides)
    return OrganisationDraft(**values)  # type: ignore[arg-type]


def test_staff_create_organisation_normalised_and_audited(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    created = create_organisation(
        session=session, actor=staff, draft=draft(name="  Direção-Geral   da Saúde ")
    )
    assert created.name == "Direção-Geral da Saúde"
    assert created.website == "https://www.dgs.pt"
    entry = session.exec(select(AuditEntry).where(AuditEntry.entity_type == "organisation")).one()
    assert entry.action == "create" and entry.actor_label == staff.label


def test_partner_cannot_create_organisations(session: Session) -> None:
    partner = make_principal(session, role=Role.PARTNER)
    with pytest.raises(PermissionDenied):
        create_organisation(session=session, actor=partner, draft=draft())


def test_names_are_unique_whatever_the_case(session: Session) -> None:
    staff = make_principal(session, role=Role.STAFF)
    create_organisation(session=session, actor=staff, draft=draft())
    with pytest.raises(InvalidInput) as caught:
        create_organisation(
            session=session, actor=staff, draft=draft(name="DIREÇÃO-GERAL DA SAÚDE")
        )
    assert caught.value.field == "name"


@pytest.mark.parametrize(
    "website",
    [
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://files.example.pt",
        "https://exa mple.pt",
        "https://example.pt/a)b",
    ],
)
def test_website_must_be_plain_http_or_https(session: Session, website: str) -> None:
    staff = make_principal(session, role=Role.STAFF)
    with pytest.raises(InvalidInput) as caught:
        create_organisation(session=session, actor=staff, draft=draft(website=website))
    assert caught.value.field == "website"
    assert session.exec(select(Organisation)).all() == []


def test_partner_edits_own_profile_but_not_trust_or_others(session: Session) -> None:
    own = make_organisation(session, name="Own", trust_level=TrustLevel.NEW)
    other = make_organisation(session, name="Other")
    partner = make_principal(session, role=Role.PARTNER, organisation=own)

    updated = update_organisation(
        session=session,
        actor=partner,
        organisation_id=own.id or 0,
        draft=draft(name="Own (renamed)", trust_level=TrustLevel.VERIFIED),
        expected_version=own.version,
    )
    assert updated.name == "Own (renamed)"
    assert updated.trust_level is TrustLevel.NEW  # the office's call, not the partner's

    with pytest.raises(PermissionDenied):
        update_organisation(
            session=session,
            actor=partner,
            organisation_id=other.id or 0,
            draft=draft(name="Hijacked"),
            expected_version=other.version,
        )
    session.expire_all()
    assert session.get(Organisation, other.id).name == "Other"  # type: ignore[union-attr]


def test_two_staff_saving_the_same_record(session: Session) -> None:
    first = make_principal(session, role=Role.STAFF, display_name="Maria Staff")
    second = make_principal(session, role=Role.STAFF)
    organisation = make_organisation(session, name="Shared")
    shown = organisation.version

    update_organisation(
        session=session,
        actor=first,
        organisation_id=organisation.id or 0,
        draft=draft(name="Shared (first)"),
        expected_version=shown,
    )
    with pytest.raises(StaleRecord, match="Maria Staff"):
        update_organisation(
            session=session,
            actor=second,
            organisation_id=organisation.id or 0,
            draft=draft(name="Shared (second)"),
            expected_version=shown,
        )
    with pytest.raises(StaleRecord):
        set_organisation_active(
            session=session,
            actor=second,
            organisation_id=organisation.id or 0,
            active=False,
            expected_version=shown,
        )
    session.expire_all()
    stored = session.get(Organisation, organisation.id)
    assert stored is not None and stored.name == "Shared (first)" and stored.active


def test_concurrent_flush_is_refused_by_the_version_column(engine: Engine) -> None:
    """Both sessions read version 1 and pass the check; the database still refuses one."""
    with Session(engine) as setup:
        organisation_id = make_organisation(setup, name="Race").id
        staff_a = make_principal(setup, role=Role.STAFF, display_name="A")
        staff_b = make_principal(setup, role=Role.STAFF, display_name="B")
    with Session(engine) as session_a, Session(engine) as session_b:
        record_a = session_a.get(Organisation, organisation_id)
        record_b = session_b.get(Organisation, organisation_id)
        assert record_a is not None and record_b is not None
        update_organisation(
            session=session_a,
            actor=staff_a,
            organisation_id=organisation_id or 0,
            draft=draft(name="Race A"),
            expected_version=1,
        )
        # session_b still holds version 1 in its identity map; its UPDATE must not match.
        record_b.name = "Race B"
        with pytest.raises(Exception, match="expected to update 1 row"):
            session_b.commit()
    del staff_b
    with Session(engine) as check:
        assert check.get(Organisation, organisation_id).name == "Race A"  # type: ignore[union-attr]


def test_public_shape_hides_trust_and_inactive(session: Session) -> None:
    make_organisation(session, name="Visible", trust_level=TrustLevel.NEW)
    make_organisation(session, name="Gone", active=False)
    public = list_public_organisations(session=session)
    assert [o.name for o in public] == ["Visible"]
    assert "trust_level" not in public[0].model_dump()


def test_a_stale_activation_toggle_is_refused(engine: Engine) -> None:
    """Both requests passed the version check; the toggle that writes second got a raw
    StaleDataError instead of "reload" (its save lacked the stale-record guard)."""
    with Session(engine) as setup:
        organisation_id = make_organisation(setup, name="Toggle").id or 0
        editor = make_principal(setup, role=Role.STAFF, display_name="Maria Staff")
        toggler = make_principal(setup, role=Role.STAFF, display_name="Rui Staff")
    with (
        Session(engine, expire_on_commit=False) as mine,
        Session(engine, expire_on_commit=False) as theirs,
    ):

        def edit_elsewhere(*_args: object) -> None:
            update_organisation(
                session=theirs,
                actor=editor,
                organisation_id=organisation_id,
                draft=draft(name="Toggle (renamed)"),
                expected_version=1,
            )

        event.listen(mine, "before_flush", edit_elsewhere, once=True)
        with pytest.raises(StaleRecord, match=r"Maria Staff.*reload"):
            set_organisation_active(
                session=mine,
                actor=toggler,
                organisation_id=organisation_id,
                active=False,
                expected_version=1,
            )
    with Session(engine) as check:
        stored = check.get(Organisation, organisation_id)
        assert stored is not None and stored.name == "Toggle (renamed)" and stored.active
        actions = check.exec(
            select(AuditEntry.action).where(AuditEntry.entity_type == "organisation")
        ).all()
        assert "deactivate" not in actions
