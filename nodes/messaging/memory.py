"""The in-memory adapter of the transport port: one connection to a `MemoryBroker`
(`nodes.messaging.memory_broker`), for the embedded demo and the unit tests.

It publishes exactly as the AMQP adapter does (rows bundled by `bundling.plan`), so the demo and
the unit tests exercise the same bundles, acks and requeues; a publish is confirmed when it
returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from nodes.messaging import bundling
from nodes.messaging.delivery import Delivery
from nodes.messaging.memory_broker import MemoryBroker, Published, _Message
from nodes.messaging.port import TransportError, Unroutable
from nodes.messaging.settings import CONSUME_BATCH
from nodes.messaging.signing import Signer
from nodes.records import OutboxRow
from protocol.bundle import BUNDLE_CONTENT_TYPE, BUNDLE_HEADER, pack
from protocol.topology import QueueSpec

__all__ = ["MemoryBroker", "MemoryTransport", "Published", "default_broker"]


class _MemoryMessage:
    """What a `Delivery` acks or rejects (the role a kombu message plays on RabbitMQ)."""

    def __init__(self, broker: MemoryBroker, tag: int, connection: int) -> None:
        self.broker, self.tag, self.connection = broker, tag, connection

    def ack(self, multiple: bool = False) -> None:
        self.broker._ack(self.tag, self.connection, multiple)

    def reject(self, requeue: bool) -> None:
        self.broker._reject(self.tag, requeue)


class MemoryTransport:
    """One connection to a `MemoryBroker`. With a `signer` (every node's: the composition root
    gives one) each message is signed as on RabbitMQ; without, it is a raw link (tests)."""

    def __init__(self, broker: MemoryBroker, connection: int, user_id: str | None,
                 signer: Signer | None = None) -> None:
        self.broker, self._connection, self._user_id = broker, connection, user_id
        self.signer = signer

    @property
    def user_id(self) -> str | None:
        return self._user_id

    def declare(self, queues: Iterable[QueueSpec], *, passive: bool = False) -> None:
        self.broker._declare(queues, passive)

    def publish(self, rows: Sequence[OutboxRow]) -> list[int]:
        """Bundled as on RabbitMQ (`bundling.plan`), each bundle confirmed as it is taken."""
        confirmed: list[int] = []
        try:
            for bundle in bundling.plan(rows):
                self._write_bundle(bundle)
                confirmed += [row.id for row in bundle if row.id is not None]
        except Unroutable as exc:
            raise Unroutable(str(exc), confirmed, exchange=exc.exchange,
                             routing_key=exc.routing_key, message_id=exc.message_id) from exc
        except TransportError as exc:
            raise TransportError(str(exc), confirmed) from exc
        return confirmed

    def _write_bundle(self, bundle: bundling.Bundle) -> None:
        first = bundle[0]
        headers: dict[str, Any] = {"schema": bundling.schema_of(bundle)}
        if len(bundle) == 1:
            self._put(first.exchange, first.routing_key, first.body, headers, first.message_id)
            return
        headers[BUNDLE_HEADER] = len(bundle)
        self._put(first.exchange, first.routing_key, pack([row.body for row in bundle]),
                  headers, bundling.message_id_of(bundle), BUNDLE_CONTENT_TYPE)

    def _put(self, exchange: str, routing_key: str, body: bytes, headers: dict[str, Any],
             message_id: str | None, content_type: str = "application/json") -> None:
        if self.signer is not None:
            headers = self.signer.sign(body, exchange, routing_key, headers)
        self.broker._publish(Published(exchange, routing_key, bytes(body), dict(headers),
                                       self._user_id, message_id, content_type))

    def publish_raw(self, exchange: str, routing_key: str, body: bytes,
                    headers: dict[str, Any] | None = None, persistent: bool = True) -> None:
        self._put(exchange, routing_key, body, headers or {}, None)

    def consume_batches(self, queue_name: str, handler: Callable[[list[Delivery]], None],
                        timeout: float, max_batch: int = CONSUME_BATCH) -> None:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            taken = self.broker._take(queue_name, self._connection, max_batch, remaining)
            if not taken:
                return
            handler([self._delivery(tag, message) for tag, message in taken])

    def drain_queue(self, queue_name: str, handler: Callable[[Delivery], None],
                    limit: int = 10_000) -> int:
        count = 0
        while count < limit:
            taken = self.broker._take(queue_name, self._connection, 1, 0.0)
            if not taken:
                break
            handler(self._delivery(*taken[0]))
            count += 1
        return count

    def _delivery(self, tag: int, message: _Message) -> Delivery:
        p = message.published
        return Delivery(p.body, p.exchange, p.routing_key, p.user_id, dict(p.headers),
                        _MemoryMessage(self.broker, tag, self._connection))

    def heartbeat_check(self) -> None:
        """Nothing to keep alive in-process."""

    def close(self) -> None:
        self.broker._release(self._connection)


_DEFAULT = MemoryBroker()


def default_broker() -> MemoryBroker:
    """The process's shared broker, for configs that say `memory://` and are given no other."""
    return _DEFAULT
