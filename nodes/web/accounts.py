"""Web accounts: names, roles, Argon2id password hashes, and the login check with its lockout.

The hash is cryptography's Argon2id in the PHC string form (`$argon2id$v=19$m=...`), so its
parameters travel with it and can be raised later without breaking old hashes. A failed login is
counted on the account; at `MAX_FAILED_LOGINS` the account is locked for `LOCKOUT_MINUTES` (a new
password from `fengqiao user passwd` unlocks it at once). An unknown name costs one hash too, so
the time taken does not tell which names exist.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from nodes.domain.roles import ACCOUNT_ROLES, roles_of
from nodes.i18n import NP_, pt
from nodes.memory import release_free_memory
from nodes.store import users
from nodes.store.core import StoreCore
from protocol.text import N_, Translatable

MAX_FAILED_LOGINS = 5  # wrong passwords in a row before the account is locked
LOCKOUT_MINUTES = 15
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 200
MAX_NAME_LENGTH = 32
# RFC 9106's second recommended profile (64 MiB is too much for a village PC; OWASP's 19 MiB,
# two passes): about 30 ms a login on the bench machine.
MEMORY_KIB = 19 * 1024
ITERATIONS = 2
LANES = 1
SALT_BYTES = 16


ROLE_NAMES = {
    "mediator": NP_("role", "mediator"), "grid_worker": NP_("role", "grid worker"),
    "station_head": NP_("role", "committee head"), "hub_staff": NP_("role", "intake staff"),
    "leader": NP_("role", "leader"), "supervisor": NP_("role", "supervisor"),
    "auditor": NP_("role", "auditor"),
}


def role_label(role: str, lang: str | None = None) -> str:
    """A role's name in the reader's language (调解员, 网格员, ...); several joined by 、."""
    return pt("role", ", ", lang).join(
        pt("role", ROLE_NAMES[r], lang) if r in ROLE_NAMES else r for r in role.split(","))


class AccountError(Translatable, ValueError):
    """Bad input for an account (name, role, password): one sentence, nothing written."""


def hash_password(password: str) -> str:
    kdf = Argon2id(salt=os.urandom(SALT_BYTES), length=32, iterations=ITERATIONS, lanes=LANES,
                   memory_cost=MEMORY_KIB)
    try:
        return kdf.derive_phc_encoded(password.encode("utf-8"))
    finally:
        release_free_memory()  # the KDF's 19 MiB, freed, back to the system


def password_matches(password: str, phc: str) -> bool:
    try:
        Argon2id.verify_phc_encoded(password.encode("utf-8"), phc)
    except (InvalidKey, ValueError):
        return False
    finally:
        release_free_memory()  # the KDF's 19 MiB, freed, back to the system
    return True


@cache
def _dummy_hash() -> str:
    return hash_password("not-a-password-of-anyone")


def check_user_name(name: str) -> str:
    """A login name: 1 to 32 printable characters without spaces (王芳 and wangfang alike)."""
    name = unicodedata.normalize("NFC", name.strip())
    if not name or len(name) > MAX_NAME_LENGTH or not all(
            ch.isprintable() and not ch.isspace() for ch in name):
        raise AccountError("user_name", N_(
            "a user name is 1 to {limit} characters without spaces"), limit=MAX_NAME_LENGTH)
    return name


def check_roles(given: str) -> str:
    """One role or several joined by commas, each one of `ACCOUNT_ROLES`; in a fixed order."""
    roles = roles_of(given)
    unknown = sorted(roles - set(ACCOUNT_ROLES))
    if not roles or unknown:
        raise AccountError("user_role", N_("{value!r} is not a role; roles: {choices}"),
                           value=",".join(unknown) or given, choices=", ".join(ACCOUNT_ROLES))
    return ",".join(r for r in ACCOUNT_ROLES if r in roles)


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise AccountError("user_password", N_(
            "a password needs {low} to {high} characters"), low=MIN_PASSWORD_LENGTH,
            high=MAX_PASSWORD_LENGTH)
    return password


@dataclass(frozen=True)
class LoginResult:
    """`user` when the login is good; else `locked` says the account is locked (or just was)."""

    user: users.UserRow | None
    locked: bool = False


def authenticate(store: StoreCore, name: str, password: str, now: datetime) -> LoginResult:
    """Check a login and count a failure; a disabled or locked account never logs in."""
    row = users.user(store, name.strip()) if name.strip() else None
    if row is None:
        password_matches(password, _dummy_hash())
        return LoginResult(None)
    if row.locked_until is not None and datetime.fromisoformat(row.locked_until) > now:
        return LoginResult(None, locked=True)
    if row.disabled or not password_matches(password, row.password_hash):
        failed = row.failed_logins + 1
        lock = now + timedelta(minutes=LOCKOUT_MINUTES) if failed >= MAX_FAILED_LOGINS else None
        users.login_failed(store, row.name, lock)
        return LoginResult(None, locked=lock is not None)
    users.login_succeeded(store, row.name, now)
    return LoginResult(row)
