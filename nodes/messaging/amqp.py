"""The AMQP adapter of the transport port (`nodes.messaging.port`): kombu on RabbitMQ.

Every call has a timeout and every failure of the link comes out as `TransportError`, so the relay
and the consumer can back off and reconnect instead of hanging or crashing (DESIGN §4 rule 4).

Publisher confirms are pipelined (issue 5). kombu's `confirm_publish` option makes py-amqp wait for
each message's confirm before it writes the next one: one network round trip, and one quorum-queue
commit on the broker, per message. Here the channel is put in confirm mode once (`confirm_select`),
messages are written back to back with up to `PUBLISH_WINDOW` unconfirmed, and the broker's
`basic.ack`/`basic.nack` frames are matched to them by delivery tag (the channel numbers its
publishes 1, 2, 3, ...; an ack with `multiple` settles every tag up to its own). The rules stay as
they were: messages leave in order on one channel; a row counts as confirmed only when the ack for
ITS tag has arrived; each message must be confirmed within `CONFIRM_TIMEOUT_S` of being written;
on any failure the caller gets the confirmed prefix and nothing after it.

Every publish is mandatory and has a message id: a message no queue takes comes back
(basic.return, before its ack), is matched to its tag by id, and is never counted as confirmed;
the caller gets `Unroutable` and the row stays in the outbox (issue 15).
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kombu.connection import Connection
from kombu.entity import Queue
from kombu.messaging import Consumer, Producer

from nodes.messaging import amqp_errors, amqp_topology, bundling, kombu_batches
from nodes.messaging.delivery import Confirms, Delivery
from nodes.messaging.port import TransportError, Unroutable
from nodes.messaging.settings import (
    CONFIRM_TIMEOUT_S,
    CONNECT_TIMEOUT_S,
    CONSUME_BATCH,
    HEARTBEAT_S,
    PREFETCH,
    PUBLISH_WINDOW,
)
from nodes.messaging.signing import Signer
from nodes.records import OutboxRow
from protocol.bundle import BUNDLE_CONTENT_TYPE, BUNDLE_HEADER, pack
from protocol.topology import QueueSpec

_LINK_ERRORS: tuple[type[BaseException], ...] = (OSError, socket.timeout, ConnectionError)


class AmqpTransport:
    """One connection to RabbitMQ (kombu and py-amqp), with pipelined publisher confirms."""

    def __init__(self, url: str, *, signer: Signer | None = None,
                 confirm_timeout: float = CONFIRM_TIMEOUT_S, window: int = PUBLISH_WINDOW) -> None:
        """`signer`: every node's messages are signed (the composition root gives its signer);
        without one this is a raw link, for tests and tools."""
        if not url.startswith(("amqp://", "amqps://")):
            raise ValueError(f"not an AMQP URL: {url.split('://')[0]}://...")
        self.url = url
        # No `confirm_publish`: confirms are requested and awaited here, pipelined (see above).
        # write_timeout bounds every socket write (publish, ack) that has no timeout of its own.
        self.connection = Connection(url, connect_timeout=CONNECT_TIMEOUT_S, heartbeat=HEARTBEAT_S,
                                     transport_options={"write_timeout": confirm_timeout})
        self.confirm_timeout, self.window, self.signer = confirm_timeout, window, signer
        self.user_id: str | None = self.connection.userid
        self._producer: Producer | None = None
        self._subscriptions: dict[str, deque[Any]] = {}
        self._confirms = Confirms()
        self._tags_by_id: dict[str, int] = {}  # message id -> delivery tag, to match returns

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (*_LINK_ERRORS, *self.connection.connection_errors,
                *self.connection.channel_errors)

    def connect(self) -> None:
        try:
            self.connection.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT_S)
            channel = self.connection.channel()
            channel.confirm_select()
            self._confirms = confirms = Confirms()
            channel.events["basic_ack"].add(confirms.on_ack)
            channel.events["basic_nack"].add(confirms.on_nack)
            channel.events["basic_return"].add(self._on_return)
            self._tags_by_id = {}
            self._producer = Producer(channel)
        except Exception as exc:  # kombu raises OperationalError and friends
            self.close()  # a refused login is BrokerAuthError, not an outage (`amqp_errors`)
            raise amqp_errors.connect_error(exc, self.user_id) from exc

    def _on_return(self, _exc: Exception, exchange: str, routing_key: str, message: Any) -> None:
        """basic.return of a mandatory publish: find its tag by message id (every publish has
        one), so that tag is never counted as confirmed."""
        tag = self._tags_by_id.get(str(message.properties.get("message_id")))
        if tag is not None:
            self._confirms.on_return(tag, exchange, routing_key)

    def heartbeat_check(self) -> None:
        """Send a heartbeat if one is due, and notice a broker that stopped sending its own;
        a relay or consumer idle on this link calls it, so the broker keeps the link open."""
        if self._producer is None:
            return
        try:
            self.connection.heartbeat_check()
        except self._errors() as exc:
            self.close()
            raise TransportError(f"heartbeat failed: {exc}") from exc

    def _producer_or_connect(self) -> Producer:
        if self._producer is None:
            self.connect()
        assert self._producer is not None  # noqa: S101 - connect() sets it or raises
        return self._producer

    def declare(self, queues: Iterable[QueueSpec], *, passive: bool = False) -> None:
        """Declare the topology, or with `passive` check that it exists (`amqp_topology`)."""
        try:
            amqp_topology.declare(self._producer_or_connect().channel, queues, passive=passive)
        except self._errors() as exc:
            self.close()
            raise TransportError(f"declare failed: {exc}") from exc

    def _write(self, body: bytes, exchange: str, routing_key: str, headers: dict[str, Any],
               message_id: str, persistent: bool = True,
               content_type: str = "application/json") -> int:
        """Write one mandatory message (no waiting for its confirm); returns its delivery tag.
        Mandatory: a message no queue takes comes back (basic.return) instead of vanishing."""
        producer = self._producer_or_connect()
        if self.signer is not None:  # over the exact bytes sent, bound to this route
            headers = self.signer.sign(body, exchange, routing_key, headers)
        properties: dict[str, Any] = {"delivery_mode": 2 if persistent else 1,
                                      "user_id": self.user_id, "message_id": message_id}
        channel = producer.channel
        message = channel.prepare_message(body, 0, content_type, "utf-8", headers,
                                          properties)
        tag = self._confirms.next_tag
        self._confirms.next_tag += 1
        self._confirms.unconfirmed[tag] = time.monotonic()
        self._tags_by_id[message_id] = tag
        channel.basic_publish(message, exchange=exchange, routing_key=routing_key,
                              mandatory=True, timeout=self.confirm_timeout)
        return tag

    def _raise_returned(self, tags: Sequence[int], confirmed: list[int],
                        ids: Sequence[str]) -> None:
        """Unroutable for the first returned message of this publish, if any."""
        for tag, message_id in zip(tags, ids, strict=False):
            if tag in self._confirms.returned:
                exchange, key = self._confirms.returned[tag]
                self._forget()
                raise Unroutable(f"no queue takes {exchange} {key}", confirmed,
                                 exchange=exchange, routing_key=key, message_id=message_id)
        self._forget()

    def _forget(self) -> None:
        """Settled publishes: nothing more will come back for them."""
        self._tags_by_id.clear()
        self._confirms.returned.clear()

    def _await_confirms(self, limit: int) -> None:
        """Read the broker's confirms until at most `limit` messages await theirs; TimeoutError
        if the oldest of them has waited `confirm_timeout` since it was written."""
        confirms = self._confirms
        while len(confirms.unconfirmed) > limit:
            oldest = next(iter(confirms.unconfirmed.values()))
            remaining = oldest + self.confirm_timeout - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no confirm within {self.confirm_timeout:.0f} s")
            self.connection.drain_events(timeout=remaining)

    def publish(self, rows: Sequence[OutboxRow]) -> list[int]:
        """Publish in order, persistent, each confirmed; return the ids of the rows confirmed.

        Rows already waiting for one destination travel as bundles (`bundling.plan`); a bundle is
        one broker message, confirmed as a whole. On a failure (link lost, confirm timed out,
        broker nack) the TransportError carries the confirmed prefix (`.confirmed`): the rows of
        the bundles up to the first one whose own ack had not arrived. The relay marks exactly
        those sent and publishes the rest again later.
        """
        bundles = bundling.plan(rows)
        tags: list[int] = []
        ids = [bundling.message_id_of(bundle) for bundle in bundles]
        try:
            for bundle in bundles:
                self._await_confirms(self.window - 1)
                tags.append(self._write_bundle(bundle))
            self._await_confirms(0)
            if self._confirms.nacked:
                raise TransportError("the broker refused (nacked) a message")
        except Exception as exc:
            confirmed = self._confirmed_prefix(bundles, tags)
            self.close()
            raise TransportError(f"publish failed after {len(confirmed)} confirmed: "
                                 f"{exc.__class__.__name__}: {exc}", confirmed) from exc
        confirmed = self._confirmed_prefix(bundles, tags)
        self._raise_returned(tags, confirmed, ids)  # the link stays: nothing is wrong with it
        return confirmed

    def _write_bundle(self, bundle: bundling.Bundle) -> int:
        first = bundle[0]
        headers: dict[str, Any] = {"schema": bundling.schema_of(bundle)}
        message_id = bundling.message_id_of(bundle)
        if len(bundle) == 1:  # a lone row travels exactly as in protocol 1.2
            return self._write(first.body, first.exchange, first.routing_key, headers,
                               message_id)
        headers[BUNDLE_HEADER] = len(bundle)
        return self._write(pack([row.body for row in bundle]), first.exchange,
                           first.routing_key, headers, message_id,
                           content_type=BUNDLE_CONTENT_TYPE)

    def _confirmed_prefix(self, bundles: Sequence[bundling.Bundle],
                          tags: list[int]) -> list[int]:
        confirmed: list[int] = []
        for bundle, tag in zip(bundles, tags, strict=False):
            if not self._confirms.confirmed(tag):
                break
            for row in bundle:
                assert row.id is not None  # noqa: S101 - rows read back have ids
                confirmed.append(row.id)
        return confirmed

    def publish_raw(self, exchange: str, routing_key: str, body: bytes,
                    headers: dict[str, Any] | None = None, persistent: bool = True) -> None:
        """For heartbeats and quarantine copies, which are not outbox rows: one message,
        confirmed before this returns."""
        message_id = f"raw-{uuid.uuid4()}"
        try:
            tag = self._write(body, exchange, routing_key, headers or {}, message_id,
                              persistent=persistent)
            self._await_confirms(0)
            if tag in self._confirms.nacked:
                raise TransportError("the broker refused (nacked) the message")
        except Exception as exc:
            self.close()
            raise TransportError(f"publish to {exchange} failed: {exc}") from exc
        self._raise_returned([tag], [], [message_id])

    def consume(self, queue_name: str, handler: Callable[[Delivery], None],
                timeout: float) -> None:
        """Hand deliveries to `handler` one at a time for about `timeout` seconds, returning early
        when quiet, so the caller's loop can look at its stop flag."""
        def one_by_one(batch: list[Delivery]) -> None:
            for delivery in batch:
                handler(delivery)
        self.consume_batches(queue_name, one_by_one, timeout, max_batch=1)

    def consume_batches(self, queue_name: str, handler: Callable[[list[Delivery]], None],
                        timeout: float, max_batch: int = CONSUME_BATCH) -> None:
        """Like `consume`, but hand over what has already arrived, up to `max_batch` deliveries
        at a time, so the caller can apply them in one transaction (see `AcksAfterCommit`).

        A batch is what is waiting now, never what might come: the socket is read while it has
        data ready, and a lone delivery is handed over at once, so batching adds no wait.

        Deliveries are queued by the callback and handled outside `drain_events`: a handler that
        publishes (a quarantine copy) waits for its confirm on this connection, and that wait
        dispatches the next prefetched delivery; handled inside the callback, a burst of bad
        messages nested one handler in another until RecursionError."""
        try:
            pending = self._subscription(queue_name)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if pending:
                    self._read_ready(pending, max_batch)
                    handler(kombu_batches.take(pending, max_batch))
                    continue
                try:
                    self.connection.drain_events(timeout=max(0.01, deadline - time.monotonic()))
                except TimeoutError:
                    self.connection.heartbeat_check()  # idle: keep the link alive both ways
                    break
        except self._errors() as exc:
            self.close()
            raise TransportError(f"consume failed: {exc}") from exc

    def _subscription(self, queue_name: str) -> deque[Any]:
        """One basic.consume per queue for the life of the channel (cancelling it after each
        slice charged deliveries on their way a delivery attempt: docs/RELIABILITY.md, F3)."""
        if queue_name not in self._subscriptions:
            channel = self._producer_or_connect().channel
            pending: deque[Any] = deque()
            consumer = Consumer(channel, queues=[Queue(queue_name, no_declare=True)],
                                on_message=pending.append, prefetch_count=PREFETCH)
            consumer.consume()
            self._subscriptions[queue_name] = pending
        return self._subscriptions[queue_name]

    def _read_ready(self, pending: deque[Any], max_batch: int) -> None:
        """Take in deliveries already on the socket (no waiting), up to `max_batch` envelopes."""
        if max_batch <= 1:
            return
        sock = self.connection.connection.transport.sock
        while kombu_batches.envelopes(pending) < max_batch and select.select([sock], [], [], 0)[0]:
            try:
                self.connection.drain_events(timeout=self.confirm_timeout)
            except TimeoutError:
                return

    def drain_queue(self, queue_name: str, handler: Callable[[Delivery], None],
                    limit: int = 10_000) -> int:
        """Take what is waiting right now, one basic.get at a time; for the embedded pump and
        tests, where "quiet" must mean "empty", not "nothing arrived within a timeout"."""
        try:
            channel = self._producer_or_connect().channel
            queue = Queue(queue_name, no_declare=True)(channel)
            taken = 0
            while taken < limit and (message := queue.get(no_ack=False)) is not None:
                handler(kombu_batches.delivery(message))
                taken += 1
            return taken
        except self._errors() as exc:
            self.close()
            raise TransportError(f"get failed: {exc}") from exc

    def close(self) -> None:
        """Drop the link; the broker gives every unacked delivery back to its queue."""
        self._producer = None
        self._subscriptions = {}
        self._confirms = Confirms()
        self._tags_by_id = {}
        with contextlib.suppress(Exception):  # closing a dead link must not raise
            self.connection.release()

