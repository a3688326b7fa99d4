"""The consumer: validate, apply and record in the inbox in one transaction, then ack (DESIGN §4).

- Before anything is decoded, the signature must be its sender's over this body and route; sealed
  personal fields are opened just before applying (`nodes.messaging.signing`).
- Only a hub's pacing comes before it: a child over its hourly limit has its messages set aside
  unchecked and handled later through this same path (`nodes.messaging.pacing`).
- A message id seen before is acked and ignored.
- A message that fails validation, names a sender it may not speak for, or cannot be applied is
  quarantined with its reason (locally and on the broker's quarantine queue) and acked.
- Anything else that goes wrong is requeued; the quorum queue's delivery limit dead-letters a
  message that keeps crashing us, so one poison message never blocks the queue.
- Ordered messages (escalations, decisions) name their predecessor in the stream (sender, case,
  kind) by `prev_seq`. One that arrives before its predecessor (a requeue, a redelivery after a
  crash, a reordering) is acked and held in the `held` table, and applied in the same
  transaction as the predecessor when that arrives: nothing is dropped as "stale" for arriving
  late, and the wait survives a restart. A stream that never gets its predecessor shows in
  `held` (`SqliteStore.held_count`), never as a silent loss.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

import structlog

from nodes.alarms import AlarmKind
from nodes.domain.case import DomainError
from nodes.messaging.delivery import Delivery
from nodes.messaging.limits import too_far_ahead
from nodes.messaging.pacing import Pacer
from nodes.messaging.probe import is_own_probe
from nodes.messaging.signing import Verifier, reason_of
from nodes.messaging.trust import EXPECTED_EXCHANGE, Trust
from nodes.store.inbox import InboxEntry, Refused
from protocol.areas import tier_of
from protocol.bundle import unpack
from protocol.envelope import DecodeError, Envelope, decode
from protocol.keys import TrustError
from protocol.topology import MAX_BROKER_MESSAGE_BYTES

log = structlog.get_logger("fengqiao.consumer")

Handler = Callable[[Envelope], None]
__all__ = ["EXPECTED_EXCHANGE", "Consumer", "Handler", "Trust"]


class Inbox(Protocol):
    """What the consumer needs of the store."""

    def atomic(self) -> AbstractContextManager[Any]: ...
    def seen(self, message_id: str) -> bool: ...
    def last_seq(self, sender: str, case_id: str, schema_name: str) -> int: ...
    def hold(self, entry: InboxEntry, prev_seq: int, body: bytes, at: datetime) -> None: ...
    def take_held_after(self, sender: str, case_id: str, schema_name: str,
                        seq: int) -> bytes | None: ...
    def apply_and_record(self, entry: InboxEntry, effect: Callable[[], None],
                         at: datetime) -> None: ...
    def quarantine_and_record(self, entry: InboxEntry, body: bytes, refused: Refused,
                              at: datetime) -> None: ...
    def record_seen(self, entry: InboxEntry, at: datetime) -> None: ...
    def quarantine(self, body: bytes, refused: Refused, at: datetime) -> None: ...
    def raise_alarm(self, kind: str, subject: str, detail: str, at: datetime) -> bool: ...


ORDERED = frozenset({"case_escalated", "case_decision", "case_report_back"})  # stale: recorded only
Stream = tuple[str, str, str]  # (sender, case id, schema): one sender's ordered messages on a case


class Consumer:
    def __init__(self, store: Inbox, handlers: Mapping[str, Handler], trust: Trust,
                 now: Callable[[], datetime],
                 quarantine_out: Callable[[bytes, str, Delivery], None] | None = None, *,
                 verifier: Verifier | None, pacer: Pacer | None = None) -> None:
        """`verifier`: checks every signature first and opens sealed fields before applying
        (`nodes.messaging.signing`); every node has one. None only for tests of the checks
        after it, which then trust the broker alone."""
        self.store, self.handlers, self.trust, self.now = store, handlers, trust, now
        self.quarantine_out = quarantine_out
        self.verifier = verifier
        self.pacer = pacer  # hubs: a flooding child's messages wait (nodes.messaging.pacing)
        self.applied = self.duplicates = self.quarantined = self.stale = self.held_back = 0
        self.released = 0  # held messages applied (or refused) later, with their predecessor
        self.probes = 0  # own binding probes dropped (nodes.messaging.probe)

    def handle(self, delivery: Delivery) -> None:
        """Handle one broker message: a single envelope, or a bundle of them (protocol 1.3)."""
        if (too_big := oversized(delivery)) is not None:  # before anything reads the body
            return self._refuse(delivery, AlarmKind.OVERSIZED, too_big)
        if is_own_probe(delivery, self.trust.node_id, tier_of(self.trust.node_id),
                        self.trust.require_user_id):
            self.probes += 1  # this node's binding probe came round: nothing to apply
            delivery.ack()
            return None
        if self.pacer is not None and self.pacer.intercept(delivery):
            return delivery.ack()  # a flooding child's: checked and applied later, in its order
        if self.verifier is not None:  # the signature first: nothing is decoded before it
            refused = self.verifier.check(delivery)
            if refused is not None:
                return self._quarantine(delivery, refused)
        try:
            parts = unpack(delivery.body, delivery.headers)
        except DecodeError as exc:  # the framing itself is wrong: the whole message goes
            return self._quarantine(delivery, str(exc))
        if parts is None:
            return self._handle_one(delivery)
        return self._handle_bundle(delivery, parts)

    def _handle_bundle(self, delivery: Delivery, parts: list[bytes]) -> None:
        """Each part is handled as if it had come alone (checked, applied or quarantined, recorded
        in the inbox), all inside one savepoint; the bundle is acked once. If any part must be
        retried, the savepoint is rolled back and the whole bundle goes back to the queue: parts
        are never half-applied, and a redelivery finds them all still to do. (A part quarantined
        before the crash has already sent its copy to the quarantine queue; the redelivery sends
        another. The counters above also count the rolled-back attempt.)"""
        outcome = _PartOutcome()
        try:
            with self.store.atomic():
                for part in parts:
                    self._handle_one(dataclasses.replace(delivery, body=part, message=outcome))
                    if outcome.requeued:
                        raise _RetryBundle
        except _RetryBundle:
            delivery.requeue()
            return
        delivery.ack()

    def _handle_one(self, delivery: Delivery) -> None:
        try:
            env = decode(delivery.body)
        except DecodeError as exc:
            return self._quarantine(delivery, str(exc))
        reason = self.trust.check(env, delivery)
        if reason is None and env.schema_name not in self.handlers:
            reason = f"this node does not accept {env.schema_name}"
        if reason is not None:
            return self._quarantine(delivery, reason, env)
        if (ahead := too_far_ahead(env, self.now())) is not None:
            return self._refuse(delivery, AlarmKind.FUTURE_TIME, ahead, env)
        try:
            outcome, refused = self._apply(env, delivery)
        except Exception:
            log.exception("consumer.apply_failed",
                          case_id=env.case_id, message_id=str(env.message_id))
            delivery.requeue()  # nothing committed; the delivery limit stops a poison message
            return None
        for body, why in refused:  # quarantined while applying: copies out after the commit
            if self.quarantine_out is not None:
                self.quarantine_out(body, why, delivery)
        delivery.ack()
        log.debug("consumer." + outcome, case_id=env.case_id,
                  message_id=str(env.message_id), schema=env.schema_name)
        return None

    def _apply(self, env: Envelope, delivery: Delivery) -> tuple[str, list[tuple[bytes, str]]]:
        """One transaction: dedupe, order, apply, inbox, and release what waited for this one."""
        refused: list[tuple[bytes, str]] = []
        with self.store.atomic():
            if self.store.seen(str(env.message_id)):
                self.duplicates += 1
                return "duplicate", refused
            stream = _stream(env)
            if stream is not None:
                last = self.store.last_seq(*stream)
                if env.seq <= last:  # this stream already moved past it (replayed under a new id)
                    self.store.record_seen(_entry(env), self.now())
                    self.stale += 1
                    return "stale", refused
                if env.prev_seq is not None and env.prev_seq > last:  # predecessor not here yet
                    self.store.hold(_entry(env), env.prev_seq, delivery.body, self.now())
                    self.held_back += 1
                    return "held", refused
            outcome = self._run(env, delivery.body, delivery, refused)
            while stream is not None and (body := self.store.take_held_after(*stream, env.seq)):
                env = decode(body)  # it was checked when it arrived
                self._run(env, body, delivery, refused)
                self.released += 1
        return outcome, refused

    def _run(self, env: Envelope, body: bytes, delivery: Delivery,
             refused: list[tuple[bytes, str]]) -> str:
        """Apply one message and record it in the inbox, in one store call; a rule that forbids
        it quarantines it instead, recorded just the same, so its stream moves on and a
        redelivery is ignored."""
        handler = self.handlers[env.schema_name]
        try:
            opened = self.verifier.open(env) if self.verifier is not None else env
            self.store.apply_and_record(_entry(env), lambda: handler(opened), self.now())
            self.applied += 1
            return "applied"
        except DomainError as exc:
            reason = f"cannot apply: {exc}"
        except TrustError as exc:  # sealed fields that do not open: refused for good
            reason = reason_of(exc)
        self.store.quarantine_and_record(
            _entry(env), body, Refused(reason, delivery.routing_key, delivery.user_id),
            self.now())
        refused.append((body, reason))
        self.quarantined += 1
        log.warning("consumer.quarantined", reason=reason, message_id=str(env.message_id),
                    routing_key=delivery.routing_key)
        return "quarantined"

    def replay_deferred(self, limit: int, *, backed_up: bool = False) -> int:
        """Handle up to `limit` deferred messages, oldest first; how many were taken."""
        return 0 if self.pacer is None else self.pacer.replay(self.handle, self._handle_one,
                                                              limit, backed_up=backed_up)

    def _refuse(self, delivery: Delivery, kind: AlarmKind, reason: str,
                env: Envelope | None = None) -> None:
        """Quarantine, and alarm about the sender as far as it is known."""
        self.store.raise_alarm(kind.value, env.sender if env else delivery.user_id or
                               delivery.routing_key or "?", reason, self.now())
        return self._quarantine(delivery, reason, env)

    def _quarantine(self, delivery: Delivery, reason: str, env: Envelope | None = None) -> None:
        self.store.quarantine(delivery.body, Refused(reason, delivery.routing_key,
                                                     delivery.user_id), self.now())
        if self.quarantine_out is not None:
            self.quarantine_out(delivery.body, reason, delivery)
        delivery.ack()
        self.quarantined += 1
        log.warning("consumer.quarantined", reason=reason,
                    message_id=str(env.message_id) if env else None,
                    routing_key=delivery.routing_key)


def oversized(delivery: Delivery) -> str | None:
    """The quarantine reason for a body over the broker's message limit, judged by its length
    alone, before any framing or JSON is read (a broker without the limit set may deliver one)."""
    size = len(delivery.body)
    if size > MAX_BROKER_MESSAGE_BYTES:
        return f"message is {size} bytes, above the broker limit of {MAX_BROKER_MESSAGE_BYTES}"
    return None


class _RetryBundle(Exception):
    """A part of a bundle asked to be retried: roll the bundle back and requeue it whole."""


class _PartOutcome:
    """Stands in for the broker message while one part of a bundle is handled."""

    def __init__(self) -> None:
        self.requeued = False

    def ack(self) -> None:
        pass  # the bundle is acked once, after all its parts

    def reject(self, requeue: bool) -> None:
        self.requeued = True


def _entry(env: Envelope) -> InboxEntry:
    return InboxEntry(str(env.message_id), env.sender, env.case_id, env.seq, env.schema_name)


def _stream(env: Envelope) -> Stream | None:
    """(sender, case, schema) for messages applied in order; None for the rest."""
    if env.schema_name in ORDERED and env.case_id is not None:
        return env.sender, env.case_id, env.schema_name
    return None
