"""Small helpers the broker tests share: an independent pika client for clean-up and queue
counts, reading the envelopes out of a broker message (one, or a bundle's parts), and pumping a
node's queue into a consumer."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import pika

from nodes.messaging.amqp import AmqpTransport
from nodes.messaging.consumer import Consumer
from protocol.bundle import BUNDLE_HEADER, unpack
from tests.support.wait import wait_until


def delete_queues(url: str, names: list[str]) -> None:
    """Delete the test's own queues (never shared ones) with a connection of its own."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        for name in names:
            channel.queue_delete(name)
    finally:
        connection.close()


def envelopes_of(body: bytes, headers: Mapping[str, Any] | None,
                 message_id: str | None) -> list[tuple[str, bytes]]:
    """(message id, envelope body) for each envelope one broker message carries: itself, or the
    parts of a bundle (protocol 1.3), whose ids are inside the envelopes."""
    parts = unpack(body, headers or {})
    if parts is None:
        return [(message_id or "", body)]
    return [(str(json.loads(part)["message_id"]), part) for part in parts]


def single_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    """A bundle's headers as one of its parts would carry them travelling alone."""
    return {k: v for k, v in (headers or {}).items() if k != BUNDLE_HEADER}


def take_ours(url: str, queue: str, *, node_id: str | None = None,
              message_ids: set[str] | None = None) -> list[tuple[pika.BasicProperties, bytes]]:
    """Take (ack) from a shared queue only this test's messages, found by the `x-node` header or
    by message id; everyone else's go back to the queue when the connection closes."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    ours: list[tuple[pika.BasicProperties, bytes]] = []
    try:
        channel = connection.channel()
        for _ in range(channel.queue_declare(queue, passive=True).method.message_count):
            method, props, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            headers = props.headers or {}
            if (node_id is not None and headers.get("x-node") == node_id) or \
                    (message_ids is not None and props.message_id in message_ids):
                ours.append((props, body))
                channel.basic_ack(method.delivery_tag)
    finally:
        connection.close()
    return ours


def ready_count(url: str, queue: str, expected: int = 0, wait: float = 5.0) -> int:
    """The queue's ready count once it equals `expected` (acks are asynchronous), else the last
    count seen after `wait` seconds."""
    seen = [-1]

    def settled() -> bool:
        connection = pika.BlockingConnection(pika.URLParameters(url))
        try:
            seen[0] = connection.channel().queue_declare(queue, passive=True).method.message_count
        finally:
            connection.close()
        return seen[0] == expected

    with contextlib.suppress(AssertionError):
        wait_until(settled, f"{expected} ready in {queue}", wait, every=0.1)
    return seen[0]


def pump(transport: AmqpTransport, queue: str, consumer: Consumer, done: Callable[[], bool],
         limit: float = 20.0) -> None:
    """Let `consumer` take `queue`'s deliveries on `transport`, a short slice at a time, until
    `done()`; AssertionError if it has not got there within `limit` seconds."""
    def step() -> bool:
        if not done():
            transport.consume(queue, consumer.handle, timeout=0.3)
        return done()

    wait_until(step, "the consumer getting there", limit, every=0)
