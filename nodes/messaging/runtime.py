"""A node as a long-running service: a relay thread and a consumer thread, each with its own
SQLite connection and broker connection (one connection per thread, as pika and sqlite3 require).

Stopping is always clean: the threads finish the message or batch in hand, a delivery that was
not committed is not acked (the broker gives it back), and nothing is half-written.

The consumer thread applies what has arrived in batches of up to `CONSUME_BATCH` deliveries in one
SQLite transaction (issue 5): each delivery is still validated, applied and recorded in the inbox
by `Consumer.handle`, inside its own savepoint, but the batch shares one COMMIT, so one fsync
instead of one per message at `synchronous=FULL`. The acks wait for that commit
(`AcksAfterCommit`), so "ack only after commit" holds per message as before; if the commit fails,
nothing is acked and the channel is closed, and the broker gives the whole batch back.
A batch is only what is already waiting: a lone message is applied at once.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import threading
import time
from collections.abc import Callable

import structlog

from nodes.bootstrap import Node, bootstrap
from nodes.config import NodeConfig
from nodes.messaging import settings
from nodes.messaging.consumer import Consumer, Handler, Trust
from nodes.messaging.delivery import AcksAfterCommit, Delivery
from nodes.messaging.relay import Backoff, Relay
from nodes.messaging.transport import KombuTransport, TransportError
from nodes.service import CaseService
from protocol.areas import AreaTree
from protocol.envelope import encode, make_envelope
from protocol.messages import Heartbeat
from protocol.routing import report_key
from protocol.topology import EXCHANGE_QUARANTINE, EXCHANGE_REPORT, node_queue, node_queue_name

log = structlog.get_logger("fengqiao.runtime")

HandlersFactory = Callable[[CaseService], dict[str, Handler]]
NodeFactory = Callable[[NodeConfig], Node]


def tree_for(config: NodeConfig) -> AreaTree:
    """Derived parents, overridden by what this node's config says about itself and its children."""
    overrides: dict[str, str | None] = {child: config.node_id for child in config.children}
    if config.parent is not None:
        overrides[config.node_id] = config.parent
    return AreaTree(overrides=overrides, vintage_year=config.vintage_year)


def describe(exc: BaseException) -> str:
    """An error for the log: SQLite's and the operating system's own messages ("database is
    locked", "No space left on device") help an operator and hold no case data; any other
    error's text might (a value in a bug's message), so only its class is logged."""
    if isinstance(exc, sqlite3.Error | OSError):
        return f"{exc.__class__.__name__}: {exc}"[:300]
    return exc.__class__.__name__


def heartbeat_body(node: Node, relay: Relay) -> bytes:
    cfg, now = node.config, node.service.clock.now()
    beat = Heartbeat(node_id=cfg.node_id, tier=cfg.tier, outbox_depth=relay.outbox_depth(),
                     last_sent_at=relay.last_sent_at, at=now)
    return encode(make_envelope(beat, sender=cfg.node_id, case_id=None, seq=0, sent_at=now))


def make_consumer(node: Node, handlers: HandlersFactory, transport: KombuTransport | None,
                  require_user_id: bool = False) -> Consumer:
    cfg = node.config

    def to_quarantine(body: bytes, reason: str, delivery: Delivery) -> None:
        if transport is not None:
            transport.publish_raw(EXCHANGE_QUARANTINE, "", body, headers={
                "x-reason": reason[:500], "x-node": cfg.node_id,
                "x-routing-key": delivery.routing_key, "x-user-id": delivery.user_id or ""})

    trust = Trust(cfg.node_id, tree_for(cfg), require_user_id=require_user_id)
    return Consumer(node.store, handlers(node.service), trust, node.service.clock.now,
                    to_quarantine)


