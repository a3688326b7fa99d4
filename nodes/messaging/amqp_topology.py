"""Declaring, or checking, the broker topology on an AMQP channel (kombu entities).

Two modes. A node whose broker was set up by `fengqiao deploy apply` (the default on RabbitMQ)
holds no configure right, so it only checks, with passive declares that need no permission, that
the exchanges and its own queue exist: a missing one is a TransportError naming it, and the node
waits and tries again instead of running against a broker that would drop its messages. Bindings
cannot be checked passively in AMQP; `deploy apply` reads them back, and every publish is
mandatory, so a message a missing binding would have dropped comes back to its sender instead.
Declaring in full (embedded broker, tests, `declare_topology = true`) makes what is missing and
leaves what exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kombu.entity import Exchange, Queue, binding

from protocol.topology import EXCHANGES, SHARED_QUEUES, ExchangeSpec, QueueSpec


def _exchange(spec: ExchangeSpec) -> Exchange:
    return Exchange(spec.name, type=spec.type, durable=spec.durable, arguments=spec.arguments)


EXCHANGE_ENTITIES = {spec.name: _exchange(spec) for spec in EXCHANGES}


def queue_entity(spec: QueueSpec) -> Queue:
    return Queue(spec.name, durable=spec.durable, queue_arguments=spec.arguments,
                 bindings=[binding(EXCHANGE_ENTITIES[ex], routing_key=key)
                           for ex, key in spec.bindings])


def declare(channel: Any, queues: Iterable[QueueSpec], *, passive: bool) -> None:
    """Declare (or, `passive`, check) the exchanges, the shared queues and `queues`."""
    for exchange in EXCHANGE_ENTITIES.values():
        exchange(channel).declare(passive=passive)
    if passive:  # only what this node uses: the shared queues are the operator's
        for spec in queues:
            channel.queue_declare(spec.name, passive=True)
        return
    for spec in (*SHARED_QUEUES, *queues):
        queue_entity(spec)(channel).declare()
