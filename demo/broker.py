"""`fengqiao demo --broker URL`: the sample city on RabbitMQ, one process per tier.

The driver declares the topology (as `deploy/` would), empties the sample nodes' queues left by an
earlier demo, starts the four tier processes, waits until the network is quiet (no outbox rows
waiting, no case waiting for staff, no message in any node queue), stops them with SIGTERM and
reads the city's flow table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from demo.network import SAMPLE_NOTE, sample_network, write_configs
from fengqiao.bootstrap import bootstrap
from hub.flow import flow_json
from hub.store import HubStore
from nodes.messaging.amqp_admin import AmqpAdmin
from nodes.store.peek import peek
from protocol.areas import TIER_ORDER
from protocol.topology import node_queue, node_queue_name

QUIET_CHECKS = 3          # consecutive quiet looks before we call the network quiet
CHECK_EVERY_S = 0.5
DEADLINE_S = 180.0
WAITING_FOR_STAFF = ("REGISTERED", "RETURNED")


def _declare_and_purge(url: str) -> AmqpAdmin:
    transport = AmqpAdmin(url)
    transport.declare([node_queue(s.node_id, s.tier) for s in sample_network()])
    for spec in sample_network():
        transport.purge(node_queue_name(spec.node_id))
    return transport


def _busy(workdir: Path, transport: AmqpAdmin) -> int:
    """Outbox rows waiting + cases waiting for staff + messages in node queues."""
    waiting = 0
    for spec in sample_network():
        db = workdir / spec.node_id / "fengqiao.db"
        if not db.exists():
            return 1
        summary = peek(db)
        waiting += summary.unsent + sum(summary.states.get(s, 0) for s in WAITING_FOR_STAFF)
        waiting += transport.queue_depth(node_queue_name(spec.node_id))
    return waiting


def run_broker(url: str, cases_per_village: int, seed: int,
               workdir: Path | None = None) -> dict[str, object]:
    started = time.monotonic()
    base = workdir or Path(tempfile.mkdtemp(prefix="fengqiao-demo-mq-"))
    write_configs(base, url)
    transport = _declare_and_purge(url)
    procs = [subprocess.Popen(  # noqa: S603 - our own module with a fixed argument list
        [sys.executable, "-m", "demo.worker", "--dir", str(base), "--tier", tier.value,
         "--cases", str(cases_per_village), "--seed", str(seed)],
        env={**os.environ, "FENGQIAO_LOG_LEVEL": os.environ.get("FENGQIAO_LOG_LEVEL", "WARNING")})
        for tier in TIER_ORDER]
    try:
        quiet = 0
        while quiet < QUIET_CHECKS:
            if time.monotonic() - started > DEADLINE_S:
                raise TimeoutError(f"network not quiet after {DEADLINE_S:.0f} s")
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a tier process exited early")
            time.sleep(CHECK_EVERY_S)
            seeded = (base / "seeded").exists()
            quiet = quiet + 1 if seeded and _busy(base, transport) == 0 else 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        transport.close()
    city = bootstrap(base / "330600000000" / "fengqiao.toml")
    try:
        assert isinstance(city.store, HubStore)  # noqa: S101 - the root gives a city a HubStore
        result = flow_json(city.store, city.clock.now(), city.node_id)
    finally:
        city.close()
    result.update(cases=cases_per_village * 12, seconds=round(time.monotonic() - started, 2),
                  workdir=str(base), note=SAMPLE_NOTE,
                  exit_codes=[p.returncode for p in procs])
    return result
