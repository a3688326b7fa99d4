"""The consumer: validate, apply and record in the inbox in one transaction, then ack (DESIGN §4).

- A message id seen before is acked and ignored.
- A message that fails validation, names a sender it may not speak for, or cannot be applied is
  quarantined with its reason (locally and on the broker's quarantine queue) and acked.
- Anything else that goes wrong is requeued; the quorum queue's delivery limit dead-letters a
  message that keeps crashing us, so one poison message never blocks the queue.
- A requeued ordered message (escalation, decision) comes back after deliveries already on their
  way; applied first, a later one of the same stream would make it "stale" and it would be
  dropped. So its stream (sender, case, kind) waits: later messages of that stream are given back
  too, and the stream's messages are then applied only in the order they were first given back.
  A message on its last delivery (the next give-back would dead-letter it) never waits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import structlog

from nodes.domain.case import DomainError
from nodes.messaging.transport import Delivery
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import AreaTree
from protocol.envelope import DecodeError, Envelope, decode
from protocol.messages import CaseDecision, CaseEscalated, Heartbeat, LifecycleReport
from protocol.routing import node_key
from protocol.topology import DELIVERY_LIMIT, EXCHANGE_DOWN, EXCHANGE_REPORT, EXCHANGE_UP

log = structlog.get_logger("fengqiao.consumer")

Handler = Callable[[SqliteStore, Envelope], None]
ORDERED = frozenset({"case_escalated", "case_decision"})  # stale ones are recorded, not applied
Stream = tuple[str, str, str]  # (sender, case id, schema): one sender's ordered messages on a case
EXPECTED_EXCHANGE = {
    "case_escalated": EXCHANGE_UP, "case_decision": EXCHANGE_DOWN,
    "supervision_order": EXCHANGE_DOWN, "lifecycle_report": EXCHANGE_REPORT,
    "heartbeat": EXCHANGE_REPORT,
}


@dataclass(frozen=True)
class Trust:
    """Who may send what to this node, and how far the broker's user id is trusted."""

    node_id: str
    tree: AreaTree
    require_user_id: bool = False
    shared_users: frozenset[str] = frozenset({"guest"})

    def check(self, env: Envelope, delivery: Delivery) -> str | None:
        """None if acceptable, else the quarantine reason."""
        user = delivery.user_id
        if user is not None and user != env.sender and user not in self.shared_users:
            return f"forged sender: broker user {user!r} published as {env.sender}"
        if user is None and self.require_user_id:
            return "no validated user id on the message"
        if user in self.shared_users and self.require_user_id:
            return f"shared broker user {user!r} is not accepted here"
        kind = env.schema_name
        if delivery.exchange and delivery.exchange != EXPECTED_EXCHANGE[kind]:
            return f"{kind} arrived on {delivery.exchange}, expected {EXPECTED_EXCHANGE[kind]}"
        expected_key = node_key(self.node_id) if kind in ("case_decision", "supervision_order") \
            else node_key(env.sender)
        if delivery.routing_key and delivery.routing_key != expected_key:
            return f"routing key {delivery.routing_key} does not belong to sender {env.sender}"
        parent = self.tree.parent_of(self.node_id)
        if kind == "case_escalated" and self.tree.parent_of(env.sender) != self.node_id:
            return f"{env.sender} is not a child of {self.node_id}"
        if kind in ("case_decision", "supervision_order") and env.sender != parent:
            return f"{env.sender} is not the parent of {self.node_id}"
        if kind in ("lifecycle_report", "heartbeat") and env.sender != self.node_id \
                and not self.tree.is_under(env.sender, self.node_id):
            return f"{env.sender} is not in the subtree of {self.node_id}"
        return self._payload_check(env)

    def _payload_check(self, env: Envelope) -> str | None:
        """Payload fields a handler relies on must agree with the (checked) sender: the hub trusts
        the broker's user and the routing key, never a payload field on its own (DESIGN §3)."""
        payload = env.payload
        if isinstance(payload, LifecycleReport | Heartbeat) and payload.node_id != env.sender:
            return f"{payload.type} is about {payload.node_id} but was sent by {env.sender}"
        if isinstance(payload, CaseEscalated | CaseDecision | LifecycleReport):
            if env.case_id is None:  # the handlers need one (they assert it: a requeue loop)
                return f"{payload.type} without a case_id"
            origin = payload.origin_node
            if not env.case_id.startswith(origin + "-"):
                return f"case {env.case_id} was not opened at its origin node {origin}"
            # A case travels along its origin's chain of ancestors only: an escalation or a report
            # comes from the origin or a tier above it, a decision goes down toward the origin.
            holder = self.node_id if isinstance(payload, CaseDecision) else env.sender
            if origin != holder and not self.tree.is_under(origin, holder):
                return f"origin node {origin} is not in the subtree of {holder}"
        return None