class NodeRuntime:
    def __init__(self, config: NodeConfig, handlers: HandlersFactory,
                 node_factory: NodeFactory = bootstrap, require_user_id: bool = False,
                 after_commit: Callable[[], None] | None = None) -> None:
        self.config, self.handlers, self.node_factory = config, handlers, node_factory
        # Called on the consumer thread after each batch has committed (the bench's clock).
        self.after_commit = after_commit
        self.require_user_id = require_user_id or config.require_user_id
        self.stop_event = threading.Event()
        self.wake = threading.Event()
        self.threads: list[threading.Thread] = []
        self.ready = threading.Event()  # set once the topology is declared

    def start(self) -> None:
        for target, name in ((self._relay_loop, "relay"), (self._consumer_loop, "consumer")):
            thread = threading.Thread(target=self._supervised, args=(target, name),
                                      name=f"{name}-{self.config.node_id}", daemon=True)
            thread.start()
            self.threads.append(thread)
        log.info("node.started", node_id=self.config.node_id, tier=self.config.tier.value)

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.wake.set()
        for thread in self.threads:
            thread.join(timeout)
        log.info("node.stopped", node_id=self.config.node_id)

    def _supervised(self, loop: Callable[[], None], name: str) -> None:
        """Run a loop until stop; if it dies of an error that is not the broker's (a full disk,
        a file locked past the busy timeout, a bug), log it, back off and start it afresh with
        new connections, instead of leaving the node running without its relay or consumer.
        Nothing is lost meanwhile: the outbox keeps what is unsent and the queue what is unacked."""
        backoff = Backoff(settings.BACKOFF_START_S, settings.BACKOFF_MAX_S)
        while not self.stop_event.is_set():
            began = time.monotonic()
            try:
                loop()
                return
            except Exception as exc:
                if time.monotonic() - began > settings.BACKOFF_MAX_S:
                    backoff.reset()  # it had been running well: a fresh failure, a short wait
                delay = backoff.next_delay()
                log.error("runtime.thread_failed", node_id=self.config.node_id, thread=name,
                          error=describe(exc), restart_in_s=round(delay, 2))
                self.stop_event.wait(delay)

    def _relay_loop(self) -> None:
        node = self.node_factory(self.config)
        transport = KombuTransport(self.config.broker_url)
        relay = Relay(node.store, transport, self.config.node_id, node.service.clock.now)
        next_beat = 0.0
        try:
            while not self.stop_event.is_set():
                clock = time.monotonic()
                if clock >= next_beat:
                    try:
                        transport.publish_raw(EXCHANGE_REPORT, report_key(self.config.node_id),
                                              heartbeat_body(node, relay), persistent=False)
                        next_beat = clock + settings.HEARTBEAT_EVERY_S
                    except TransportError:
                        pass  # the relay below backs off and logs
                relay.step(self.stop_event, self.wake)
        finally:
            with contextlib.suppress(Exception):  # a mark not written only means a resend
                relay.flush()
            transport.close()
            node.close()

    def _consumer_loop(self) -> None:
        node = self.node_factory(self.config)
        transport = KombuTransport(self.config.broker_url)
        consumer = make_consumer(node, self.handlers, transport, self.require_user_id)
        queue = node_queue(self.config.node_id, self.config.tier, tree_for(self.config),
                           self.config.children)
        backoff, declared = Backoff(), False

        def handle_batch(batch: list[Delivery]) -> None:
            acks = AcksAfterCommit()
            try:
                with node.store.atomic():
                    for delivery in batch:
                        consumer.handle(acks.hold(delivery))
                        if not node.store.db.conn.in_transaction:
                            # SQLite rolled the whole transaction back (a RAISE(ROLLBACK)
                            # trigger, a full disk): stop before anything runs outside it.
                            raise RuntimeError("the batch's transaction was rolled back")
                acks.send()
            except Exception as exc:
                raise TransportError(f"batch of {len(batch)} not committed or not acked: "
                                     f"{exc.__class__.__name__}: {exc}") from exc
            if self.after_commit is not None:
                self.after_commit()
            self.wake.set()  # what we applied may have put decisions in the outbox

        try:
            while not self.stop_event.is_set():
                try:
                    if not declared:
                        transport.declare([queue])
                        declared = True
                        self.ready.set()
                    transport.consume_batches(node_queue_name(self.config.node_id),
                                              handle_batch, settings.CONSUME_SLICE_S)
                    backoff.reset()
                except TransportError as exc:
                    transport.close()  # unacked deliveries go back to the queue
                    declared = False
                    delay = backoff.next_delay()
                    log.warning("consumer.broker_unavailable", node_id=self.config.node_id,
                                error=str(exc), retry_in_s=round(delay, 2))
                    self.stop_event.wait(delay)
        finally:
            transport.close()
            node.close()


def serve(runtime: NodeRuntime) -> None:
    """Run until SIGTERM or Ctrl-C, then stop cleanly (what `node run` and `hub run` do)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runtime.start()
    while not stop.wait(1.0):
        pass
    log.info("node.stopping", node_id=runtime.config.node_id)
    runtime.stop()
