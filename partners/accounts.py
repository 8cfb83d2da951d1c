"""User accounts: sign-in, lockout, and administration.

Administrators create accounts, disable and re-enable them, reset passwords and set
role and organisation. Every write is audited; the password hash never is.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, literal, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hub import settings
from hub.audit import record_change, snapshot
from hub.auth import (
    Principal,
    Role,
    hash_password,
    needs_rehash,
    password_problem,
    require_admin,
    verify_password,
)
from hub.columns import UTCDateTime
from hub.errors import AuthenticationFailed, InvalidInput, NotFound, PermissionDenied
from hub.i18n import _
from hub.records import check_version, save_record, utcnow
from partners.models import Account, AccountDraft, AccountView, Organisation, principal_for
from partners.sessions import EndReason, end_account_sessions

# Deliberately loose: the mail server is the real judge. This catches typing slips.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    if not EMAIL_PATTERN.match(email) or len(email) > 254:
        raise InvalidInput(_("E-mail: enter an address like name@example.pt."), field="email")
    return email


def _generic_failure() -> AuthenticationFailed:
    # One message for unknown e-mail, wrong password, locked or disabled account, so
    # the form does not tell an attacker which accounts exist or are locked.
    return AuthenticationFailed(
        _("Sign-in failed. Check your e-mail and password, or wait a few minutes and try again.")
    )


def authenticate(*, session: Session, email: str, password: str) -> Principal:
    """Check a password and return the principal; count failures and lock after N.

    The count and the lock are decided by the database, not read-modify-written here:
    each wrong guess is one conditional ``UPDATE ... RETURNING`` that adds one and, when
    the count reaches the limit, locks the account in the same statement. Concurrent
    guesses each get their own count, exactly one of them locks, and none lands on a
    locked account. A right password is accepted only by a conditional UPDATE that
    finds the account still unlocked, so a guess racing a lock cannot slip through.
    """
    now = utcnow()
    account = session.exec(
        select(Account)
        .where(Account.email == email.strip().lower())
        .execution_options(populate_existing=True)
    ).first()
    password_ok = verify_password(account.password_hash if account else None, password)
    if account is None or not account.active:
        raise _generic_failure()
    assert account.id is not None
    if account.locked_until is not None and account.locked_until > now:
        raise _generic_failure()
    if not password_ok:
        _count_failure(session, account.id, now)
        raise _generic_failure()
    values: dict[str, object] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if account.password_hash and needs_rehash(account.password_hash):
        values["password_hash"] = hash_password(password)
    if not _write_bookkeeping(session, account.id, now=now, **values):
        session.rollback()  # locked by a concurrent wrong guess since we read it
        raise _generic_failure()
    principal = principal_for(account, signed_in_at=now)
    record_change(
        session=session,
        actor=principal,
        action="sign_in",
        entity_type="account",
        entity_id=account.id,
        summary="signed in",
    )
    session.commit()
    return principal


def _unlocked(now: datetime) -> ColumnElement[bool]:
    return or_(col(Account.locked_until).is_(None), col(Account.locked_until) <= now)


def _count_failure(session: Session, account_id: int, now: datetime) -> None:
    """One wrong guess, counted atomically; the guess that reaches the limit locks the
    account (count back to 0) in the same statement and is the one that audits it."""
    limit = int(settings.get("HUB_LOGIN_MAX_FAILURES"))
    minutes = int(settings.get("HUB_LOGIN_LOCKOUT_MINUTES"))
    until = now + timedelta(minutes=minutes)
    reaches_limit = col(Account.failed_logins) + 1 >= limit
    row = session.execute(
        update(Account)
        .where(col(Account.id) == account_id, _unlocked(now))
        .values(
            failed_logins=case((reaches_limit, 0), else_=col(Account.failed_logins) + 1),
            locked_until=case((reaches_limit, literal(until, type_=UTCDateTime)), else_=None),
        )
        .returning(col(Account.locked_until)),
        execution_options={"synchronize_session": False},
    ).first()
    if row is not None and row[0] is not None:
        record_change(
            session=session,
            actor=None,
            action="lock",
            entity_type="account",
            entity_id=account_id,
            summary=f"locked for {minutes} min after {limit} failed sign-ins",
        )
    session.commit()


def _write_bookkeeping(
    session: Session, account_id: int, *, now: datetime | None = None, **values: object
) -> bool:
    """Update sign-in counters without bumping ``version``: a sign-in must never make an
    administrator's open form on that account stale. With ``now``, only while the
    account is unlocked at ``now``; returns whether the row was written."""
    statement = update(Account).where(col(Account.id) == account_id)
    if now is not None:
        statement = statement.where(_unlocked(now))
    result = session.execute(
        statement.values(**values).returning(col(Account.id)),
        execution_options={"synchronize_session": False},
    )
    return result.first() is not None


def principal_from_account_id(*, session: Session, account_id: int) -> Principal | None:
    """Re-read the account on every page run: a disabled account or a changed role takes
    effect at once, not at the next sign-in."""
    account = session.get(Account, account_id, populate_existing=True)
    if account is None or not account.active:
        return None
    return principal_for(account)


def principal_for_sso_email(*, session: Session, email: str) -> Principal | None:
    """Single sign-on proves who someone is; our table says what they may do."""
    account = session.exec(select(Account).where(Account.email == email.strip().lower())).first()
    if account is None or not account.active:
        return None
    return principal_for(account)


def validate_account_draft(*, session: Session, draft: AccountDraft) -> AccountDraft:
    email = normalise_email(draft.email)
    name = " ".join(draft.display_name.split())
    if not name:
        raise InvalidInput(_("Name: enter the person's name."), field="display_name")
    if draft.role is Role.PARTNER:
        if draft.organisation_id is None:
            raise InvalidInput(
                _("Organisation: a partner account must belong to an organisation."),
                field="organisation_id",
            )
        if session.get(Organisation, draft.organisation_id) is None:
            raise InvalidInput(
                _("Organisation: that organisation does not exist."), field="organisation_id"
            )
        organisation_id: int | None = draft.organisation_id
    else:
        organisation_id = None  # staff act for the office, not for one partner
    if draft.password is not None:
        problem = password_problem(draft.password, email=email, display_name=name)
        if problem:
            raise InvalidInput(_("Password: ") + problem, field="password")
    return draft.model_copy(
        update={"email": email, "display_name": name, "organisation_id": organisation_id}
    )


def generate_temporary_password() -> str:
    """A random one-time password; like every password, it passes ``password_problem``."""
    while True:
        candidate = secrets.token_urlsafe(12)
        if password_problem(candidate) is None:
            return candidate


def create_account(
    *, session: Session, actor: Principal | None, draft: AccountDraft
) -> tuple[Account, str | None]:
    """Create an account. Without a password one is generated; it is returned once so the
    administrator can hand it over, and the user must change it at first sign-in."""
    require_admin(actor)
    return _insert_account(session=session, actor=actor, draft=draft)


def _insert_account(
    *, session: Session, actor: Principal | None, draft: AccountDraft
) -> tuple[Account, str | None]:
    draft = validate_account_draft(session=session, draft=draft)
    if session.exec(select(Account.id).where(Account.email == draft.email)).first():
        raise InvalidInput(_("E-mail: an account with this address already exists."), field="email")
    temporary = None
    password = draft.password
    if password is None:
        temporary = password = generate_temporary_password()
    account = Account(
        email=draft.email,
        display_name=draft.display_name,
        role=draft.role,
        organisation_id=draft.organisation_id,
        password_hash=hash_password(password),
        must_change_password=temporary is not None,
        updated_by=actor.label if actor else "system",
    )
    session.add(account)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise InvalidInput(
            _("E-mail: an account with this address already exists."), field="email"
        ) from None
    record_change(
        session=session,
        actor=actor,
        action="create",
        entity_type="account",
        entity_id=account.id,
        after=snapshot(account),
    )
    session.commit()
    return account, temporary


def bootstrap_account(*, session: Session, draft: AccountDraft) -> Account:
    """Operator path (CLI ``create-user``): no signed-in actor, audited as the system."""
    account, _temporary = _insert_account(session=session, actor=None, draft=draft)
    return account


def _load_for_change(
    session: Session, actor: Principal | None, account_id: int, expected_version: int
) -> tuple[Principal, Account]:
    admin = require_admin(actor)
    account = session.get(Account, account_id, populate_existing=True)
    if account is None:
        raise NotFound(_("That account does not exist."))
    check_version(account, expected_version)
    return admin, account


def _commit_change(
    session: Session,
    actor: Principal,
    account: Account,
    action: str,
    before: dict,
    summary: str = "",
) -> Account:
    return save_record(
        session=session,
        actor=actor,
        record=account,
        action=action,
        entity_type="account",
        before=before,
        summary=summary,
    )


def set_account_active(
    *,
    session: Session,
    actor: Principal | None,
    account_id: int,
    active: bool,
    expected_version: int,
) -> Account:
    admin, account = _load_for_change(session, actor, account_id, expected_version)
    if not active and account.id == admin.account_id:
        raise PermissionDenied(_("You cannot disable your own account."))
    before = snapshot(account)
    if not active:  # before the change: the revocation must not flush it early
        end_account_sessions(
            session=session, actor=admin, account_id=account_id, reason=EndReason.ACCOUNT_DISABLED
        )
    account.active = active
    if active:
        account.failed_logins = 0
        account.locked_until = None
    return _commit_change(session, admin, account, "enable" if active else "disable", before)


def update_account(
    *,
    session: Session,
    actor: Principal | None,
    account_id: int,
    display_name: str,
    role: Role,
    organisation_id: int | None,
    expected_version: int,
) -> Account:
    admin, account = _load_for_change(session, actor, account_id, expected_version)
    draft = validate_account_draft(
        session=session,
        draft=AccountDraft(
            email=account.email,
            display_name=display_name,
            role=role,
            organisation_id=organisation_id,
        ),
    )
    if account.id == admin.account_id and draft.role is not Role.ADMIN:
        raise PermissionDenied(_("You cannot remove your own administrator role."))
    before = snapshot(account)
    if account.role is not draft.role:  # what the sessions were opened for has changed
        end_account_sessions(
            session=session, actor=admin, account_id=account_id, reason=EndReason.ROLE_CHANGED
        )
    account.display_name = draft.display_name
    account.role = draft.role
    account.organisation_id = draft.organisation_id
    return _commit_change(session, admin, account, "update", before)


def reset_password(
    *,
    session: Session,
    actor: Principal | None,
    account_id: int,
    expected_version: int,
) -> tuple[Account, str]:
    """Replace the password with a one-time one the user must change; also unlocks."""
    admin, account = _load_for_change(session, actor, account_id, expected_version)
    before = snapshot(account)
    end_account_sessions(
        session=session, actor=admin, account_id=account_id, reason=EndReason.PASSWORD_RESET
    )
    temporary = generate_temporary_password()
    account.password_hash = hash_password(temporary)
    account.must_change_password = True
    account.failed_logins = 0
    account.locked_until = None
    _commit_change(session, admin, account, "reset_password", before, summary="password reset")
    return account, temporary


def change_own_password(
    *,
    session: Session,
    actor: Principal | None,
    current_password: str,
    new_password: str,
    keep_session_token: str | None = None,
) -> None:
    """Change one's own password; every other session of the account ends with it
    (``keep_session_token``: the session the change was made from stays open)."""
    if actor is None:
        raise PermissionDenied(_("Please sign in first."))
    account = session.get(Account, actor.account_id, populate_existing=True)
    if account is None or not verify_password(account.password_hash, current_password):
        raise InvalidInput(_("Current password: it is not correct."), field="current_password")
    problem = password_problem(new_password, email=account.email, display_name=account.display_name)
    if problem:
        raise InvalidInput(_("New password: ") + problem, field="new_password")
    if new_password == current_password:
        raise InvalidInput(
            _("New password: choose a password different from the current one."),
            field="new_password",
        )
    before = snapshot(account)
    end_account_sessions(
        session=session,
        actor=actor,
        account_id=actor.account_id,
        reason=EndReason.PASSWORD_CHANGED,
        except_token=keep_session_token,
    )
    account.password_hash = hash_password(new_password)
    account.must_change_password = False
    _commit_change(session, actor, account, "change_password", before, summary="password changed")


def must_change_password(*, session: Session, account_id: int) -> bool:
    account = session.get(Account, account_id)
    return bool(account and account.must_change_password)


def list_accounts(
    *, session: Session, actor: Principal | None, search: str = ""
) -> list[AccountView]:
    require_admin(actor)
    now = utcnow()
    query = (
        select(Account, Organisation.name)
        .join(Organisation, col(Account.organisation_id) == Organisation.id, isouter=True)
        .order_by(func.lower(Account.email))
    )
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(
            col(Account.email).ilike(pattern) | col(Account.display_name).ilike(pattern)
        )
    return [
        AccountView(
            id=account.id or 0,
            email=account.email,
            display_name=account.display_name,
            role=account.role,
            organisation_id=account.organisation_id,
            organisation_name=organisation_name,
            active=account.active,
            locked=bool(account.locked_until and account.locked_until > now),
            must_change_password=account.must_change_password,
            last_login_at=account.last_login_at,
            version=account.version,
        )
        for account, organisation_name in session.exec(query).all()
    ]


def count_accounts(*, session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Account)).one())


def count_by_role(*, session: Session) -> dict[str, int]:
    rows = session.exec(
        select(Account.role, func.count())
        .where(col(Account.active).is_(True))
        .group_by(Account.role)
    ).all()
    return {str(role): int(count) for role, count in rows}
