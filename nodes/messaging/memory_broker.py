"""The in-memory broker behind the in-memory transport (`nodes.messaging.memory`): a broker in this
process, for the embedded demo and the unit tests, in the manner of dramatiq's stub broker.

`MemoryBroker` keeps RabbitMQ's rules that the node relies on: topic and fanout exchanges with
the same binding patterns, mandatory publishes (one no queue takes comes back as `Unroutable`
and is recorded in `unroutable`; an alternate exchange, if declared, takes it instead), a queue's
delivery limit and dead-letter exchange (a message given back more than `DELIVERY_LIMIT` times is
dead-lettered), unacked deliveries going back to their queue when their connection closes, and
the user id a connection publishes under. A publish is confirmed when it returns.

For tests it shows what happened: every message published (`published`), what was
dead-lettered (`dead_letters`) or came back for want of a queue (`unroutable`), and `join()` waits
until every queue is empty and nothing is unacked. `stop()` and `start()` take the broker away
and bring it back: meanwhile every call of every connection fails with `TransportError`, as a
lost link would.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nodes.messaging.port import TransportError, Unroutable
from protocol.bundle import weight
from protocol.routing import key_matches
from protocol.topology import (
    EXCHANGES,
    QUEUE_DEAD,
    SHARED_QUEUES,
    ExchangeSpec,
    QueueSpec,
)

if TYPE_CHECKING:
    from nodes.messaging.memory import MemoryTransport
    from nodes.messaging.signing import Signer


@dataclass(frozen=True)
class Published:
    """One message as it was handed to the broker."""

    exchange: str
    routing_key: str
    body: bytes
    headers: dict[str, Any]
    user_id: str | None
    message_id: str | None
    content_type: str


@dataclass
class _Message:
    published: Published
    deliveries: int = 0  # how many times it was handed out


@dataclass
class _Queue:
    spec: QueueSpec
    ready: deque[_Message] = field(default_factory=deque)


class MemoryBroker:
    """An AMQP-like broker inside this process; thread-safe; one per demo or test."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._exchanges: dict[str, ExchangeSpec] = {}
        self._queues: dict[str, _Queue] = {}
        self._bindings: list[tuple[str, str, str]] = []  # (exchange, pattern, queue)
        self._unacked: dict[int, tuple[str, _Message, int]] = {}  # tag -> (queue, msg, conn)
        self._tags = itertools.count(1)
        self._connections = itertools.count(1)
        self._up = True
        self.published: list[Published] = []
        self.unroutable: list[Published] = []

    # --- for tests -------------------------------------------------------------------------
    def connect(self, user_id: str | None = None, *,
                signer: Signer | None = None) -> MemoryTransport:
        """A new connection, publishing under `user_id` (the broker-validated user id), signing
        what it publishes with `signer` (None: a raw link, for tests)."""
        from nodes.messaging.memory import MemoryTransport

        return MemoryTransport(self, next(self._connections), user_id, signer)

    @property
    def dead_letters(self) -> list[Published]:
        """What waits in the dead-letter queue (messages that crashed a consumer repeatedly)."""
        with self._lock:
            queue = self._queues.get(QUEUE_DEAD)
            return [m.published for m in queue.ready] if queue else []

    def messages(self, queue_name: str) -> list[Published]:
        """What waits in a queue now (not what is handed out and unacked)."""
        with self._lock:
            queue = self._queues.get(queue_name)
            return [m.published for m in queue.ready] if queue else []

    def depth(self, queue_name: str) -> int:
        with self._lock:
            queue = self._queues.get(queue_name)
            return len(queue.ready) if queue else 0

    def quiet(self, queues: Iterable[str] | None = None) -> bool:
        """No message waits in these queues (all node queues if None) and none is unacked."""
        with self._lock:
            names = list(queues) if queues is not None else [
                n for n in self._queues if n not in {q.name for q in SHARED_QUEUES}]
            return not self._unacked and all(not self._queues[n].ready
                                             for n in names if n in self._queues)

    def join(self, queues: Iterable[str] | None = None, timeout: float = 10.0) -> None:
        """Wait until `quiet(queues)`; TimeoutError if it does not happen within `timeout`."""
        names = list(queues) if queues is not None else None
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self.quiet(names):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"the broker was not quiet within {timeout} s")
                self._lock.wait(remaining)

    def stop(self) -> None:
        """Take the broker away: every call fails until `start()`; unacked messages go back."""
        with self._lock:
            self._up = False
            for tag in list(self._unacked):
                self._give_back(tag)
            self._lock.notify_all()

    def start(self) -> None:
        with self._lock:
            self._up = True
            self._lock.notify_all()

    # --- what connections call (under the lock) --------------------------------------------
    def _check_up(self) -> None:
        if not self._up:
            raise TransportError("cannot reach broker: the in-memory broker is stopped")

    def _declare(self, queues: Iterable[QueueSpec], passive: bool = False) -> None:
        with self._lock:
            self._check_up()
            if passive:  # check only, as a node without configure rights does
                for name in (*(e.name for e in EXCHANGES), *(q.name for q in queues)):
                    if name not in self._exchanges and name not in self._queues:
                        raise TransportError(f"{name} does not exist (declare it first)")
                return
            for exchange in EXCHANGES:
                self._exchanges.setdefault(exchange.name, exchange)
            for spec in (*SHARED_QUEUES, *queues):
                if spec.name not in self._queues:
                    self._queues[spec.name] = _Queue(spec)
                for exchange_name, pattern in spec.bindings:
                    binding = (exchange_name, pattern, spec.name)
                    if binding not in self._bindings:
                        self._bindings.append(binding)

    def _route(self, exchange_name: str, key: str, seen: frozenset[str] = frozenset()) -> set[str]:
        exchange = self._exchanges.get(exchange_name)
        if exchange is None or exchange_name in seen:
            return set()
        fanout = exchange.type == "fanout"
        queues = {q for ex, pattern, q in self._bindings
                  if ex == exchange_name and (fanout or key_matches(pattern, key))}
        alternate = exchange.arguments.get("alternate-exchange")
        if not queues and alternate:
            return self._route(str(alternate), key, seen | {exchange_name})
        return queues

    def _publish(self, message: Published) -> None:
        with self._lock:
            self._check_up()
            if message.exchange not in self._exchanges:
                raise TransportError(f"no exchange {message.exchange!r} (declare first)")
            self.published.append(message)
            queues = self._route(message.exchange, message.routing_key)
            if not queues:  # returned to the publisher: it stays unsent there
                self.unroutable.append(message)
                raise Unroutable(f"no queue takes {message.exchange} {message.routing_key}",
                                 exchange=message.exchange, routing_key=message.routing_key,
                                 message_id=message.message_id)
            for name in queues:
                self._queues[name].ready.append(_Message(message))
            self._lock.notify_all()

    def _take(self, queue_name: str, connection: int, max_envelopes: int,
              timeout: float) -> list[tuple[int, _Message]]:
        """Deliveries for one consumer: what waits now (up to `max_envelopes` envelopes), else
        the first to arrive within `timeout`; [] if none came."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._check_up()
            queue = self._queues.get(queue_name)
            if queue is None:
                raise TransportError(f"no queue {queue_name!r}")
            while not queue.ready:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._lock.wait(remaining)
                self._check_up()
            taken: list[tuple[int, _Message]] = []
            envelopes = 0
            while queue.ready:
                size = weight(queue.ready[0].published.headers)
                if taken and envelopes + size > max_envelopes:
                    break
                message = queue.ready.popleft()
                message.deliveries += 1
                tag = next(self._tags)
                self._unacked[tag] = (queue_name, message, connection)
                taken.append((tag, message))
                envelopes += size
            return taken

    def _ack(self, tag: int, connection: int, multiple: bool) -> None:
        with self._lock:
            tags = [t for t, (_, _, c) in self._unacked.items()
                    if c == connection and t <= tag] if multiple else [tag]
            for t in tags:
                self._unacked.pop(t, None)
            self._lock.notify_all()

    def _reject(self, tag: int, requeue: bool) -> None:
        with self._lock:
            if tag in self._unacked:
                if requeue:
                    self._give_back(tag)
                else:
                    self._dead_letter(*self._unacked.pop(tag)[:2])
            self._lock.notify_all()

    def _give_back(self, tag: int) -> None:
        """Back to the front of its queue, or to the dead letters past the delivery limit."""
        queue_name, message, _ = self._unacked.pop(tag)
        limit = self._queues[queue_name].spec.arguments.get("x-delivery-limit")
        if isinstance(limit, int) and message.deliveries > limit:
            self._dead_letter(queue_name, message)
        else:
            self._queues[queue_name].ready.appendleft(message)

    def _dead_letter(self, queue_name: str, message: _Message) -> None:
        exchange = self._queues[queue_name].spec.arguments.get("x-dead-letter-exchange")
        if exchange:
            for name in self._route(str(exchange), message.published.routing_key):
                self._queues[name].ready.append(_Message(message.published))

    def _release(self, connection: int) -> None:
        with self._lock:
            for tag in [t for t, (_, _, c) in self._unacked.items() if c == connection]:
                self._give_back(tag)
            self._lock.notify_all()


