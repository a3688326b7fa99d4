"""kombu behind one port: `memory://` in one process (the embedded default) or `amqp://` to RabbitMQ.

Every call has a timeout and every failure of the link comes out as `TransportError`, so the relay
and the consumer can back off and reconnect instead of hanging or crashing (DESIGN §4 rule 4).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kombu.connection import Connection
from kombu.entity import Exchange, Queue, binding
from kombu.messaging import Consumer, Producer

from nodes.messaging.settings import (
    CONFIRM_TIMEOUT_S,
    CONNECT_TIMEOUT_S,
    HEARTBEAT_S,
    MEMORY_POLL_S,
    PREFETCH,
)
from nodes.store.sqlite_store import OutboxRow
from protocol.topology import EXCHANGES, SHARED_QUEUES, ExchangeSpec, QueueSpec


class TransportError(Exception):
    """The broker could not be reached or did not confirm in time: back off and retry."""


@dataclass(frozen=True)
class Delivery:
    body: bytes
    exchange: str
    routing_key: str
    user_id: str | None
    headers: dict[str, Any]
    message: Any  # the kombu message, for ack/reject

    def ack(self) -> None:
        self.message.ack()

    def requeue(self) -> None:
        """Give it back: on a quorum queue this counts toward the delivery limit."""
        self.message.reject(requeue=True)


def _exchange(spec: ExchangeSpec) -> Exchange:
    return Exchange(spec.name, type=spec.type, durable=spec.durable, arguments=spec.arguments)


_EXCHANGES = {spec.name: _exchange(spec) for spec in EXCHANGES}
_LINK_ERRORS: tuple[type[BaseException], ...] = (OSError, socket.timeout, ConnectionError)


class KombuTransport:
    def __init__(self, url: str, *, confirm_timeout: float = CONFIRM_TIMEOUT_S) -> None:
        self.url = url
        self.is_memory = url.startswith("memory://")
        options: dict[str, Any] = ({"polling_interval": MEMORY_POLL_S} if self.is_memory
                                   else {"confirm_publish": True})
        self.connection = Connection(url, connect_timeout=CONNECT_TIMEOUT_S,
                                     heartbeat=0 if self.is_memory else HEARTBEAT_S,
                                     transport_options=options)
        self.confirm_timeout = confirm_timeout
        self.user_id: str | None = None if self.is_memory else self.connection.userid
        self._producer: Producer | None = None

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (*_LINK_ERRORS, *self.connection.connection_errors,
                *self.connection.channel_errors)

    def connect(self) -> None:
        try:
            self.connection.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT_S)
            self._producer = Producer(self.connection.channel())
        except Exception as exc:  # kombu raises OperationalError and friends
            self.close()
            raise TransportError(f"cannot reach broker: {exc.__class__.__name__}") from exc

    def _producer_or_connect(self) -> Producer:
        if self._producer is None:
            self.connect()
        assert self._producer is not None
        return self._producer

    def declare(self, queues: Iterable[QueueSpec]) -> None:
        try:
            channel = self._producer_or_connect().channel
            for exchange in _EXCHANGES.values():
                exchange(channel).declare()
            for spec in (*SHARED_QUEUES, *queues):
                self._queue(spec)(channel).declare()
        except self._errors() as exc:
            self.close()
            raise TransportError(f"declare failed: {exc}") from exc

    @staticmethod
    def _queue(spec: QueueSpec) -> Queue:
        return Queue(spec.name, durable=spec.durable, queue_arguments=spec.arguments,
                     bindings=[binding(_EXCHANGES[ex], routing_key=key)
                               for ex, key in spec.bindings])

    def publish(self, rows: Sequence[OutboxRow]) -> list[int]:
        """Publish in order, persistent, each confirmed; return the ids confirmed before any failure.

        On a failure the confirmed prefix is still returned (via TransportError.confirmed), so the
        relay marks exactly those rows sent and republishes the rest later.
        """
        confirmed: list[int] = []
        producer = self._producer_or_connect()
        try:
            for row in rows:
                producer.publish(
                    row.body, exchange=row.exchange, routing_key=row.routing_key,
                    content_type="application/json", content_encoding="utf-8",
                    delivery_mode=2, message_id=row.message_id, user_id=self.user_id,
                    headers={"schema": row.schema_name}, confirm_timeout=self.confirm_timeout,
                    timeout=self.confirm_timeout, retry=False,
                )
                assert row.id is not None
                confirmed.append(row.id)
        except Exception as exc:
            self.close()
            error = TransportError(f"publish failed after {len(confirmed)} confirmed: "
                                   f"{exc.__class__.__name__}: {exc}")
            error.confirmed = confirmed  # type: ignore[attr-defined]
            raise error from exc
        return confirmed

    def publish_raw(self, exchange: str, routing_key: str, body: bytes,
                    headers: dict[str, Any] | None = None, persistent: bool = True) -> None:
        """For heartbeats and quarantine copies, which are not outbox rows."""
        try:
            self._producer_or_connect().publish(
                body, exchange=exchange, routing_key=routing_key,
                content_type="application/json", content_encoding="utf-8",
                delivery_mode=2 if persistent else 1, user_id=self.user_id,
                headers=headers or {}, confirm_timeout=self.confirm_timeout,
                timeout=self.confirm_timeout, retry=False)
        except Exception as exc:
            self.close()
            raise TransportError(f"publish to {exchange} failed: {exc}") from exc

    def consume(self, queue_name: str, handler: Callable[[Delivery], None],
                timeout: float) -> None:
        """Hand deliveries to `handler` for about `timeout` seconds, returning early when quiet,
        so the caller's loop can look at its stop flag.

        Deliveries are queued by the callback and handled outside `drain_events`: a handler that
        publishes (a quarantine copy) waits for its confirm on this connection, and that wait
        dispatches the next prefetched delivery; handled inside the callback, a burst of bad
        messages nested one handler in another until RecursionError."""
        pending: deque[Any] = deque()
        try:
            channel = self._producer_or_connect().channel
            with Consumer(channel, queues=[Queue(queue_name, no_declare=True)],
                          on_message=pending.append, prefetch_count=PREFETCH):
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    if pending:
                        handler(self._delivery(pending.popleft()))
                        continue
                    try:
                        self.connection.drain_events(
                            timeout=max(0.01, deadline - time.monotonic()))
                    except TimeoutError:
                        break
            while pending:  # delivered before the cancel took effect: still ours to settle
                handler(self._delivery(pending.popleft()))
        except self._errors() as exc:
            self.close()
            raise TransportError(f"consume failed: {exc}") from exc

    def drain_queue(self, queue_name: str, handler: Callable[[Delivery], None],
                    limit: int = 10_000) -> int:
        """Take what is waiting right now, one basic.get at a time; for the embedded pump and
        tests, where "quiet" must mean "empty", not "nothing arrived within a timeout"."""
        try:
            channel = self._producer_or_connect().channel
            queue = Queue(queue_name, no_declare=True)(channel)
            taken = 0
            while taken < limit and (message := queue.get(no_ack=False)) is not None:
                handler(self._delivery(message))
                taken += 1
            return taken
        except self._errors() as exc:
            self.close()
            raise TransportError(f"get failed: {exc}") from exc

    @staticmethod
    def _delivery(message: Any) -> Delivery:
        info = message.delivery_info
        body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
        return Delivery(body, info.get("exchange", ""), info.get("routing_key", ""),
                        message.properties.get("user_id"), dict(message.headers or {}), message)

    def close(self) -> None:
        self._producer = None
        with contextlib.suppress(Exception):  # closing a dead link must not raise
            self.connection.release()