class Consumer:
    def __init__(self, store: SqliteStore, handlers: Mapping[str, Handler], trust: Trust,
                 now: Callable[[], datetime],
                 quarantine_out: Callable[[bytes, str, Delivery], None] | None = None) -> None:
        self.store, self.handlers, self.trust, self.now = store, handlers, trust, now
        self.quarantine_out = quarantine_out
        self.applied = self.duplicates = self.quarantined = self.stale = self.held_back = 0
        self.waiting: dict[Stream, list[str]] = {}  # stream -> ids given back, in stream order

    def handle(self, delivery: Delivery) -> None:
        try:
            env = decode(delivery.body)
        except DecodeError as exc:
            return self._quarantine(delivery, str(exc))
        reason = self.trust.check(env, delivery)
        if reason is None and env.schema_name not in self.handlers:
            reason = f"this node does not accept {env.schema_name}"
        if reason is not None:
            return self._quarantine(delivery, reason, env)
        stream = (env.sender, env.case_id, env.schema_name) \
            if env.schema_name in ORDERED and env.case_id is not None else None
        if stream is not None and self._held_back(stream, str(env.message_id), delivery):
            return None
        try:
            outcome = self._apply(env)
        except DomainError as exc:
            return self._quarantine(delivery, f"cannot apply: {exc.en}", env)
        except Exception:
            log.exception("consumer.apply_failed", node_id=self.trust.node_id,
                          case_id=env.case_id, message_id=str(env.message_id))
            if stream is not None:
                self._wait_for(stream, str(env.message_id), not _last_delivery(delivery))
            delivery.requeue()
            return None
        delivery.ack()
        log.debug("consumer." + outcome, node_id=self.trust.node_id, case_id=env.case_id,
                  message_id=str(env.message_id), schema=env.schema_name)
        return None

    def _held_back(self, stream: Stream, message_id: str, delivery: Delivery) -> bool:
        """Give `delivery` back if its stream waits for another message given back before it."""
        given_back = self.waiting.get(stream)
        if not given_back:
            return False
        if given_back[0] == message_id or _last_delivery(delivery):  # its turn, or no more tries
            self._wait_for(stream, message_id, False)
            return False
        if message_id not in given_back:
            given_back.append(message_id)
        self.held_back += 1
        delivery.requeue()
        log.debug("consumer.held_back", node_id=self.trust.node_id, case_id=stream[1],
                  message_id=message_id, waiting_for=given_back[0])
        return True

    def _wait_for(self, stream: Stream, message_id: str, wait: bool) -> None:
        """Put a failed message first in its stream's line (`wait`), or take it out of the line."""
        given_back = self.waiting.setdefault(stream, [])
        if message_id in given_back:
            given_back.remove(message_id)
        if wait:
            given_back.insert(0, message_id)
        if not given_back:
            del self.waiting[stream]

    def _apply(self, env: Envelope) -> str:
        message_id = str(env.message_id)
        with self.store.atomic():
            if self.store.seen(message_id):
                self.duplicates += 1
                return "duplicate"
            stale = env.schema_name in ORDERED and env.case_id is not None and \
                self.store.last_seq(env.sender, env.case_id, env.schema_name) >= env.seq
            if not stale:
                self.handlers[env.schema_name](self.store, env)
            self.store.record_inbox(message_id, env.sender, env.case_id, env.seq,
                                    env.schema_name, self.now())
        if stale:
            self.stale += 1
            return "stale"
        self.applied += 1
        return "applied"

    def _quarantine(self, delivery: Delivery, reason: str, env: Envelope | None = None) -> None:
        self.store.quarantine(delivery.body, reason, self.now(), delivery.routing_key,
                              delivery.user_id)
        if self.quarantine_out is not None:
            self.quarantine_out(delivery.body, reason, delivery)
        delivery.ack()
        self.quarantined += 1
        log.warning("consumer.quarantined", node_id=self.trust.node_id, reason=reason,
                    message_id=str(env.message_id) if env else None,
                    routing_key=delivery.routing_key)


def _last_delivery(delivery: Delivery) -> bool:
    """On a quorum queue a message given back once more after this delivery is dead-lettered
    (RabbitMQ counts the give-backs in `x-delivery-count`: none, then 1 .. DELIVERY_LIMIT)."""
    return int(delivery.headers.get("x-delivery-count") or 0) >= DELIVERY_LIMIT
