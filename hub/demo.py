"""`fengqiao demo`: a whole sample city on the embedded transport, in one process, no set-up.

Each round, staff at every node decide what waits for them, every relay publishes its outbox and
every consumer takes what arrived; the run ends when a round moves nothing (the network is quiet).
The same nodes, relays and consumers run as services in `fengqiao demo --broker URL`.
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hub.bootstrap import handlers_for, node_for
from hub.demo_network import SAMPLE_NOTE, sample_network, seed_disputes, write_configs
from hub.demo_policy import work_open_cases
from hub.flow import flow_json
from nodes.bootstrap import Node
from nodes.config import load_config
from nodes.messaging.consumer import Consumer
from nodes.messaging.relay import Relay
from nodes.messaging.runtime import heartbeat_body, make_consumer, tree_for
from nodes.messaging.transport import KombuTransport
from protocol.areas import Tier
from protocol.routing import report_key
from protocol.topology import EXCHANGE_REPORT, node_queue, node_queue_name

CASES_PER_VILLAGE = 30
DEFAULT_SEED = 2026


@dataclass
class EmbeddedNode:
    node: Node
    transport: KombuTransport
    relay: Relay
    consumer: Consumer

    def consume(self) -> int:
        return self.transport.drain_queue(node_queue_name(self.node.config.node_id),
                                          self.consumer.handle)


def _embedded(config_path: Path) -> EmbeddedNode:
    cfg = load_config(config_path)
    node = node_for(cfg)
    transport = KombuTransport(cfg.broker_url)
    transport.declare([node_queue(cfg.node_id, cfg.tier, tree_for(cfg), cfg.children)])
    relay = Relay(node.store, transport, cfg.node_id, node.service.clock.now)
    return EmbeddedNode(node, transport, relay, make_consumer(node, handlers_for, transport))


def run_embedded(workdir: Path | None = None, cases_per_village: int = CASES_PER_VILLAGE,
                 seed: int = DEFAULT_SEED) -> dict[str, object]:
    """Run the sample city to quiet; returns the city's flow table and run figures."""
    started = time.monotonic()
    base = workdir or Path(tempfile.mkdtemp(prefix="fengqiao-demo-"))
    paths = write_configs(base, "memory://")
    nodes = {node_id: _embedded(path) for node_id, path in paths.items()}
    rng = random.Random(seed)
    created = 0
    for spec in sample_network():
        if spec.tier is Tier.VILLAGE:
            created += len(seed_disputes(nodes[spec.node_id].node, cases_per_village, rng))
    rounds = 0
    while True:
        rounds += 1
        moved = sum(work_open_cases(n.node) for n in nodes.values())
        moved += sum(n.relay.drain() for n in nodes.values())
        moved += sum(n.consume() for n in nodes.values())
        if moved == 0:
            break
    for n in nodes.values():  # every station says it is alive; county and city record it
        n.transport.publish_raw(EXCHANGE_REPORT, report_key(n.node.config.node_id),
                                heartbeat_body(n.node, n.relay), persistent=False)
    for n in nodes.values():
        n.consume()
    city = nodes["330600000000"].node
    result = flow_json(city.store, city.service.clock.now())
    result.update(cases=created, rounds=rounds, seconds=round(time.monotonic() - started, 2),
                  workdir=str(base), note=SAMPLE_NOTE,
                  quarantined=sum(n.consumer.quarantined for n in nodes.values()))
    for n in nodes.values():
        n.transport.close()
        n.node.close()
    return result
