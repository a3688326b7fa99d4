"""The relay: publishes committed outbox rows in order and marks a row sent only on its confirm.

A lost broker is a normal state: the relay backs off (capped exponential, with jitter) and tries
again, while the node goes on recording cases into the same outbox.

A batch is read, published and marked in one turn: the transport packs rows waiting for the same
destination into bundles (`bundling`, protocol 1.3), keeps up to `PUBLISH_WINDOW` messages of the
batch in flight (pipelined confirms, see `transport`), returns the rows whose own message's
confirm arrived, and the relay marks exactly those sent in one transaction. So the cost of a
round trip and of a SQLite commit is paid per batch, not per message, while a failure half-way
still marks only the confirmed prefix and the rest goes again, in order, on the next turn.

Marks are written lazily (`PendingMarks`): a row is marked only after its confirm, as before, but
the marks of several turns share one transaction, written at most `MARK_EVERY_S` after the first
of them (or when `MARK_BATCH` are waiting, after a failure, and on stop). At `synchronous=FULL`
each write is an fsync, and under light load a turn carries a case or two, so writing per turn
cost an fsync per case at both ends. That write does not queue for the write lock behind the
node's recording or applying: if the file is busy it is tried again shortly (`MARK_RETRY_S`)
while publishing goes on, and waits only for marks older than `MARK_FORCE_S`. Meanwhile the
relay remembers how far it has read (`read_after`), so a confirmed row is not published again.
A crash loses at most the unwritten marks: those rows go again after the restart, and their
receivers' inboxes ignore them, exactly as for a crash between a confirm and its mark.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

import structlog

from nodes.messaging import settings
from nodes.messaging.link import Backlog, LinkHealth
from nodes.messaging.port import Transport, TransportError, Unroutable
from nodes.records import OutboxRow

log = structlog.get_logger("fengqiao.relay")


class Backoff:
    """Capped exponential backoff with full jitter; reset after a success."""

    def __init__(self, start: float = settings.BACKOFF_START_S,
                 cap: float = settings.BACKOFF_MAX_S) -> None:
        self.start, self.cap, self.attempt = start, cap, 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.start * (2 ** self.attempt))
        self.attempt += 1
        return random.uniform(delay / 2, delay)  # noqa: S311 - not for security (sample data, jitter)

    def reset(self) -> None:
        self.attempt = 0


class PendingMarks:
    """Outbox ids confirmed by the broker and not yet marked sent in the file."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.since: float | None = None  # monotonic time of the oldest unwritten mark
        self.retry_at = 0.0  # after a write found the file busy: not before this time

    def add(self, ids: list[int], since: float | None = None) -> None:
        if ids and self.since is None:
            self.since = time.monotonic() if since is None else since
        self.ids.extend(ids)

    def due(self) -> bool:
        now = time.monotonic()
        return bool(self.ids) and now >= self.retry_at and (
            len(self.ids) >= settings.MARK_BATCH or self.since is None
            or now - self.since >= settings.MARK_EVERY_S)

    def overdue(self) -> bool:
        """The oldest mark has waited so long that the next write should wait for the lock."""
        return self.since is not None and time.monotonic() - self.since >= settings.MARK_FORCE_S

    def until_due(self) -> float:
        """Seconds until the oldest waiting mark is due (a long time if none waits)."""
        if self.since is None:
            return settings.MARK_EVERY_S
        now = time.monotonic()
        return max(0.0, self.since + settings.MARK_EVERY_S - now, self.retry_at - now)

    def take(self) -> tuple[list[int], float | None]:
        taken = self.ids, self.since
        self.ids, self.since = [], None
        return taken

    def put_back(self, ids: list[int], since: float | None, retry_in: float = 0.0) -> None:
        """Marks that were not written: they wait, with their age, for a later write."""
        self.add(ids, since)
        self.retry_at = time.monotonic() + retry_in


class Outbox(Protocol):
    """What the relay needs of the store."""

    def unsent(self, limit: int = ..., after_id: int = ...) -> list[OutboxRow]: ...
    def mark_sent(self, ids: Sequence[int], at: datetime, *, wait: bool = ...) -> bool: ...
    def outbox_depth(self) -> int: ...
    def oldest_unsent_at(self, after_id: int = ...) -> str | None: ...


