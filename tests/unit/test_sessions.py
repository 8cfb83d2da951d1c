"""Web sessions (partners.sessions): expiry, revocation, permissions, hashed tokens.

Every test runs on SQLite and on PostgreSQL (the ``session`` fixture). Time is moved
by passing ``now`` to ``resolve``, never by sleeping.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from hub.audit import AuditEntry
from hub.auth import Role
from hub.errors import NotFound, PermissionDenied
from hub.records import utcnow
from partners.accounts import (
    change_own_password,
    principal_for,
    reset_password,
    set_account_active,
    update_account,
)
from partners.models import Account
from partners.sessions import (
    TOUCH_EVERY,
    EndReason,
    WebSession,
    device_summary,
    end_all_sessions,
    end_session,
    forget_old_sessions,
    hash_token,
    list_sessions,
    open_session,
    resolve,
    sign_out,
)
from tests.factories import PASSWORD, make_account, make_organisation, make_principal


def _open(session: Session, account: Account, device: str = "Firefox on Linux") -> str:
    assert account.id is not None
    return open_session(session=session, account_id=account.id, device=device)


def _row(session: Session, token: str) -> WebSession:
    return session.exec(
        select(WebSession)
        .where(WebSession.token_hash == hash_token(token))
        .execution_options(populate_existing=True)
    ).one()


def _actions(session: Session) -> list[str]:
    return [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]


def test_token_is_random_and_stored_only_as_its_hash(session: Session) -> None:
    account = make_account(session)
    first, second = _open(session, account), _open(session, account)
    assert first != second and len(first) >= 40
    stored = session.execute(text("SELECT token_hash, device FROM web_session")).all()
    assert {row[0] for row in stored} == {hash_token(first), hash_token(second)}
    dump = repr(stored)
    assert first not in dump and second not in dump
    principal = resolve(session=session, token=first)
    assert principal is not None and principal.account_id == account.id


def test_unknown_empty_or_oversized_tokens_resolve_to_nobody(session: Session) -> None:
    account = make_account(session)
    token = _open(session, account)
    for wrong in (None, "", token[:-1], token + "x", "x" * 10_000, hash_token(token)):
        assert resolve(session=session, token=wrong) is None


def test_idle_expiry(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SESSION_IDLE_MINUTES", "30")
    account = make_account(session)
    token = _open(session, account)
    start = _row(session, token).last_seen_at
    assert resolve(session=session, token=token, now=start + timedelta(minutes=29)) is not None
    # That use touched last_seen, so 29 more minutes are fine too...
    assert resolve(session=session, token=token, now=start + timedelta(minutes=58)) is not None
    # ...but 30 minutes of silence end it.
    assert resolve(session=session, token=token, now=start + timedelta(minutes=89)) is None


def test_absolute_expiry_even_when_active(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_SESSION_MAX_HOURS", "2")
    account = make_account(session)
    token = _open(session, account)
    start = _row(session, token).created_at
    assert _row(session, token).expires_at == start + timedelta(hours=2)
    moment = start
    while moment < start + timedelta(hours=2) - timedelta(minutes=20):
        moment += timedelta(minutes=20)
        assert resolve(session=session, token=token, now=moment) is not None
    assert resolve(session=session, token=token, now=start + timedelta(hours=2)) is None


def test_last_seen_is_written_at_most_once_a_minute(session: Session) -> None:
    account = make_account(session)
    token = _open(session, account)
    start = _row(session, token).last_seen_at
    resolve(session=session, token=token, now=start + timedelta(seconds=30))
    assert _row(session, token).last_seen_at == start
    later = start + TOUCH_EVERY + timedelta(seconds=1)
    resolve(session=session, token=token, now=later)
    assert _row(session, token).last_seen_at == later


def test_role_and_organisation_come_from_the_accounts_table(session: Session) -> None:
    organisation = make_organisation(session)
    account = make_account(session, role=Role.PARTNER, organisation=organisation)
    token = _open(session, account)
    other = make_organisation(session)
    session.execute(
        text("UPDATE account SET organisation_id = :o WHERE id = :a"),
        {"o": other.id, "a": account.id},
    )
    session.commit()
    principal = resolve(session=session, token=token)
    assert principal is not None and principal.organisation_id == other.id


def test_sign_out_ends_the_session_and_is_audited(session: Session) -> None:
    account = make_account(session)
    token = _open(session, account)
    assert sign_out(session=session, token=token)
    assert resolve(session=session, token=token) is None
    row = _row(session, token)
    assert row.revoked_at is not None and row.revoked_reason == EndReason.SIGNED_OUT
    assert "sign_out" in _actions(session)
    assert not sign_out(session=session, token=token)  # twice: nothing more


def test_password_change_ends_every_other_session(session: Session) -> None:
    account = make_account(session)
    here, elsewhere = _open(session, account), _open(session, account)
    change_own_password(
        session=session,
        actor=principal_for(account),
        current_password=PASSWORD,
        new_password="a brand new passphrase",
        keep_session_token=here,
    )
    assert resolve(session=session, token=here) is not None
    assert resolve(session=session, token=elsewhere) is None
    assert _row(session, elsewhere).revoked_reason == EndReason.PASSWORD_CHANGED


def test_password_change_without_a_session_to_keep_ends_all(session: Session) -> None:
    account = make_account(session)
    token = _open(session, account)
    change_own_password(
        session=session,
        actor=principal_for(account),
        current_password=PASSWORD,
        new_password="a brand new passphrase",
    )
    assert resolve(session=session, token=token) is None


def test_a_refused_password_change_ends_nothing(session: Session) -> None:
    account = make_account(session)
    token = _open(session, account)
    with pytest.raises(Exception, match="not correct"):
        change_own_password(
            session=session,
            actor=principal_for(account),
            current_password="wrong password",
            new_password="a brand new passphrase",
        )
    assert resolve(session=session, token=token) is not None


def test_admin_reset_disable_and_role_change_end_the_sessions(session: Session) -> None:
    admin = make_principal(session, role=Role.ADMIN)
    reset, disabled, promoted, renamed = (make_account(session) for _ in range(4))
    tokens = {a.id: _open(session, a) for a in (reset, disabled, promoted, renamed)}

    reset_password(session=session, actor=admin, account_id=reset.id or 0, expected_version=1)
    set_account_active(
        session=session, actor=admin, account_id=disabled.id or 0, active=False, expected_version=1
    )
    update_account(
        session=session,
        actor=admin,
        account_id=promoted.id or 0,
        display_name=promoted.display_name,
        role=Role.ADMIN,
        organisation_id=None,
        expected_version=1,
    )
    update_account(  # the same role: a new name does not sign anyone out
        session=session,
        actor=admin,
        account_id=renamed.id or 0,
        display_name="A New Name",
        role=Role.STAFF,
        organisation_id=None,
        expected_version=1,
    )

    assert resolve(session=session, token=tokens[reset.id]) is None
    assert resolve(session=session, token=tokens[disabled.id]) is None
    assert resolve(session=session, token=tokens[promoted.id]) is None
    assert resolve(session=session, token=tokens[renamed.id]) is not None
    assert _row(session, tokens[reset.id]).revoked_reason == EndReason.PASSWORD_RESET
    assert _row(session, tokens[disabled.id]).revoked_reason == EndReason.ACCOUNT_DISABLED
    assert _row(session, tokens[promoted.id]).revoked_reason == EndReason.ROLE_CHANGED
    assert _actions(session).count("end_sessions") == 3


def test_re_enabling_an_account_does_not_revive_its_sessions(session: Session) -> None:
    admin = make_principal(session, role=Role.ADMIN)
    account = make_account(session)
    token = _open(session, account)
    set_account_active(
        session=session, actor=admin, account_id=account.id or 0, active=False, expected_version=1
    )
    set_account_active(
        session=session, actor=admin, account_id=account.id or 0, active=True, expected_version=2
    )
    assert resolve(session=session, token=token) is None


def test_a_disabled_account_cannot_open_a_session(session: Session) -> None:
    account = make_account(session, active=False)
    with pytest.raises(NotFound):
        _open(session, account)


def test_partner_cannot_end_or_list_another_persons_sessions(session: Session) -> None:
    organisation = make_organisation(session)
    partner = make_account(session, role=Role.PARTNER, organisation=organisation)
    colleague = make_account(session, role=Role.PARTNER, organisation=organisation)
    staff = make_principal(session, role=Role.STAFF)
    token = _open(session, colleague)
    victim = _row(session, token)
    for actor in (principal_for(partner), staff, None):
        with pytest.raises(PermissionDenied):
            end_session(session=session, actor=actor, session_id=victim.id or 0)
        with pytest.raises(PermissionDenied):
            end_all_sessions(session=session, actor=actor, account_id=colleague.id or 0)
        with pytest.raises(PermissionDenied):
            list_sessions(session=session, actor=actor, account_id=colleague.id or 0)
    assert resolve(session=session, token=token) is not None
    assert "end_session" not in _actions(session)


def test_a_user_ends_one_own_session_or_all_others(session: Session) -> None:
    account = make_account(session)
    me = principal_for(account)
    here, phone, tablet = (_open(session, account, device=d) for d in ("A", "B", "C"))
    listed = list_sessions(session=session, actor=me, account_id=me.account_id, current_token=here)
    assert sorted(s.device for s in listed) == ["A", "B", "C"]
    assert [s.device for s in listed if s.current] == ["A"]

    end_session(session=session, actor=me, session_id=_row(session, phone).id or 0)
    assert resolve(session=session, token=phone) is None
    assert _row(session, phone).revoked_reason == EndReason.ENDED_BY_USER

    assert (
        end_all_sessions(session=session, actor=me, account_id=me.account_id, except_token=here)
        == 1
    )
    assert resolve(session=session, token=tablet) is None
    assert resolve(session=session, token=here) is not None
    listed = list_sessions(session=session, actor=me, account_id=me.account_id, current_token=here)
    assert [s.device for s in listed] == ["A"]
    assert {"end_session", "end_sessions"} <= set(_actions(session))


def test_admin_ends_another_users_sessions(session: Session) -> None:
    admin = make_principal(session, role=Role.ADMIN)
    account = make_account(session)
    tokens = [_open(session, account) for _ in range(2)]
    assert end_all_sessions(session=session, actor=admin, account_id=account.id or 0) == 2
    assert all(resolve(session=session, token=t) is None for t in tokens)
    assert _row(session, tokens[0]).revoked_reason == EndReason.ENDED_BY_ADMIN


def test_sso_sign_in_is_audited_as_a_sign_in(session: Session) -> None:
    account = make_account(session)
    open_session(session=session, account_id=account.id or 0, device="x", method="sso")
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "sign_in")).one()
    assert entry.entity_id == str(account.id)


def test_old_rows_are_forgotten(session: Session) -> None:
    account = make_account(session)
    token = _open(session, account)
    sign_out(session=session, token=token)
    assert forget_old_sessions(session=session) == 0
    assert forget_old_sessions(session=session, now=utcnow() + timedelta(days=31)) == 1


@pytest.mark.parametrize(
    ("agent", "summary"),
    [
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox on Linux",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0 Safari/537.36 Edg/120.0",
            "Edge on Windows",
        ),
        ("", "unknown browser"),
        (None, "unknown browser"),
    ],
)
def test_device_summary(agent: str | None, summary: str) -> None:
    assert device_summary(agent) == summary
