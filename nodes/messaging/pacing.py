"""Escalation pacing at a hub (issue 15 item 4): one child's flood must not starve its siblings.

A hub has one queue for all its children, applied in arrival order, and applying an escalation
(registering the case, sealing its parties, writing events, reports and the inbox row) costs
about a millisecond. A flood of 20,000 valid escalations from one village therefore kept a
sibling's escalation queued behind it for many seconds.

So each child's escalations are counted over the last hour. Once a child is over its limit
(`NodeConfig.escalations_per_hour`), the hub raises the `escalation_rate` alarm and, instead of
applying its further escalations, *defers* them: checked as usual (decoded, trusted, not from the
future), then kept sealed in the `deferred` table (`nodes.store.deferred`) and acked. That costs a
tenth of applying, so the queue moves past the flood to the other children's messages. While a
child has escalations deferred, every new one of its own is deferred too, behind them, so its
streams still arrive in order (`prev_seq` and `held` work on as before, and `held`'s limits are
never strained by the deferral).

Deferred escalations are applied oldest first (`Pacer.replay`, through the consumer's own path:
dedupe, order, apply, inbox), each in one transaction with its removal from the table: a few after
every batch of fresh messages, and full batches whenever the queue is quiet. Nothing is dropped
and nothing applied twice; a restart in between only delays them. A deferred escalation that
keeps failing to apply moves to quarantine after `DELIVERY_LIMIT` attempts, as the broker would
dead-letter it. Past the table's bounds escalations are applied as they come again.

The hourly counts live in memory: after a restart a flooding child gets one more hour's
allowance applied at full cost (what waits in `deferred` keeps its place).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from nodes.alarms import AlarmKind, clear_alarm, raise_alarm
from nodes.messaging import settings
from nodes.messaging.delivery import Delivery
from nodes.store.deferred import DeferredRow
from protocol.envelope import Envelope
from protocol.topology import DELIVERY_LIMIT, EXCHANGE_UP

log = structlog.get_logger("fengqiao.pacing")

HOUR = timedelta(hours=1)


class DeferredTable(Protocol):
    """What pacing needs of the store (`nodes.store.deferred.DeferredStore`, alarms)."""

    def defer(self, message_id: str, sender: str, body: bytes, routing_key: str,
              user_id: str | None, at: datetime) -> None: ...
    def deferred_from(self, sender: str) -> bool: ...
    def deferred_size(self) -> tuple[int, int]: ...
    def deferred_head(self, limit: int) -> list[DeferredRow]: ...
    def take_deferred(self, row_id: int) -> None: ...
    def deferred_failed(self, row: DeferredRow, limit: int, at: datetime) -> bool: ...
    def atomic(self) -> AbstractContextManager[Any]: ...
    def raise_alarm(self, kind: str, subject: str, detail: str, at: datetime) -> bool: ...
    def clear_alarm(self, kind: str, subject: str, at: datetime) -> bool: ...


class Pacer:
    """Counts each child's escalations and defers those over its hourly limit."""

    def __init__(self, store: DeferredTable, per_hour: int,
                 now: Callable[[], datetime]) -> None:
        self.store, self.per_hour, self.now = store, per_hour, now
        self.recent: dict[str, deque[datetime]] = {}  # child -> arrival times in the last hour
        self.over: set[str] = set()  # children whose alarm this process has raised
        self.replaying = False
        self.deferred = self.replayed = 0
        self._full_logged = False

    def offer(self, env: Envelope, body: bytes, routing_key: str, user_id: str | None) -> bool:
        """True if this checked envelope was deferred (the caller acks it and goes on)."""
        if self.replaying or env.schema_name != "case_escalated":
            return False
        now = self.now()
        over = self._count(env.sender, now)
        if not over and not self.store.deferred_from(env.sender):
            return False
        rows, size = self.store.deferred_size()
        if rows >= settings.DEFERRED_MAX_ROWS or size >= settings.DEFERRED_MAX_BYTES:
            if not self._full_logged:
                log.warning("pacing.deferred_full", rows=rows, bytes=size)
                self._full_logged = True
            return False  # applied now, at full cost: slower for the others, never lost
        self._full_logged = False
        self.store.defer(str(env.message_id), env.sender, body, routing_key, user_id, now)
        self.deferred += 1
        return True

    def _count(self, child: str, now: datetime) -> bool:
        """Record one escalation of `child`; whether it is over its limit in the last hour.
        Raises the alarm when it goes over and clears it when the child is back under."""
        times = self.recent.setdefault(child, deque())
        while times and (times[0] <= now - HOUR or times[0] > now):
            times.popleft()  # out of the hour (or stamped by a clock since set back)
        times.append(now)
        if len(times) > self.per_hour + 1:
            times.popleft()  # the limit only needs the newest per_hour + 1 times
        over = len(times) > self.per_hour
        if over and child not in self.over:
            self.over.add(child)
            raise_alarm(self.store, AlarmKind.ESCALATION_RATE, child,
                        f"more than {self.per_hour} escalations in the last hour; its further "
                        "escalations are applied after the other children's messages", now)
        elif not over and child in self.over:
            self.over.discard(child)
            clear_alarm(self.store, AlarmKind.ESCALATION_RATE, child, now)
        return over

    def waiting(self) -> bool:
        return self.store.deferred_size()[0] > 0

    def replay(self, handle_one: Callable[[Delivery], None], limit: int) -> int:
        """Apply up to `limit` deferred escalations, oldest first, through `handle_one` (the
        consumer's path for one envelope). Each goes in a savepoint with its removal from the
        table; one that asks to be retried is rolled back and counted, and the rest wait for
        the next turn (a later one may depend on it). Returns how many left the table."""
        done = 0
        self.replaying = True
        try:
            for row in self.store.deferred_head(limit):
                settled = _Settled()
                try:
                    with self.store.atomic():
                        self.store.take_deferred(row.id)
                        handle_one(Delivery(row.body, EXCHANGE_UP, row.routing_key,
                                            row.user_id, {}, settled))
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


class _Retry(Exception):
    """A deferred escalation asked to be retried: roll back its savepoint."""


class _Settled:
    """Stands in for the broker message of a deferred escalation (acked long ago)."""

    def __init__(self) -> None:
        self.requeued = False

    def ack(self) -> None:
        pass

    def reject(self, requeue: bool) -> None:
        self.requeued = True