class Relay:
    def __init__(self, store: Outbox, transport: Transport, node_id: str,
                 now: Callable[[], datetime], batch: int = settings.RELAY_BATCH,
                 on_unroutable: Callable[[Unroutable], None] | None = None,
                 on_routed: Callable[[str, str], None] | None = None) -> None:
        self.store, self.transport, self.node_id = store, transport, node_id
        self.now, self.batch = now, batch
        # A returned publish: the row stays unsent; counted, logged, and the node alarms.
        self.unroutable = 0
        self.on_unroutable = on_unroutable
        # Called with (exchange, routing key) once the returned route takes messages again.
        self.on_routed = on_routed
        self.blocked: tuple[str, str] | None = None
        self.backoff = Backoff()
        self.sent_total = 0
        self.last_sent_at: datetime | None = None
        self.marks = PendingMarks()
        self.read_after = 0  # every row up to this id is confirmed (marked, or in `marks`)
        # What the log says of the link and of a backlog (`link`); a service shares `link`
        # with its consumer thread (NodeRuntime).
        self.link = LinkHealth()
        self.backlog = Backlog()

    def run_once(self) -> int:
        """Publish one batch; returns rows confirmed. Raises TransportError when the link fails."""
        if self.marks.due():
            self.flush(wait=self.marks.overdue())
        rows = self.store.unsent(self.batch, after_id=self.read_after)
        if not rows:
            return 0
        try:
            confirmed = self.transport.publish(rows)
        except TransportError as exc:
            self._confirmed(exc.confirmed)  # the prefix whose own confirms arrived
            self._start_over()
            raise
        self._confirmed(confirmed)
        if len(confirmed) == len(rows):
            self.read_after = rows[-1].id or self.read_after
        else:  # not expected without an error; the file decides what goes again
            self._start_over()
        done = set(confirmed)
        for row in (r for r in rows if r.id in done):
            log.debug("relay.confirmed", case_id=row.case_id,
                      message_id=row.message_id, schema=row.schema_name)
        return len(confirmed)

    def _confirmed(self, ids: list[int]) -> None:
        if ids:
            self.last_sent_at = self.now()
            self.marks.add(ids)
            self.sent_total += len(ids)

    def _start_over(self) -> None:
        """Write what was confirmed and read from the file's first unsent row next time."""
        self.flush()
        self.read_after = 0

    def flush(self, wait: bool = True) -> bool:
        """Mark the confirmed rows sent, in one transaction. With `wait=False` and the file's
        write lock taken by another writer, write nothing and return False: the marks are tried
        again `MARK_RETRY_S` later, and meanwhile the relay publishes instead of sleeping."""
        ids, since = self.marks.take()
        if not ids:
            return True
        try:
            written = self.store.mark_sent(ids, self.last_sent_at or self.now(), wait=wait)
        except BaseException:
            self.marks.put_back(ids, since)  # not written: they wait for the next flush
            raise
        if not written:
            self.marks.put_back(ids, since, retry_in=settings.MARK_RETRY_S)
            return False
        log.debug("relay.sent", count=len(ids))
        return True

    def outbox_depth(self) -> int:
        """Rows not yet confirmed (the file also counts confirmed ones whose mark waits)."""
        return max(0, self.store.outbox_depth() - len(self.marks.ids))

    def oldest_unsent_s(self) -> int | None:
        """Seconds the oldest row not yet confirmed has waited; None when none waits."""
        at = self.store.oldest_unsent_at(self.read_after)
        if at is None:
            return None
        return max(0, int((self.now() - datetime.fromisoformat(at)).total_seconds()))

    def drain(self) -> int:
        """Publish until the outbox is empty (embedded demo and tests); every mark written."""
        total = 0
        try:
            while (sent := self.run_once()) > 0:
                total += sent
        finally:
            self.flush()
        return total

    def step(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        """One turn of the service loop: publish a batch, or idle briefly, or back off."""
        try:
            sent = self.run_once()
            self.backoff.reset()
            self.backlog.confirmed(sent)
            if sent:
                self.link.succeeded("relay")
            if sent and self.blocked is not None:  # the returned row went out at last
                route, self.blocked = self.blocked, None
                log.info("relay.routed_again", exchange=route[0], routing_key=route[1])
                if self.on_routed is not None:
                    self.on_routed(*route)
        except Unroutable as exc:  # the link is fine; the topology is not: wait, try again
            self.link.succeeded("relay")
            self.backlog.confirmed(len(exc.confirmed))  # counted if a backlog was under way
            self.backlog.stalled()
            self.unroutable += 1
            self.blocked = (exc.exchange, exc.routing_key)
            delay = self.backoff.next_delay()
            log.warning("relay.unroutable", exchange=exc.exchange, routing_key=exc.routing_key,
                        message_id=exc.message_id, retry_in_s=round(delay, 2),
                        outbox_depth=self.outbox_depth())
            if self.on_unroutable is not None:
                self.on_unroutable(exc)
            stop.wait(delay)
            return
        except TransportError as exc:
            self.backlog.confirmed(len(exc.confirmed))
            self.backlog.stalled()
            delay = self.backoff.next_delay()
            if not self.link.failed("relay", exc):  # a refused login is logged as that
                log.warning("relay.broker_unavailable", error=str(exc),
                            retry_in_s=round(delay, 2), outbox_depth=self.outbox_depth())
            stop.wait(delay)
            return
        if sent == 0:  # idle until woken, or until the waiting marks are due
            self.backlog.empty()
            try:
                self.transport.heartbeat_check()  # an idle link still answers the broker
            except TransportError as exc:  # closed: the next turn connects again
                if not self.link.failed("relay", exc):
                    log.warning("relay.broker_unavailable", error=str(exc), retry_in_s=0)
            timeout = min(settings.RELAY_IDLE_S, self.marks.until_due())
            if wake is not None:
                wake.wait(timeout)
                wake.clear()
            else:
                stop.wait(timeout)
        elif sent < self.batch and settings.RELAY_LINGER_S:
            # Busy, but not behind (a full batch means more rows wait: go on at once): let the
            # next cases' rows gather into fewer, larger messages.
            stop.wait(settings.RELAY_LINGER_S)

    def run(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        try:
            while not stop.is_set():
                self.step(stop, wake)
        finally:
            self.flush()
