"""Server-side sessions: a random token in the cookie, everything else here, in memory.

Every visitor gets a session (so the login form has a CSRF token and the language switch works
before a login); a login replaces it with a new token (no session fixation), a logout drops it.
A session unused for `idle` seconds is gone. Restarting the node logs everyone out, which a
station can live with and which keeps no login on disk.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nodes.i18n import DEFAULT_LANG

COOKIE = "fq_session"  # each node's cookie is named after it (`cookie_name`)


def cookie_name(node_id: str) -> str:
    """Browsers keep cookies by host, not port: nodes on one machine (the demo, a hub beside a
    station) need their own names, or a login at one would end the session at the other."""
    return f"{COOKIE}_{node_id}"
TOKEN_BYTES = 32
MAX_SESSIONS = 10_000  # more than any node has people: the oldest go first beyond it


@dataclass
class Session:
    token: str
    csrf: str
    lang: str = DEFAULT_LANG
    user: str | None = None
    role: str = ""
    last_seen: float = 0.0
    new: bool = field(default=False, compare=False)  # the cookie must be (re)sent
    grid_id: str = ""  # the grid last reported from: the grid report form's default

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


class Sessions:
    def __init__(self, idle_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s, self.clock = idle_s, clock
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def _new(self, lang: str, user: str | None = None, role: str = "") -> Session:
        session = Session(secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(TOKEN_BYTES),
                          lang, user, role, self.clock(), new=True)
        with self._lock:
            if len(self._by_token) >= MAX_SESSIONS:
                oldest = min(self._by_token.values(), key=lambda s: s.last_seen)
                del self._by_token[oldest.token]
            self._by_token[session.token] = session
        return session

    def lookup(self, token: str | None) -> Session:
        """The session of this cookie, else a new anonymous one (expired ones are dropped)."""
        now = self.clock()
        with self._lock:
            session = self._by_token.get(token or "")
            if session is not None and now - session.last_seen > self.idle_s:
                del self._by_token[session.token]
                session = None
            if session is not None:
                session.last_seen = now
                return session
        return self._new(DEFAULT_LANG)

    def login(self, old: Session, user: str, role: str) -> Session:
        """A new session for `user`, keeping the language chosen before; the old one is gone."""
        self.drop(old)
        return self._new(old.lang, user, role)

    def drop(self, session: Session) -> None:
        with self._lock:
            self._by_token.pop(session.token, None)

    def drop_user(self, user: str) -> None:
        """Log out every session of `user` (a disabled account)."""
        with self._lock:
            for token in [t for t, s in self._by_token.items() if s.user == user]:
                del self._by_token[token]
