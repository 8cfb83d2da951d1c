"""Account administration: admin only, audited, optimistic locking."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from hub.audit import AuditEntry
from hub.auth import Role, password_problem
from hub.errors import InvalidInput, PermissionDenied, StaleRecord
from partners.accounts import (
    authenticate,
    change_own_password,
    create_account,
    list_accounts,
    principal_for,
    reset_password,
    set_account_active,
    update_account,
)
from partners.models import Account, AccountDraft
from tests.factories import PASSWORD, make_account, make_organisation, make_principal


def test_admin_creates_partner_account_with_one_time_password(session: Session) -> None:
    admin = make_principal(session, role=Role.ADMIN)
    organisation = make_organisation(session)
    account, temporary = create_account(
        session=session,
        actor=admin,
        draft=AccountDraft(
            email=" New.User@Example.PT ",
            display_name="New  User",
            role=Role.PARTNER,
            organisation_id=organisation.id,
        ),
    )
    assert account.email == "new.user@example.pt"
    assert account.display_name == "New User"
    assert account.must_change_password
    assert temporary and len(temporary) >= 12
    assert authenticate(session=session, email="new.user@example.pt", password=temporary)
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "create")).one()
    assert entry.actor_id == admin.account_id
    assert entry.after is not None and entry.after["email"] == "new.user@example.pt"
    assert "password_hash" not in entry.after


@pytest.mark.parametrize("role", [Role.STAFF, Role.PARTNER])
def test_only_admins_manage_accounts(session: Session, role: Role) -> None:
    actor = make_principal(session, role=role)
    target = make_account(session)
    with pytest.raises(PermissionDenied):
        create_account(
            session=session,
            actor=actor,
            draft=AccountDraft(email="x@example.pt", display_name="X", role=Role.STAFF),
        )
    with pytest.raises(PermissionDenied):
        set_account_active(
            session=session,
            actor=actor,
            account_id=target.id or 0,
            active=False,
            expected_version=target.version,
        )
    with pytest.raises(PermissionDenied):
        reset_password(
            session=session, actor=actor, account_id=target.id or 0, expected_version=target.version
        )
    with pytest.raises(PermissionDenied):
        list_accounts(session=session, actor=actor)


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (AccountDraft(email="not-an-email", display_name="A", role=Role.STAFF), "email"),
        (AccountDraft(email="a@example.pt", display_name="  ", role=Role.STAFF), "display_name"),
        (
            AccountDraft(email="a@example.pt", display_name="A", role=Role.PARTNER),
            "organisation_id",
        ),
        (
            AccountDraft(email="a@example.pt", display_name="A", role=Role.STAFF, password="short"),
            "password",
        ),
    ],
)
def test_bad_account_input_names_the_field(
    session: Session, draft: AccountDraft, field: str
) -> None:
    admin = make_principal(session, role=Role.ADMIN)
    with pytest.raises(InvalidInput) as caught:
        create_account(session=session, actor=admin, draft=draft)
    assert caught.value.field == field
    assert session.exec(select(Account).where(Account.email == "a@example.pt")).first() is None


def test_duplicate_email_is_refused(session: Session) -> None:
    admin = make_principal(session, role=Role.ADMIN)
    make_account(session, email="taken@example.pt")
    with pytest.raises(InvalidInput, match="already exists"):
        create_account(
            session=session,
            actor=admin,
            draft=AccountDraft(email="TAKEN@example.pt", display_name="B", role=Role.STAFF),
        )


def test_disable_reset_and_change_role_are_audited(session: Session) -> None:
    admin = make_principal(session, role=Role.ADMIN)
    organisation = make_organisation(session)
    account = make_account(session, role=Role.STAFF)

    account = set_account_active(
        session=session,
        actor=admin,
        account_id=account.id or 0,
        active=False,
        expected_version=account.version,
    )
    assert not account.active
    account = set_account_active(
        session=session,
        actor=admin,
        account_id=account.id or 0,
        active=True,
        expected_version=account.version,
    )
    account, temporary = reset_password(
        session=session, actor=admin, account_id=account.id or 0, expected_version=account.version
    )
    assert account.must_change_password
    account = update_account(
        session=session,
        actor=admin,
        account_id=account.id or 0,
        display_name="Renamed",
        role=Role.PARTNER,
        organisation_id=organisation.id,
        expected_version=account.version,
    )
    assert account.role is Role.PARTNER and account.organisation_id == organisation.id

    actions = session.exec(
        select(AuditEntry.action)
        .where(AuditEntry.entity_id == str(account.id))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["disable", "enable", "reset_password", "update"]
    update_entry = session.exec(select(AuditEntry).where(AuditEntry.action == "update")).one()
    assert update_entry.before is not None and update_entry.after is not None
    assert update_entry.before["role"] == "staff" and update_entry.after["role"] == "partner"
    assert temporary not in str(update_entry.model_dump())


def test_admin_cannot_lock_themselves_out(session: Session) -> None:
    admin = make_principal(session, role=Role.ADMIN)
    me = session.get(Account, admin.account_id)
    assert me is not None
    with pytest.raises(PermissionDenied):
        set_account_active(
            session=session,
            actor=admin,
            account_id=admin.account_id,
            active=False,
            expected_version=me.version,
        )
    with pytest.raises(PermissionDenied):
        update_account(
            session=session,
            actor=admin,
            account_id=admin.account_id,
            display_name="Me",
            role=Role.STAFF,
            organisation_id=None,
            expected_version=me.version,
        )


def test_second_save_of_the_same_account_is_refused(session: Session) -> None:
    first_admin = make_principal(session, role=Role.ADMIN, display_name="First Admin")
    second_admin = make_principal(session, role=Role.ADMIN)
    account = make_account(session)
    shown = account.version  # both admins opened the form at this version

    update_account(
        session=session,
        actor=first_admin,
        account_id=account.id or 0,
        display_name="Changed by first",
        role=Role.STAFF,
        organisation_id=None,
        expected_version=shown,
    )
    with pytest.raises(StaleRecord, match="First Admin") as caught:
        update_account(
            session=session,
            actor=second_admin,
            account_id=account.id or 0,
            display_name="Changed by second",
            role=Role.ADMIN,
            organisation_id=None,
            expected_version=shown,
        )
    assert "reload" in str(caught.value)
    session.expire_all()
    stored = session.get(Account, account.id)
    assert stored is not None and stored.display_name == "Changed by first"
    assert stored.role is Role.STAFF


@pytest.mark.parametrize("password", ["password12", "aaaaaaaaaa", "new.person@example.pt"])
def test_creating_an_account_refuses_a_guessable_password(session: Session, password: str) -> None:
    """Issue 13.16: each of these used to be accepted at account creation (and the CLI's
    create-user, which goes through the same validation)."""
    admin = make_principal(session, role=Role.ADMIN)
    draft = AccountDraft(
        email="New.Person@example.pt",
        display_name="New Person",
        role=Role.STAFF,
        password=password,
    )
    with pytest.raises(InvalidInput) as caught:
        create_account(session=session, actor=admin, draft=draft)
    assert caught.value.field == "password"
    assert (
        session.exec(select(Account).where(Account.email == "new.person@example.pt")).first()
        is None
    )


def test_changing_ones_own_password_refuses_a_guessable_one(session: Session) -> None:
    account = make_account(session, email="owner@example.pt", display_name="Ana Owner")
    actor = principal_for(account)
    for password in ("password12", "ana owner at home", "zzzzzzzzzzzz"):
        with pytest.raises(InvalidInput) as caught:
            change_own_password(
                session=session,
                actor=actor,
                current_password=PASSWORD,
                new_password=password,
            )
        assert caught.value.field == "new_password"
    change_own_password(
        session=session, actor=actor, current_password=PASSWORD, new_password="a quiet river bend"
    )


def test_a_reset_password_passes_the_policy(session: Session) -> None:
    admin = make_principal(session, role=Role.ADMIN)
    account = make_account(session)
    _account, temporary = reset_password(
        session=session, actor=admin, account_id=account.id, expected_version=account.version
    )
    assert password_problem(temporary, email=account.email) is None
