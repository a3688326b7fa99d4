"""One tier of the demo city as its own process on RabbitMQ: every node of that tier runs as a
service (relay + consumer threads), and a staff thread decides what waits at each node.

Started by `fengqiao demo --broker URL`; stops cleanly on SIGTERM.
"""

from __future__ import annotations

import argparse
import random
import signal
import threading
from functools import partial
from pathlib import Path

from demo.network import sample_network, seed_disputes
from demo.policy import work_open_cases
from fengqiao.bootstrap import bootstrap
from nodes.config import load_config
from nodes.logs import configure
from nodes.messaging.runtime import NodeRuntime
from protocol.areas import Tier

STAFF_PAUSE_S = 0.05


def run_tier(workdir: Path, tier: Tier, cases: int, seed: int, stop: threading.Event) -> None:
    configs = [load_config(workdir / s.node_id / "fengqiao.toml")
               for s in sample_network() if s.tier is tier]
    runtimes = [NodeRuntime(cfg, partial(bootstrap, cfg)) for cfg in configs]
    staff = [bootstrap(cfg) for cfg in configs]
    for runtime in runtimes:
        runtime.start()
    if tier is Tier.VILLAGE:
        rng = random.Random(seed)  # noqa: S311 - not for security (sample data, jitter)
        for node in staff:  # same order and seed as the embedded demo: same disputes
            seed_disputes(node, cases, rng)
        (workdir / "seeded").touch()
    try:
        while not stop.is_set():
            for node in staff:
                work_open_cases(node)
            stop.wait(STAFF_PAUSE_S)
    finally:
        for runtime in runtimes:
            runtime.stop()
        for node in staff:
            node.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--tier", choices=[t.value for t in Tier], required=True)
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    configure(service=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_tier(args.dir, Tier(args.tier), args.cases, args.seed, stop)


if __name__ == "__main__":
    main()
