"""What the log says about a node's broker link (issue 16 item 8): an outage, a refused login, a
reconnect and a drained backlog are four different things to an operator.

- A refused login (`BrokerAuthError`: wrong password, unknown user, no access to the virtual host)
  is logged as `broker_auth_failed` with a one-line reason and counted (`auth_failures`); it is
  not an outage, so the caller logs no `broker_unavailable` line for it. While it lasts it is
  logged again at most every `AUTH_LOG_EVERY_S`, with the count so far.
- After any failure, the first success logs `broker_reconnected` once, with how long the link was
  down. A node's two links (relay and consumer) share one `LinkHealth`, so an outage both noticed
  gives one line, when the last of them is back.
- `Backlog`: rows that waited through a failed publish; once the outbox is empty again,
  `outbox_drained` says how many went and how long they had waited and took to go.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from nodes.messaging.port import BrokerAuthError, TransportError

log = structlog.get_logger("fengqiao.link")

AUTH_LOG_EVERY_S = 600.0  # a refused login that goes on is logged again this often


def refused_login(exc: BaseException) -> BrokerAuthError | None:
    """The refused login behind `exc`, if any: a publish wraps what failed under it (the
    connect it needed), so the causes are looked at too."""
    current: BaseException | None = exc
    for _ in range(6):
        if current is None or isinstance(current, BrokerAuthError):
            return current
        current = current.__cause__ or current.__context__
    return None


class LinkHealth:
    """The state of a node's broker links, shared by its relay and consumer threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.down: set[str] = set()  # links whose last attempt failed
        self.down_since: float | None = None
        self.auth_failures = 0  # refused logins in all
        self.outages = 0  # times the links went down (a refused login included)
        self._auth_logged_at: float | None = None

    def failed(self, link: str, exc: TransportError) -> bool:
        """Note a failure of `link`. True for a refused login (logged here, so the caller logs
        nothing more), False for an outage (the caller logs its `broker_unavailable` line)."""
        with self._lock:
            now = self.clock()
            if not self.down:
                self.down_since, self.outages = now, self.outages + 1
            self.down.add(link)
            refused = refused_login(exc)
            if refused is None:
                return False
            self.auth_failures += 1
            due = self._auth_logged_at is None or now - self._auth_logged_at >= AUTH_LOG_EVERY_S
            if due:
                self._auth_logged_at = now
            attempts = self.auth_failures
        if due:
            log.error("broker_auth_failed", link=link, reason=refused.reason, attempts=attempts)
        return True

    def succeeded(self, link: str) -> None:
        """The broker answered `link`: once every link that failed is back, log it once."""
        with self._lock:
            if link not in self.down:
                return
            self.down.discard(link)
            if self.down or self.down_since is None:
                return
            down_s, self.down_since = self.clock() - self.down_since, None
            self._auth_logged_at = None
        log.info("broker_reconnected", link=link, down_s=round(down_s, 1))


class Backlog:
    """Rows that waited through a failed publish, followed until the outbox is empty again."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.since: float | None = None  # the first failure with rows waiting
        self.resumed: float | None = None  # the first confirm after it
        self.sent = 0

    def stalled(self) -> None:
        """A publish failed while rows waited: they are a backlog from now on."""
        if self.since is None:
            self.since, self.resumed, self.sent = self.clock(), None, 0

    def confirmed(self, count: int) -> None:
        if self.since is not None and count:
            self.sent += count
            if self.resumed is None:
                self.resumed = self.clock()

    def empty(self) -> None:
        """Nothing waits any more: log the backlog drained, once."""
        if self.since is None or self.resumed is None:
            return
        now = self.clock()
        log.info("outbox_drained", count=self.sent, waited_s=round(now - self.since, 1),
                 drain_s=round(now - self.resumed, 1))
        self.since = self.resumed = None
        self.sent = 0
