"""The topology of `protocol.topology` as a RabbitMQ definitions document (management import format).

`deploy/rabbitmq/definitions.json` is generated from this for the sample network, so the broker an
operator loads and the queues a node declares are the same data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from protocol.areas import AreaTree, Tier
from protocol.topology import EXCHANGES, SHARED_QUEUES, QueueSpec, node_queue

DEFAULT_VHOST = "fengqiao"


def _queue(spec: QueueSpec, vhost: str) -> dict[str, Any]:
    return {"name": spec.name, "vhost": vhost, "durable": spec.durable, "auto_delete": False,
            "arguments": spec.arguments}


def _bindings(spec: QueueSpec, vhost: str) -> list[dict[str, Any]]:
    return [{"source": exchange, "vhost": vhost, "destination": spec.name,
             "destination_type": "queue", "routing_key": key, "arguments": {}}
            for exchange, key in spec.bindings]


def definitions(nodes: Iterable[tuple[str, Tier]], vhost: str = DEFAULT_VHOST,
                tree: AreaTree | None = None) -> dict[str, Any]:
    """Vhost, exchanges, shared queues and one quorum queue per node with its bindings."""
    node_list = list(nodes)
    children: dict[str, list[str]] = {}
    tree = tree or AreaTree()
    for node_id, _ in node_list:
        parent = tree.parent_of(node_id)
        if parent is not None:
            children.setdefault(parent, []).append(node_id)
    queues = [*SHARED_QUEUES,
              *(node_queue(n, t, tree, children.get(n, ())) for n, t in node_list)]
    return {
        "rabbitmq_version": "3.12",
        "vhosts": [{"name": vhost}],
        "exchanges": [{"name": e.name, "vhost": vhost, "type": e.type, "durable": e.durable,
                       "auto_delete": False, "internal": False, "arguments": e.arguments}
                      for e in EXCHANGES],
        "queues": [_queue(q, vhost) for q in queues],
        "bindings": [b for q in queues for b in _bindings(q, vhost)],
    }
