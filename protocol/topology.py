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


def node_queue_name(node_id: str) -> str:
    return f"fengqiao.node.{node_id}"


def node_queue(node_id: str, tier: Tier, tree: AreaTree | None = None,
               children: Iterable[str] = ()) -> QueueSpec:
    """One durable quorum queue per node, bound to what that node must receive.

    Every node: decisions and orders sent down to it. Hubs: their children's escalations.
    County and city: every report and heartbeat of their subtree.
    """
    bindings: list[tuple[str, str]] = [(EXCHANGE_DOWN, down_key(node_id))]
    if tier is not Tier.VILLAGE:
        bindings += [(EXCHANGE_UP, p) for p in up_bindings(node_id, tree or AreaTree(), children)]
    if tier in (Tier.COUNTY, Tier.CITY):
        # `own.#` matches `own` on RabbitMQ, not on every kombu virtual transport: bind both.
        bindings += [(EXCHANGE_REPORT, node_key(node_id)), (EXCHANGE_REPORT, subtree_pattern(node_id))]
    return QueueSpec(node_queue_name(node_id), dict(QUORUM_ARGUMENTS), tuple(bindings))
