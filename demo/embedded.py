"""`fengqiao demo`: a whole sample city on the embedded transport, in one process, no set-up.

Each round, staff at every node decide what waits for them, every relay publishes its outbox and
every consumer takes what arrived; the run ends when a round moves nothing (the network is quiet).
The same nodes, relays and consumers run as services in `fengqiao demo --broker URL`.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from demo.deadlines import DemoClock, sweep_after
from demo.network import SAMPLE_NOTE, sample_network, seed_disputes, write_configs
from demo.policy import work_open_cases
from fengqiao.bootstrap import bootstrap
from hub.flow import flow_json
from hub.store import HubStore
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from protocol.areas import Tier

CASES_PER_VILLAGE = 30
DEFAULT_SEED = 2026
CITY = "330600000000"


def run_embedded(workdir: Path | None = None, cases_per_village: int = CASES_PER_VILLAGE,
                 seed: int = DEFAULT_SEED, broker: MemoryBroker | None = None,
                 days: int = 0) -> dict[str, object]:
    """Run the sample city to quiet; returns the city's flow table and run figures. `broker`
    (a fresh one unless given: nothing left by another run can reach it) shows a test what was
    published. `days`: then the deadline sweep that many days on (`demo.deadlines`), under
    "deadlines"."""
    started = time.monotonic()
    base = workdir or Path(tempfile.mkdtemp(prefix="fengqiao-demo-"))
    paths = write_configs(base, "memory://")
    broker = broker or MemoryBroker()
    clock = DemoClock()  # the system's time until `days` moves it on
    nodes: dict[str, Node] = {}
    try:
        for node_id, path in paths.items():
            nodes[node_id] = bootstrap(path, broker=broker, clock=clock)
            nodes[node_id].declare()
        rng = random.Random(seed)  # noqa: S311 - not for security (sample data, jitter)
        created = 0
        for spec in sample_network():
            if spec.tier is Tier.VILLAGE:
                created += len(seed_disputes(nodes[spec.node_id], cases_per_village, rng))
        rounds = 0
        while True:
            rounds += 1
            moved = sum(work_open_cases(n) for n in nodes.values())
            moved += sum(n.publish() for n in nodes.values())
            moved += sum(n.consume() for n in nodes.values())
            if moved == 0:
                break
        for n in nodes.values():  # every station says it is alive; county and city record it
            n.heartbeat()
        for n in nodes.values():
            n.consume()
        city = nodes[CITY]
        assert isinstance(city.store, HubStore)  # noqa: S101 - the root gives a city a HubStore
        result = flow_json(city.store, city.clock.now(), CITY)
        result.update(cases=created, rounds=rounds, seconds=round(time.monotonic() - started, 2),
                      workdir=str(base), note=SAMPLE_NOTE,
                      quarantined=sum(n.consumer.quarantined for n in nodes.values()),
                      # waiting for a predecessor that never came: must be 0 when quiet
                      held=sum(n.store.held_count() for n in nodes.values()))
        if days:
            result["deadlines"] = sweep_after(nodes, clock, days, CITY, rng)
    finally:
        for n in nodes.values():
            n.close()
    return result
