"""The web app's accounts and the log of who opened personal data (m012), and the two facts the
"today" page shows about the link to the parent: when a message last left, and when one last
came from the parent.

Plain functions over a store's connection (any `StoreCore`): the accounts are not case data, so
they stay out of `SqliteStore`'s class. Password hashes are made by `nodes.web.passwords`; this
module only keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodes.store.core import StoreCore


@dataclass(frozen=True)
class UserRow:
    name: str
    roles: str  # one role code, or several joined by commas (`nodes.domain.roles`)
    password_hash: str
    disabled: bool
    failed_logins: int
    locked_until: str | None
    last_login_at: str | None = None  # the last successful login (m015); None: never


_COLUMNS = "name, roles, password_hash, disabled, failed_logins, locked_until, last_login_at"


def _row(r: tuple[str, str, str, int, int, str | None, str | None]) -> UserRow:
    return UserRow(r[0], r[1], r[2], bool(r[3]), int(r[4]), r[5], r[6])


def user(store: StoreCore, name: str) -> UserRow | None:
    r = store._one(f"SELECT {_COLUMNS} FROM users WHERE name = ?", [name])  # noqa: S608
    return None if r is None else _row(r)


def users(store: StoreCore) -> list[UserRow]:
    return [_row(r) for r in store._all(f"SELECT {_COLUMNS} FROM users ORDER BY name")]  # noqa: S608


def add_user(store: StoreCore, name: str, roles: str, password_hash: str, at: datetime) -> bool:
    """False (nothing written) if the name is taken."""
    with store.atomic():
        if user(store, name) is not None:
            return False
        store._write("INSERT INTO users (name, roles, password_hash, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?)", [name, roles, password_hash, at.isoformat(),
                                                at.isoformat()])
    return True


def set_password(store: StoreCore, name: str, password_hash: str, at: datetime) -> bool:
    """A new password also unlocks the account. False if there is no such user."""
    with store.atomic():
        cur = store._write("UPDATE users SET password_hash = ?, failed_logins = 0, "
                           "locked_until = NULL, updated_at = ? WHERE name = ?",
                           [password_hash, at.isoformat(), name])
    return cur.rowcount > 0


def set_disabled(store: StoreCore, name: str, disabled: bool, at: datetime) -> bool:
    with store.atomic():
        cur = store._write("UPDATE users SET disabled = ?, updated_at = ? WHERE name = ?",
                           [int(disabled), at.isoformat(), name])
    return cur.rowcount > 0


def set_roles(store: StoreCore, name: str, roles: str, at: datetime) -> bool:
    with store.atomic():
        cur = store._write("UPDATE users SET roles = ?, updated_at = ? WHERE name = ?",
                           [roles, at.isoformat(), name])
    return cur.rowcount > 0


def unlock(store: StoreCore, name: str, at: datetime) -> bool:
    """Lift a lockout (and forget the failed logins) without changing the password."""
    with store.atomic():
        cur = store._write("UPDATE users SET failed_logins = 0, locked_until = NULL, "
                           "updated_at = ? WHERE name = ?", [at.isoformat(), name])
    return cur.rowcount > 0


def login_failed(store: StoreCore, name: str, locked_until: datetime | None) -> None:
    """One more failed login; `locked_until` set when this one reached the limit."""
    with store.atomic():
        store._write("UPDATE users SET failed_logins = failed_logins + 1, "
                     "locked_until = COALESCE(?, locked_until) WHERE name = ?",
                     [locked_until.isoformat() if locked_until else None, name])


def login_succeeded(store: StoreCore, name: str, at: datetime) -> None:
    """A good login at `at`: the failed ones are forgotten and `last_login_at` is `at`."""
    with store.atomic():
        store._write("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? "
                     "WHERE name = ?", [at.isoformat(), name])


def log_access(store: StoreCore, user_name: str, role: str, case_id: str, what: str,
               at: datetime) -> None:
    """Someone opened a party's personal fields of `case_id` (`what`: which fields, by name)."""
    with store.atomic():
        store._write("INSERT INTO access_log (user_name, role, case_id, what, at) "
                     "VALUES (?, ?, ?, ?, ?)", [user_name, role, case_id, what, at.isoformat()])


def access_log(store: StoreCore, case_id: str | None = None) -> list[dict[str, str]]:
    rows = store._all("SELECT user_name, role, case_id, what, at FROM access_log "
                      "WHERE (? IS NULL OR case_id = ?) ORDER BY id", [case_id, case_id])
    return [{"user": u, "role": r, "case_id": c, "what": w, "at": a} for u, r, c, w, a in rows]


def last_sent_at(store: StoreCore) -> str | None:
    """When a message last left this node (the relay marks each row it published)."""
    row = store._one("SELECT max(sent_at) FROM outbox")
    return None if row is None or row[0] is None else str(row[0])


def last_received_from(store: StoreCore, sender: str) -> str | None:
    row = store._one("SELECT max(received_at) FROM inbox WHERE sender = ?", [sender])
    return None if row is None or row[0] is None else str(row[0])
