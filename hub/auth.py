"""Who is acting, and what they may do.

Password hashing (argon2id through argon2-cffi) and the permission checks every
service calls. Accounts themselves live in ``partners.accounts``; the role of a
principal always comes from our accounts table, whichever way they signed in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from hub.errors import PermissionDenied
from hub.i18n import N_, _


class Role(enum.StrEnum):
    ADMIN = "admin"  # staff who also manage accounts and read the audit log
    STAFF = "staff"  # coordination office: review, publish, configure
    PARTNER = "partner"  # a partner organisation's user: own organisation only


STAFF_ROLES = frozenset({Role.ADMIN, Role.STAFF})
# How a role is named to people (translate with ``_`` when shown).
ROLE_LABELS = {
    Role.ADMIN: N_("administrator"),
    Role.STAFF: N_("coordination staff"),
    Role.PARTNER: N_("partner"),
}


@dataclass(frozen=True)
class Principal:
    """The signed-in actor, as services see it."""

    account_id: int
    email: str
    display_name: str
    role: Role
    organisation_id: int | None
    signed_in_at: datetime

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def label(self) -> str:
        return f"{self.display_name} <{self.email}>"


# The scheduler and CLI act as this principal; its id 0 never matches an account.
SYSTEM_EMAIL = "system@hub.local"


_hasher = PasswordHasher()
# Verifying against this when an e-mail is unknown makes a wrong e-mail cost the same
# time as a wrong password, so response times do not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


MIN_PASSWORD_LENGTH = 10
# A pattern repeated to fill the password ("aaaaaaaaaa", "abababab12" is not one, but
# "abcabcabca" is): periods up to this length are refused.
MAX_REPEATED_PATTERN = 4
# The e-mail's local part and the name are refused inside a password from this length
# (a two-letter name would otherwise forbid half the alphabet's pairs).
MIN_PERSONAL_PART = 4


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords from the zxcvbn package (MIT licence; drawn
    from leaked password lists), lower-cased."""
    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def _is_repeated_pattern(password: str) -> bool:
    length = len(password)
    for period in range(1, min(MAX_REPEATED_PATTERN, length // 2) + 1):
        if all(password[i] == password[i - period] for i in range(period, length)):
            return True
    return False


def _personal_parts(email: str | None, display_name: str | None) -> list[str]:
    parts: list[str] = []
    if email:
        email = email.strip().lower()
        parts += [email, email.split("@", 1)[0]]
    if display_name:
        name = " ".join(display_name.lower().split())
        parts += [name, name.replace(" ", "")]
    return [part for part in parts if len(part) >= MIN_PERSONAL_PART]


def password_problem(
    password: str, *, email: str | None = None, display_name: str | None = None
) -> str | None:
    """Why ``password`` is not acceptable, or None.

    The policy follows NIST SP 800-63B: a minimum length, no composition rules, and a
    check against values known to be guessed first: common passwords (the zxcvbn
    list), one character or a short pattern repeated, and the account's own e-mail,
    its local part or the person's name. Every place that sets a password calls this.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("The password must have at least {n} characters.").format(n=MIN_PASSWORD_LENGTH)
    if password.strip() != password:
        return _("The password must not start or end with a space.")
    folded = password.lower()
    if folded in common_passwords():
        return _(
            "This is one of the most common passwords. "
            "Choose a longer phrase, not a common password."
        )
    if _is_repeated_pattern(folded):
        return _(
            "The password repeats one character or a short pattern. "
            "Choose a longer phrase of several words."
        )
    if any(part in folded for part in _personal_parts(email, display_name)):
        return _(
            "The password contains your e-mail address or name. "
            "Choose a phrase that has nothing to do with the account."
        )
    return None


def require_staff(actor: Principal | None) -> Principal:
    if actor is None or not actor.is_staff:
        raise PermissionDenied(_("Only coordination office staff may do this."))
    return actor


def require_admin(actor: Principal | None) -> Principal:
    if actor is None or not actor.is_admin:
        raise PermissionDenied(_("Only administrators may do this."))
    return actor


def require_member_of(actor: Principal | None, organisation_id: int | None) -> Principal:
    """Staff may act for any organisation; a partner only for their own."""
    if actor is None:
        raise PermissionDenied(_("Please sign in first."))
    if actor.is_staff:
        return actor
    if organisation_id is None or actor.organisation_id != organisation_id:
        raise PermissionDenied(_("You may only change your own organisation's records."))
    return actor
