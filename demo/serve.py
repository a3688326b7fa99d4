"""`fengqiao demo --serve`: the sample city run to quiet, then every node's web app served on
consecutive ports, with sample logins, until Ctrl-C (issue 17 item 1).

A newcomer clicks through a whole network: what one node's page records travels on, because a
pump thread keeps publishing every outbox and consuming every queue of the in-memory broker (at
once after a commit made through a page, else a few times a second) and every node says it is
alive to the hubs above every `HEARTBEAT_EVERY_S`, and sweeps (deadlines, supervision orders)
every `HOUSEKEEPING_EVERY_S` as `node run` does. A few disputes are left open at each village,
and one per township is escalated, so every tier has something waiting.

SAMPLE DATA: the logins, their password and every party are invented for the demo.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from demo.embedded import DEFAULT_SEED, run_embedded
from demo.network import sample_network, seed_disputes
from demo.policy import _escalate
from fengqiao.bootstrap import bootstrap
from nodes.config import NodeConfig, WebConfig, load_config
from nodes.messaging.memory import MemoryBroker
from nodes.messaging.settings import HEARTBEAT_EVERY_S, HOUSEKEEPING_EVERY_S
from nodes.node import Node
from nodes.store import users
from nodes.web.accounts import hash_password
from nodes.web.server import WebServer
from protocol.areas import Tier

SAMPLE_PASSWORD = "sample-2026"  # noqa: S105 - printed for everyone: sample data only
OPEN_PER_VILLAGE = 2  # disputes left open at each village, waiting for a mediator
STOP_POLL_S = 0.5
IDLE_WAIT_S = 0.3  # the pump's pause when nothing moved and no page committed
LOGINS = {"village": (("mediator", "mediator"), ("grid", "grid_worker")),
          "hub": (("staff", "hub_staff"), ("leader", "leader")),
          "county/city": (("staff", "hub_staff"), ("leader", "leader"),
                          ("supervisor", "supervisor"))}  # 督查: issues 督办 orders


@dataclass(frozen=True)
class Served:
    """One node's web app as printed: name, tier, address and its sample logins."""

    node_id: str
    name: str
    tier: Tier
    url: str
    logins: tuple[tuple[str, str], ...]  # (login name, role)


def logins_for(tier: Tier) -> tuple[tuple[str, str], ...]:
    if tier is Tier.VILLAGE:
        return LOGINS["village"]
    return LOGINS["county/city" if tier in (Tier.COUNTY, Tier.CITY) else "hub"]


def leave_work_open(nodes: dict[str, Node], seed: int) -> None:
    """Fresh disputes at every village, and one escalated from the first village of each
    township: after the run to quiet, every tier has a case waiting for its people."""
    rng = random.Random(seed + 1)  # noqa: S311 - not for security (sample data)
    escalated: set[str] = set()
    for spec in sample_network():
        if spec.tier is not Tier.VILLAGE:
            continue
        node = nodes[spec.node_id]
        ids = seed_disputes(node, OPEN_PER_VILLAGE, rng)
        township = spec.node_id[:9] + "000"
        if township not in escalated:
            escalated.add(township)
            node.service.act(ids[0], _escalate(node))


class Pump:
    """Moves every message of the in-memory network on a thread of its own, with nodes of its
    own (their own SQLite connections), until `stop` is set."""

    def __init__(self, nodes: dict[str, Node], stop: threading.Event) -> None:
        self.nodes, self.stop_event = nodes, stop
        self.wake = threading.Event()  # a page committed: move at once
        self.thread = threading.Thread(target=self.run, name="demo-pump", daemon=True)

    def run(self) -> None:
        beat_due = sweep_due = 0.0
        while not self.stop_event.is_set():
            moved = sum(n.publish() for n in self.nodes.values())
            moved += sum(n.consume() for n in self.nodes.values())
            if moved:
                continue
            if time.monotonic() >= sweep_due:  # deadlines and supervision orders, as a service
                for node in self.nodes.values():
                    node.housekeep()
                sweep_due = time.monotonic() + HOUSEKEEPING_EVERY_S
                continue
            if time.monotonic() >= beat_due:  # once quiet: the backlog it tells is the real one
                for node in self.nodes.values():
                    node.heartbeat()
                beat_due = time.monotonic() + HEARTBEAT_EVERY_S
                continue
            self.wake.wait(IDLE_WAIT_S)
            self.wake.clear()


def web_config(config: NodeConfig, host: str, port: int) -> NodeConfig:
    return config.model_copy(update={"web": WebConfig(listen=f"{host}:{port}")})


def serve(workdir: Path, cases: int, stop: threading.Event, announce: Callable[[Served], None],
          *, seed: int = DEFAULT_SEED, port_base: int = 8100, host: str = "127.0.0.1",
          ready: Callable[[], None] = lambda: None) -> dict[str, object]:
    """Run the city to quiet, serve every node's pages, `announce` each (then `ready`), wait for
    `stop`, then stop the pages and the pump and close every node. Returns the run's figures."""
    broker = MemoryBroker()
    result = run_embedded(workdir, cases, seed, broker=broker)
    configs = {s.node_id: load_config(workdir / s.node_id / "fengqiao.toml")
               for s in sample_network()}
    nodes: dict[str, Node] = {}
    webs: list[WebServer] = []
    pump = Pump(nodes, stop)
    try:
        for code, config in configs.items():
            nodes[code] = node = bootstrap(config, broker=broker)
            for name, role in logins_for(config.tier):
                users.add_user(node.store, name, role, hash_password(SAMPLE_PASSWORD),
                               node.clock.now())
        leave_work_open(nodes, seed)
        pump.thread.start()
        for port, (code, config) in enumerate(configs.items(), start=port_base):
            served = web_config(config, host, port)
            web = WebServer(served, partial(bootstrap, served, broker=broker),
                            on_commit=pump.wake.set)
            web.start()
            webs.append(web)
            announce(Served(code, config.name, config.tier, f"http://{host}:{port}/",
                            logins_for(config.tier)))
        ready()
        while not stop.wait(STOP_POLL_S):  # a signal handler sets it (the main thread's wait)
            pass
    finally:
        stop.set()
        for web in webs:  # all at once: each then takes its own short while to finish
            if web.server is not None:
                web.server.should_exit = True
        for web in webs:
            web.stop()
        if pump.thread.is_alive():
            pump.wake.set()
            pump.thread.join()
        for node in nodes.values():
            node.close()
    return result
