"""Sign-in: argon2 hashes, one generic failure message, lockout, disabled accounts."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from hub.audit import AuditEntry
from hub.auth import Role, hash_password, password_problem, verify_password
from hub.db import make_engine
from hub.errors import AuthenticationFailed
from hub.records import utcnow
from partners.accounts import authenticate
from partners.models import Account
from tests.factories import PASSWORD, make_account


def test_passwords_are_argon2id_hashes() -> None:
    hashed = hash_password("a long secret phrase")
    assert hashed.startswith("$argon2id$")
    assert "a long secret phrase" not in hashed
    assert verify_password(hashed, "a long secret phrase")
    assert not verify_password(hashed, "a long secret phrasE")
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "anything")


def test_sign_in_returns_role_from_accounts_table(session: Session) -> None:
    account = make_account(session, role=Role.ADMIN, email="admin@example.pt")
    principal = authenticate(session=session, email="  ADMIN@example.pt ", password=PASSWORD)
    assert principal.account_id == account.id
    assert principal.role is Role.ADMIN
    session.refresh(account)
    assert account.last_login_at is not None


def _failure_message(session: Session, email: str, password: str) -> str:
    with pytest.raises(AuthenticationFailed) as caught:
        authenticate(session=session, email=email, password=password)
    return str(caught.value)


def test_wrong_password_unknown_email_and_disabled_account_look_the_same(
    session: Session,
) -> None:
    make_account(session, email="known@example.pt")
    make_account(session, email="off@example.pt", active=False)
    messages = {
        _failure_message(session, "known@example.pt", "wrong password"),
        _failure_message(session, "nobody@example.pt", PASSWORD),
        _failure_message(session, "off@example.pt", PASSWORD),
    }
    assert len(messages) == 1


def test_lockout_after_repeated_failures_then_expiry(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("HUB_LOGIN_LOCKOUT_MINUTES", "10")
    account = make_account(session, email="target@example.pt")
    version_before = account.version
    for _ in range(3):
        _failure_message(session, "target@example.pt", "guess")
    # Locked: even the right password is refused, with the same message.
    _failure_message(session, "target@example.pt", PASSWORD)
    locked = session.exec(select(Account).where(Account.id == account.id)).one()
    session.refresh(locked)
    assert locked.locked_until is not None
    assert timedelta(minutes=9) < locked.locked_until - utcnow() <= timedelta(minutes=10)
    assert locked.version == version_before, "sign-in bookkeeping must not make forms stale"
    lock_entries = session.exec(
        select(AuditEntry).where(
            AuditEntry.action == "lock", AuditEntry.entity_id == str(account.id)
        )
    ).all()
    assert len(lock_entries) == 1

    # Time passes: the lock has expired and the right password works again.
    locked.locked_until = utcnow() - timedelta(seconds=1)
    session.add(locked)
    session.commit()
    principal = authenticate(session=session, email="target@example.pt", password=PASSWORD)
    assert principal.account_id == account.id


def test_successful_sign_in_resets_the_failure_count(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_LOGIN_MAX_FAILURES", "3")
    make_account(session, email="careful@example.pt")
    for _ in range(2):
        _failure_message(session, "careful@example.pt", "typo")
    authenticate(session=session, email="careful@example.pt", password=PASSWORD)
    for _ in range(2):
        _failure_message(session, "careful@example.pt", "typo")
    # Two more failures after a success do not lock: the count started again.
    authenticate(session=session, email="careful@example.pt", password=PASSWORD)


def test_sign_in_is_audited_without_the_password(session: Session) -> None:
    account = make_account(session, email="audited@example.pt")
    authenticate(session=session, email="audited@example.pt", password=PASSWORD)
    entries = session.exec(select(AuditEntry).where(AuditEntry.entity_id == str(account.id))).all()
    assert [e.action for e in entries] == ["sign_in"]
    assert PASSWORD not in str([e.model_dump() for e in entries])


def test_concurrent_wrong_passwords_lock_the_account(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13.1: eight threads, each with its own engine and session on the same
    database, send 31 wrong guesses in all. The count used to be read, incremented and
    written back, so concurrent guesses were lost and the limit never reached; now every
    guess counts, exactly one locks, and then even the right password is refused."""
    guesses, threads = 31, 8
    monkeypatch.setenv("HUB_LOGIN_MAX_FAILURES", str(guesses))
    with Session(engine) as session:
        account = make_account(session, email="raced@example.pt")
        account_id = account.id
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []
    shares = [guesses // threads + (1 if i < guesses % threads else 0) for i in range(threads)]

    def guess(count: int) -> None:
        own_engine = make_engine(database_url)
        try:
            barrier.wait()
            for _ in range(count):
                with Session(own_engine) as own, contextlib.suppress(AuthenticationFailed):
                    authenticate(session=own, email="raced@example.pt", password="wrong")
        except BaseException as err:  # reported by the assertion below
            errors.append(err)
        finally:
            own_engine.dispose()

    workers = [threading.Thread(target=guess, args=(n,)) for n in shares]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []

    with Session(engine) as session:
        with pytest.raises(AuthenticationFailed):
            authenticate(session=session, email="raced@example.pt", password=PASSWORD)
        locked = session.get(Account, account_id, populate_existing=True)
        assert locked is not None
        assert locked.locked_until is not None and locked.locked_until > utcnow()
        assert locked.failed_logins == 0  # the lock starts the count again
        lock_entries = session.exec(
            select(AuditEntry).where(
                AuditEntry.action == "lock", AuditEntry.entity_id == str(account_id)
            )
        ).all()
        assert len(lock_entries) == 1
        assert not session.exec(
            select(AuditEntry).where(
                AuditEntry.action == "sign_in", AuditEntry.entity_id == str(account_id)
            )
        ).all()


def test_a_guess_after_the_lock_is_not_counted(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_LOGIN_MAX_FAILURES", "2")
    account = make_account(session, email="counted@example.pt")
    for _ in range(5):
        _failure_message(session, "counted@example.pt", "guess")
    session.refresh(account)
    assert account.failed_logins == 0
    assert account.locked_until is not None
    locks = session.exec(select(AuditEntry).where(AuditEntry.action == "lock")).all()
    assert len(locks) == 1


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaa",  # one character repeated
        "abcabcabcabc",  # a short pattern repeated
        "password12",  # in the common-password list
        "PASSWORD12",  # whatever the case
        "qwertyuiop",
        "maria.silva@example.pt",  # the e-mail itself
        "my maria.silva key",  # the local part inside
        "Maria Silva 2020!",  # the display name inside
        "mariasilva-1234",  # the name without its space
    ],
)
def test_the_password_policy_refuses_guessable_passwords(password: str) -> None:
    """Issue 13.16 (NIST SP 800-63B): the policy used to check only length and spaces."""
    problem = password_problem(password, email="Maria.Silva@example.pt", display_name="Maria Silva")
    assert problem is not None


def test_the_password_policy_accepts_a_long_phrase() -> None:
    assert (
        password_problem(
            "correct horse battery", email="maria.silva@example.pt", display_name="Maria Silva"
        )
        is None
    )
    assert password_problem("ab" * 3 + "cdefgh") is None  # a repeat inside is fine
    assert "common password" in (password_problem("password12") or "")
