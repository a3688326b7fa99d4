"""The relay: publishes committed outbox rows in order and marks a row sent only on its confirm.

A lost broker is a normal state: the relay backs off (capped exponential, with jitter) and tries
again, while the node goes on recording cases into the same outbox.

A batch is read, published and marked in one turn: the transport packs rows waiting for the same
destination into bundles (`bundling`, protocol 1.3), keeps up to `PUBLISH_WINDOW` messages of the
batch in flight (pipelined confirms, see `transport`), returns the rows whose own message's
confirm arrived, and the relay marks exactly those sent in one transaction. So the cost of a
round trip and of a SQLite commit is paid per batch, not per message, while a failure half-way
still marks only the confirmed prefix and the rest goes again, in order, on the next turn.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime

import structlog

from nodes.messaging import settings
from nodes.messaging.transport import KombuTransport, TransportError
from nodes.store.sqlite_store import SqliteStore

log = structlog.get_logger("fengqiao.relay")


class Backoff:
    """Capped exponential backoff with full jitter; reset after a success."""

    def __init__(self, start: float = settings.BACKOFF_START_S,
                 cap: float = settings.BACKOFF_MAX_S) -> None:
        self.start, self.cap, self.attempt = start, cap, 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.start * (2 ** self.attempt))
        self.attempt += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.attempt = 0


class Relay:
    def __init__(self, store: SqliteStore, transport: KombuTransport, node_id: str,
                 now: Callable[[], datetime], batch: int = settings.RELAY_BATCH) -> None:
        self.store, self.transport, self.node_id = store, transport, node_id
        self.now, self.batch = now, batch
        self.backoff = Backoff()
        self.sent_total = 0
        self.last_sent_at: datetime | None = None

    def run_once(self) -> int:
        """Publish one batch; returns rows confirmed. Raises TransportError when the link fails."""
        rows = self.store.unsent(self.batch)
        if not rows:
            return 0
        try:
            confirmed = self.transport.publish(rows)
        except TransportError as exc:
            if exc.confirmed:  # the prefix whose own confirms arrived before the failure
                self._mark(exc.confirmed)
            raise
        self._mark(confirmed)
        done = set(confirmed)
        for row in (r for r in rows if r.id in done):
            log.debug("relay.confirmed", node_id=self.node_id, case_id=row.case_id,
                      message_id=row.message_id, schema=row.schema_name)
        return len(confirmed)

    def _mark(self, ids: list[int]) -> None:
        self.last_sent_at = self.now()
        self.store.mark_sent(ids, self.last_sent_at)
        self.sent_total += len(ids)
        log.debug("relay.sent", node_id=self.node_id, count=len(ids))

    def drain(self) -> int:
        """Publish until the outbox is empty (embedded demo and tests)."""
        total = 0
        while (sent := self.run_once()) > 0:
            total += sent
        return total

    def step(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        """One turn of the service loop: publish a batch, or idle briefly, or back off."""
        try:
            sent = self.run_once()
            self.backoff.reset()
        except TransportError as exc:
            delay = self.backoff.next_delay()
            log.warning("relay.broker_unavailable", node_id=self.node_id, error=str(exc),
                        retry_in_s=round(delay, 2), outbox_depth=self.store.outbox_depth())
            stop.wait(delay)
            return
        if sent == 0:
            if wake is not None:
                wake.wait(settings.RELAY_IDLE_S)
                wake.clear()
            else:
                stop.wait(settings.RELAY_IDLE_S)

    def run(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        while not stop.is_set():
            self.step(stop, wake)
