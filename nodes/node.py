"""A wired node: its config, store, case service, and the relay and consumer on one transport.

Built only by the composition root (`fengqiao.bootstrap.bootstrap`), which picks every adapter.
One `Node` is one SQLite connection and one broker connection: a service runs one per thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import structlog

from nodes.clock import Clock
from nodes.config import NodeConfig
from nodes.deadline_sweep import DeadlineSetting, sweep_deadlines
from nodes.housekeeping import SweepResult, sweep
from nodes.messaging.consumer import Consumer
from nodes.messaging.port import Transport
from nodes.messaging.probe import probe_bindings
from nodes.messaging.relay import Relay
from nodes.messaging.settings import CONSUME_BATCH
from nodes.service import CaseService
from nodes.store.sqlite_store import SqliteStore
from nodes.supervision import Supervision
from protocol.envelope import encode, make_envelope
from protocol.messages import MAX_SHORT, Heartbeat
from protocol.routing import report_key
from protocol.topology import EXCHANGE_REPORT, QueueSpec


@dataclass
class Node:
    config: NodeConfig
    clock: Clock
    store: SqliteStore
    service: CaseService
    transport: Transport
    relay: Relay
    consumer: Consumer
    queue: QueueSpec
    supervision: Supervision | None = None  # 督办 orders (`nodes.supervision`)

    @property
    def node_id(self) -> str:
        return self.config.node_id

    @contextmanager
    def bound(self) -> Iterator[None]:
        """Log lines inside carry this node's id (structlog's contextvars), however many nodes
        share the thread (the embedded demo runs 19 in one)."""
        with structlog.contextvars.bound_contextvars(node_id=self.config.node_id):
            yield

    def declare(self) -> None:
        """Declare the topology and this node's queue with its bindings, or, on a broker set up
        by `deploy apply` (`declare_topology` false), check that they exist."""
        self.transport.declare([self.queue], passive=not self.config.declares_topology)

    def consume(self) -> int:
        """Apply what waits in this node's queue now, one message at a time (the embedded pump
        and tests: "quiet" must mean "empty", not "nothing came within a timeout")."""
        with self.bound():
            taken = self.transport.drain_queue(self.queue.name, self.consumer.handle)
            while replayed := self.consumer.replay_deferred(CONSUME_BATCH):  # a hub's deferred
                taken += replayed
            return taken

    def publish(self) -> int:
        """Publish the whole outbox now (the embedded pump and tests)."""
        with self.bound():
            return self.relay.drain()

    def heartbeat_body(self) -> bytes:
        """Alive, with the node's name, and its backlog: how long and how old."""
        now = self.clock.now()
        beat = Heartbeat(node_id=self.node_id, tier=self.config.tier,
                         outbox_depth=self.relay.outbox_depth(),
                         last_sent_at=self.relay.last_sent_at, at=now,
                         label=self.config.name[:MAX_SHORT],
                         oldest_unsent_s=self.relay.oldest_unsent_s())
        return encode(make_envelope(beat, sender=self.node_id, case_id=None, seq=0, sent_at=now))

    def heartbeat(self) -> None:
        """Tell the hubs above this node is alive and how much waits in its outbox."""
        self.transport.publish_raw(EXCHANGE_REPORT, report_key(self.node_id),
                                   self.heartbeat_body(), persistent=False)

    def probe(self) -> list[tuple[str, str]]:
        """Check that the broker still routes to this node's queue; the routes it does not."""
        with self.bound():
            return probe_bindings(self.transport, self.store, self.node_id, self.config.tier,
                                  self.clock.now())

    def housekeep(self) -> SweepResult:
        """The periodic sweep: age limits of quarantine and held, held-waiting alarms, and the
        deadline sweep (overdue and due-soon cases reported up, `nodes.deadline_sweep`)."""
        with self.bound():
            now = self.clock.now()
            result = replace(sweep(self.store, now), deadlines=sweep_deadlines(
                self.store, now, DeadlineSetting(self.node_id, self.config.tier,
                                                 self.service.rules, self.config.due_soon_days)))
            if self.supervision is not None:
                self.supervision.sweep()  # orders newly overdue, levels raised
            return result

    def close(self) -> None:
        self.transport.close()
        self.store.close()
