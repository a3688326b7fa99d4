"""A node as a long-running service: a relay thread and a consumer thread, each with its own
SQLite connection and broker connection (one connection per thread, as pika and sqlite3 require),
and, for `node run` and `hub run`, a notifier thread that sends the notices to parties and the
alerts to staff (`nodes.notices`).

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
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from nodes.alarms import AlarmKind, clear_alarm, raise_alarm
from nodes.config import NodeConfig
from nodes.messaging import settings
from nodes.messaging.delivery import AcksAfterCommit, Delivery
from nodes.messaging.link import LinkHealth
from nodes.messaging.port import TransportError, Unroutable
from nodes.messaging.relay import Backoff
from nodes.notices.notifier import notifier_for
from nodes.store.errors import StoreError
from protocol.bundle import weight

if TYPE_CHECKING:
    from nodes.node import Node

log = structlog.get_logger("fengqiao.runtime")

NodeBuilder = Callable[[], "Node"]


def describe(exc: BaseException) -> str:
    """An error for the log: the store's errors carry SQLite's and the operating system's own
    messages ("database is locked", "No space left on device"), which help an operator and hold
    no case data; any other error's text might (a value in a bug's message), so only its class
    is logged."""
    if isinstance(exc, StoreError | OSError):
        return f"{exc.__class__.__name__}: {exc}"[:300]
    return exc.__class__.__name__


class NodeRuntime:
    """A node's relay and consumer threads; `build` makes one wired node (own SQLite and broker
    connections) for each thread."""

    def __init__(self, config: NodeConfig, build: NodeBuilder,
                 after_commit: Callable[[], None] | None = None, *, notices: bool = False) -> None:
        """`notices`: run the notifier thread too (`node run`, `hub run`)."""
        self.config, self.build, self.notices = config, build, notices
        # Called on the consumer thread after each batch has committed (the bench's clock).
        self.after_commit = after_commit
        self.stop_event = threading.Event()
        self.wake = threading.Event()
        self.threads: list[threading.Thread] = []
        self.ready = threading.Event()  # set once the topology is declared
        # One view of the broker link for both threads: one line per outage, refused login,
        # reconnect (`nodes.messaging.link`).
        self.link = LinkHealth()

    def start(self) -> None:
        loops = [(self._relay_loop, "relay"), (self._consumer_loop, "consumer")]
        if self.notices:
            loops.append((self._notifier_loop, "notifier"))
        for target, name in loops:
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
        structlog.contextvars.bind_contextvars(node_id=self.config.node_id)
        while not self.stop_event.is_set():
            began = time.monotonic()
            try:
                loop()
                return
            except Exception as exc:
                if time.monotonic() - began > settings.BACKOFF_MAX_S:
                    backoff.reset()  # it had been running well: a fresh failure, a short wait
                delay = backoff.next_delay()
                log.error("runtime.thread_failed", thread=name, error=describe(exc),
                          restart_in_s=round(delay, 2))
                self.stop_event.wait(delay)

    def _auth_alarm(self, node: Node, seen: int) -> int:
        """Raise `broker_auth` (shown by `node status`) when the broker refuses the login, and
        clear it once the links are back; returns the refused logins seen so far."""
        refused = self.link.auth_failures
        with contextlib.suppress(StoreError):  # busy or full: the next turn does it
            if refused > max(seen, 0):
                raise_alarm(node.store, AlarmKind.BROKER_AUTH, "broker", "the broker refused this "
                            "node's login (wrong password, unknown user or no access to the "
                            "virtual host): nothing is sent or received until it is fixed",
                            node.clock.now())
                return refused
            if seen > 0 and not self.link.down:
                clear_alarm(node.store, AlarmKind.BROKER_AUTH, "broker", node.clock.now())
                return -1
        return seen

    def _relay_loop(self) -> None:
        node = self.build()
        relay = node.relay
        relay.link = self.link
        next_beat = next_sweep = next_probe = 0.0
        # A probe or heartbeat that failed is tried again after these (not on every turn: a
        # login the broker refuses would be tried twenty times a second).
        beat_backoff, probe_backoff = Backoff(), Backoff()
        auth_alarm = 0  # refused logins the alarm has seen; -1 once cleared
        try:
            while not self.stop_event.is_set():
                clock = time.monotonic()
                if clock >= next_sweep:
                    next_sweep = clock + settings.HOUSEKEEPING_EVERY_S
                    try:
                        node.housekeep()
                    except StoreError as exc:  # busy or full: the next sweep does it
                        log.warning("runtime.sweep_failed", error=describe(exc))
                if clock >= next_probe:
                    try:
                        node.probe()
                        next_probe = clock + settings.PROBE_EVERY_S
                        probe_backoff.reset()
                    except TransportError as exc:  # away: tried again a little later
                        next_probe = clock + probe_backoff.next_delay()
                        self.link.failed("relay", exc)  # a refused login is logged there
                if clock >= next_beat:
                    try:
                        node.heartbeat()
                        next_beat = clock + settings.HEARTBEAT_EVERY_S
                        beat_backoff.reset()
                        self.link.succeeded("relay")
                    except Unroutable:  # the broker answered: no county queue takes it yet
                        next_beat = clock + settings.HEARTBEAT_EVERY_S
                        self.link.succeeded("relay")
                    except TransportError as exc:  # an outage: the relay logs it if rows wait
                        next_beat = clock + beat_backoff.next_delay()
                        self.link.failed("relay", exc)
                relay.step(self.stop_event, self.wake)
                auth_alarm = self._auth_alarm(node, auth_alarm)
        finally:
            with contextlib.suppress(Exception):  # a mark not written only means a resend
                relay.flush()
            node.close()

    def _consumer_loop(self) -> None:
        node = self.build()
        transport, consumer = node.transport, node.consumer
        backoff, declared = Backoff(), False
        handled = [0]  # batches handled: none in a slice means the queue was quiet

        def handle_batch(batch: list[Delivery]) -> None:
            acks = AcksAfterCommit()
            handled[0] += 1
            try:
                with node.store.atomic():
                    for delivery in batch:
                        consumer.handle(acks.hold(delivery))
                        if not node.store.in_transaction():
                            # SQLite rolled the whole transaction back (a RAISE(ROLLBACK)
                            # trigger, a full disk): stop before anything runs outside it.
                            raise RuntimeError("the batch's transaction was rolled back")
                    # A hub's deferred messages advance a few at a time; after a full batch
                    # (the queue backed up) only once in a while (nodes.messaging.pacing).
                    consumer.replay_deferred(settings.DEFERRED_PER_BATCH, backed_up=sum(
                        weight(d.headers) for d in batch) >= settings.CONSUME_BATCH)
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
                        node.declare()
                        declared = True
                        self.ready.set()
                    deferred = consumer.pacer is not None and consumer.pacer.waiting()
                    before = handled[0]
                    transport.consume_batches(node.queue.name, handle_batch, (
                        settings.DEFERRED_IDLE_S if deferred else settings.CONSUME_SLICE_S))
                    if deferred and handled[0] == before:  # quiet: deferred ones take the time
                        with node.store.atomic():
                            consumer.replay_deferred(settings.CONSUME_BATCH)
                        self.wake.set()
                    backoff.reset()
                    self.link.succeeded("consumer")
                except TransportError as exc:
                    transport.close()  # unacked deliveries go back to the queue
                    declared = False
                    delay = backoff.next_delay()
                    if not self.link.failed("consumer", exc):  # a refused login: logged there
                        log.warning("consumer.broker_unavailable", error=str(exc),
                                    retry_in_s=round(delay, 2))
                    self.stop_event.wait(delay)
        finally:
            node.close()

    def _notifier_loop(self) -> None:
        """Notices to parties and staff alerts (`nodes.notices.notifier`), on a node of its own."""
        node = self.build()
        try:
            with node.bound():
                notifier_for(node).run(self.stop_event)
        finally:
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
