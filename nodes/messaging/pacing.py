"""Escalation pacing at a hub (issue 15 item 4): one child's flood must not starve its siblings.

A hub has one queue for all its children, handled in arrival order. A flood of 20,000 valid
escalations from one village kept a sibling's escalation queued behind it for many seconds:
applying one (registering the case, sealing its parties, writing events, reports and the inbox
row) costs about a millisecond, and even checking one (its signature, decoding, trust) about
0.4 ms.

So each child's escalations are counted over the last hour, from what the broker vouches for
before anything is verified or decoded: the routing key on `fengqiao.up` names the child (topic
permissions let a child publish on its own key only), a bundle counts as the envelopes its header
declares, and a message whose `schema` header says it is a report-back is not counted (the
consumer refuses a message whose envelope contradicts that header, so it cannot hide a flood).
Once a child is over its limit (`NodeConfig.escalations_per_hour`), the hub raises the
`escalation_rate` alarm and *defers* its further messages on `up` (escalations and report-backs
alike): kept as they arrived, unchecked, sealed in the `deferred` table (`nodes.store.deferred`)
with their headers, routing key and user id, and acked. That costs about 0.05 ms, so the queue
moves past the flood to the other children's messages: behind 20,000 escalations a sibling's
waited 2-4 s, against 9 s when deferral came after the checks and 12-17 s without pacing
(`.venv/bin/python -m bench.flood`, and `--per-hour 1000000` for no pacing; docs/RELIABILITY.md).
Most of what is left is the allowance: the first 2,000 are applied at full cost. While a child
has messages deferred, every new one of its own on `up` is deferred too, behind them, so its
streams still arrive in order (`prev_seq` and `held` work on at replay as before).

Deferred messages are handled oldest first (`Pacer.replay`) through the consumer's full path:
signature, decoding, trust, dedupe, order, apply, inbox. A forged or malformed one is quarantined
then, with its reason, never applied. Each goes in one transaction with its removal from the
table: a few after every batch of fresh messages, full batches whenever the queue is quiet, and
only a few a second while the queue stays backed up (the others' messages likely behind the flood).
Nothing is dropped and nothing applied twice (the inbox dedupes, and the table keeps a redelivered
message once); a restart in between only delays them. One that keeps failing moves to quarantine
after `DELIVERY_LIMIT` attempts, as the broker would dead-letter it. Past the table's bounds
messages are handled as they come again.

The hourly counts live in memory: after a restart a flooding child gets one more hour's
allowance handled at full cost (what waits in `deferred` keeps its place, and its child's new
messages still queue behind it).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from nodes.alarms import AlarmKind, clear_alarm, raise_alarm
from nodes.messaging import settings
from nodes.messaging.delivery import Delivery
from nodes.store.deferred import DeferredRow, Headers
from protocol.bundle import BUNDLE_HEADER, SCHEMA_HEADER, declared_schema, weight
from protocol.routing import node_of_key
from protocol.seal import SIGNATURE_HEADERS
from protocol.topology import DELIVERY_LIMIT, EXCHANGE_UP

log = structlog.get_logger("fengqiao.pacing")

HOUR = timedelta(hours=1)
KEPT_HEADERS = (*SIGNATURE_HEADERS, BUNDLE_HEADER, SCHEMA_HEADER)  # all the consumer reads
MAX_KEYS = 10_000  # routing keys remembered (a hub's binding admits one word per child)
UNCOUNTED = frozenset({"case_report_back"})  # declared schemas that are not escalations


class DeferredTable(Protocol):
    """What pacing needs of the store (`nodes.store.deferred.DeferredStore`, alarms)."""

    def defer(self, sender: str, body: bytes, routing_key: str, user_id: str | None,
              headers: Headers, at: datetime) -> None: ...
    def deferred_from(self, sender: str) -> bool: ...
    def deferred_size(self) -> tuple[int, int]: ...
    def deferred_head(self, limit: int) -> list[DeferredRow]: ...
    def take_deferred(self, row_id: int) -> None: ...
    def deferred_failed(self, row: DeferredRow, limit: int, at: datetime) -> bool: ...
    def atomic(self) -> AbstractContextManager[Any]: ...
    def raise_alarm(self, kind: str, subject: str, detail: str, at: datetime) -> bool: ...
    def clear_alarm(self, kind: str, subject: str, at: datetime) -> bool: ...


class Pacer:
    """Counts each child's escalations and defers its messages while it is over its limit."""

    def __init__(self, store: DeferredTable, per_hour: int,
                 now: Callable[[], datetime]) -> None:
        self.store, self.per_hour, self.now = store, per_hour, now
        self.recent: dict[str, deque[datetime]] = {}  # child -> arrival times in the last hour
        self.over: set[str] = set()  # children whose alarm this process has raised
        self.replaying = False
        self.deferred = self.replayed = 0
        self._full_logged = False
        self._children: dict[str, str | None] = {}  # routing key -> the node it names
        self._backed_up_turn = 0.0  # monotonic time of the next replay in a backed-up queue
        self.monotonic = time.monotonic

    def intercept(self, delivery: Delivery) -> bool:
        """True if this message, not yet verified or decoded, was deferred (the caller acks
        it and goes on); False if it is to be handled now."""
        if self.replaying or delivery.exchange != EXCHANGE_UP:
            return False
        child = self._child(delivery.routing_key)
        if child is None:  # names no node (a probe, a stray key): checked and refused now
            return False
        now = self.now()
        counted = 0 if declared_schema(delivery.headers) in UNCOUNTED else weight(delivery.headers)
        over = self._count(child, now, counted)
        if not over and not self.store.deferred_from(child):
            return False
        rows, size = self.store.deferred_size()
        if rows >= settings.DEFERRED_MAX_ROWS or size >= settings.DEFERRED_MAX_BYTES:
            if not self._full_logged:
                log.warning("pacing.deferred_full", rows=rows, bytes=size)
                self._full_logged = True
            return False  # handled now, at full cost: slower for the others, never lost
        self._full_logged = False
        self.store.defer(child, delivery.body, delivery.routing_key, delivery.user_id,
                         kept(delivery.headers), now)
        self.deferred += 1
        return True

    def _child(self, routing_key: str) -> str | None:
        """The node a key names, remembered: a hub hears from a few dozen children."""
        if routing_key not in self._children:
            if len(self._children) >= MAX_KEYS:
                self._children.clear()
            self._children[routing_key] = node_of_key(routing_key)
        return self._children[routing_key]

    def _count(self, child: str, now: datetime, n: int) -> bool:
        """Record `n` escalations of `child`; whether it is over its limit in the last hour.
        Raises the alarm when it goes over and clears it when the child is back under."""
        times = self.recent.setdefault(child, deque())
        while times and (times[0] <= now - HOUR or times[0] > now):
            times.popleft()  # out of the hour (or stamped by a clock since set back)
        times.extend([now] * min(n, self.per_hour + 1))
        while len(times) > self.per_hour + 1:
            times.popleft()  # the limit only needs the newest per_hour + 1 times
        over = len(times) > self.per_hour
        if over and child not in self.over:
            self.over.add(child)
            raise_alarm(self.store, AlarmKind.ESCALATION_RATE, child,
                        f"more than {self.per_hour} escalations in the last hour; its further "
                        "messages are handled after the other children's", now)
        elif not over and child in self.over:
            self.over.discard(child)
            clear_alarm(self.store, AlarmKind.ESCALATION_RATE, child, now)
        return over

    def waiting(self) -> bool:
        return self.store.deferred_size()[0] > 0

    def replay(self, handle: Callable[[Delivery], None],
               handle_checked: Callable[[Delivery], None], limit: int, *,
               backed_up: bool = False) -> int:
        """Handle up to `limit` deferred messages, oldest first: through `handle` (the consumer's
        full path, signature first), or `handle_checked` for a row deferred before m013, whose
        one envelope was checked then. Each goes in a savepoint with its removal from the table;
        one that asks to be retried is rolled back and counted, and the rest wait for the next
        turn (a later one may depend on it). Returns how many left the table.

        `backed_up`: called after a full batch, so more waits in the queue, quite likely the
        other children's messages behind the flood: then only once every
        `DEFERRED_BACKED_UP_EVERY_S` (they still advance under any load)."""
        if backed_up:
            if self.monotonic() < self._backed_up_turn:
                return 0
            self._backed_up_turn = self.monotonic() + settings.DEFERRED_BACKED_UP_EVERY_S
        done = 0
        self.replaying = True
        try:
            for row in self.store.deferred_head(limit):
                settled = _Settled()
                path = handle_checked if row.headers is None else handle
                try:
                    with self.store.atomic():
                        self.store.take_deferred(row.id)
                        path(Delivery(row.body, EXCHANGE_UP, row.routing_key, row.user_id,
                                      dict(row.headers or {}), settled))
                        if settled.requeued:
                            raise _Retry
                except _Retry:
                    if self.store.deferred_failed(row, DELIVERY_LIMIT, self.now()):
                        done += 1
                        continue
                    break
                done += 1
        finally:
            self.replaying = False
        self.replayed += done
        return done


def kept(headers: Mapping[str, Any]) -> Headers:
    """The headers the consumer reads, as JSON can keep them: text stays text, numbers numbers,
    and bytes become text as the signature check reads them; anything else its text form (the
    checks refuse it at replay as they would have refused it now)."""
    out: Headers = {}
    for name in KEPT_HEADERS:
        if name not in headers:
            continue
        value = headers[name]
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("ascii", "replace")
        elif value is not None and not isinstance(value, str | int | float):
            value = repr(value)
        out[name] = value
    return out


class _Retry(Exception):
    """A deferred message asked to be retried: roll back its savepoint."""


class _Settled:
    """Stands in for the broker message of a deferred one (acked long ago)."""

    def __init__(self) -> None:
        self.requeued = False

    def ack(self) -> None:
        pass

    def reject(self, requeue: bool) -> None:
        self.requeued = True
