"""The broker topology as data (DESIGN §3): exchanges, queues, their arguments and bindings.

Nodes declare from here at start-up, and `deploy/` exports the same data as RabbitMQ definitions,
so the broker an operator loads and the one a node declares cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from protocol.areas import AreaTree, Tier
from protocol.routing import down_key, node_key, subtree_pattern, up_bindings

EXCHANGE_UP = "fengqiao.up"          # escalations, child -> parent; key = sender's path
EXCHANGE_DOWN = "fengqiao.down"      # decisions and orders, parent -> child; key = destination
EXCHANGE_REPORT = "fengqiao.report"  # lifecycle reports and heartbeats; key = sender's path
EXCHANGE_DEAD = "fengqiao.dead"      # dead letters: messages that crashed a consumer repeatedly
EXCHANGE_QUARANTINE = "fengqiao.quarantine"  # messages that failed validation, with the reason
QUEUE_DEAD = "fengqiao.dead-letter"
QUEUE_QUARANTINE = "fengqiao.quarantine"

# Reliability settings of the queues (DESIGN §4 rule 3), in one place.
DELIVERY_LIMIT = 5             # redeliveries before a poison message is dead-lettered
QUEUE_TYPE = "quorum"
# The largest broker message (its body) any node sends or takes (issue 15 item 4): a lone
# envelope is at most protocol.envelope.MAX_MESSAGE_BYTES (1,000,000), a bundle the relay packs at
# most BUNDLE_BYTES (512 KiB). RabbitMQ refuses a bigger publish (`max_message_size` in
# deploy/rabbitmq/rabbitmq.conf; its own default is 128 MiB), and a consumer quarantines a bigger
# body before reading it (`nodes.messaging.consumer.oversized`). With PREFETCH 100 deliveries in
# hand, a flood of the largest messages now costs a node about 100 MiB, not 100 x 128 MiB.
MAX_BROKER_MESSAGE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ExchangeSpec:
    name: str
    type: str = "topic"
    durable: bool = True
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueSpec:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    bindings: tuple[tuple[str, str], ...] = ()  # (exchange, routing pattern)
    durable: bool = True


# No alternate exchange (protocol 2.0): every publish is mandatory, so a message no queue takes
# comes back to its sender and stays in its outbox, instead of being confirmed into a shared
# queue that holds other nodes' dossiers (issue 15).
EXCHANGES: tuple[ExchangeSpec, ...] = (
    ExchangeSpec(EXCHANGE_UP), ExchangeSpec(EXCHANGE_DOWN), ExchangeSpec(EXCHANGE_REPORT),
    ExchangeSpec(EXCHANGE_DEAD, "fanout"), ExchangeSpec(EXCHANGE_QUARANTINE, "fanout"),
)

QUORUM_ARGUMENTS: dict[str, Any] = {
    "x-queue-type": QUEUE_TYPE,
    "x-delivery-limit": DELIVERY_LIMIT,
    "x-dead-letter-exchange": EXCHANGE_DEAD,
}

SHARED_QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec(QUEUE_DEAD, {"x-queue-type": QUEUE_TYPE}, ((EXCHANGE_DEAD, ""),)),
    QueueSpec(QUEUE_QUARANTINE, {"x-queue-type": QUEUE_TYPE}, ((EXCHANGE_QUARANTINE, ""),)),
)


@dataclass(frozen=True)
class PolicySpec:
    """A RabbitMQ policy: settings the broker applies to the queues whose names match."""

    name: str
    pattern: str
    definition: dict[str, Any]
    apply_to: str = "queues"
    priority: int = 0


# Length limits of the shared queues (issue 15 item 4: a node binding its queue to the quarantine
# fanout made a feedback loop of 9,958 broker messages in 15 s). They are a *policy*, applied by
# `deploy apply`, not queue arguments: a queue's arguments are fixed when it is declared, and a
# node (or an older broker) declaring the queue with other arguments fails with 406
# PRECONDITION_FAILED for ever, while a policy applies to queues that already exist, whatever
# declared them, and an operator can change it later without deleting a queue and its messages.
# Quorum queues take `drop-head` or `reject-publish` (not `reject-publish-dlx`):
# - quarantine, drop-head: the broker's copy is a convenience (each node keeps the message in its
#   own quarantine table with the reason), the newest refusals are the ones an operator looks for,
#   and reject-publish would nack the nodes' copies, so their consumers would retry for ever;
# - dead-letter, reject-publish: a dead letter exists nowhere else (its receiver never recorded
#   it), so what the queue holds stays as it is until an operator takes it: the first poison
#   messages, the clue to the fault, are not pushed out by their repeats. Dead-lettering is
#   at-most-once, so a dead letter that finds the queue full is dropped by the broker.
# 10,000 messages is ten nodes' full local quarantines (QUARANTINE_MAX_ROWS) and far more than a
# working network dead-letters (only a message that crashed its consumer DELIVERY_LIMIT times);
# 256 MiB is 256 messages of the largest size.
QUARANTINE_QUEUE_MAX_LENGTH = 10_000
DEAD_LETTER_QUEUE_MAX_LENGTH = 10_000
SHARED_QUEUE_MAX_BYTES = 256 * 1024 * 1024
POLICIES: tuple[PolicySpec, ...] = (
    PolicySpec("fengqiao-quarantine-limits", "^fengqiao\\.quarantine$", {
        "max-length": QUARANTINE_QUEUE_MAX_LENGTH, "max-length-bytes": SHARED_QUEUE_MAX_BYTES,
        "overflow": "drop-head"}),
    PolicySpec("fengqiao-dead-letter-limits", "^fengqiao\\.dead-letter$", {
        "max-length": DEAD_LETTER_QUEUE_MAX_LENGTH, "max-length-bytes": SHARED_QUEUE_MAX_BYTES,
        "overflow": "reject-publish"}),
)


def node_queue_name(node_id: str) -> str:
    return f"fengqiao.node.{node_id}"


def node_queue(node_id: str, tier: Tier, tree: AreaTree | None = None,
               children: Iterable[str] = ()) -> QueueSpec:
    """One durable quorum queue per node, bound to what that node must receive.

    Every node: decisions and orders sent down to it. Hubs: their children's escalations, and
    every report and heartbeat of their subtree (since 2.1 the township too: a village's red flag
    reaches it at once, as it reaches county and city).
    """
    bindings: list[tuple[str, str]] = [(EXCHANGE_DOWN, down_key(node_id))]
    if tier is not Tier.VILLAGE:
        bindings += [(EXCHANGE_UP, p) for p in up_bindings(node_id, tree or AreaTree(), children)]
        # `own.#` matches `own` on RabbitMQ, not on every kombu virtual transport: bind both.
        bindings += [(EXCHANGE_REPORT, node_key(node_id)), (EXCHANGE_REPORT, subtree_pattern(node_id))]
    return QueueSpec(node_queue_name(node_id), dict(QUORUM_ARGUMENTS), tuple(bindings))
