"""kombu messages into `Delivery` batches: what the AMQP consumer hands the node at a time."""

from __future__ import annotations

from collections import deque
from typing import Any

from nodes.messaging.delivery import Delivery
from protocol.bundle import weight


def delivery(message: Any) -> Delivery:
    info = message.delivery_info
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    return Delivery(body, info.get("exchange", ""), info.get("routing_key", ""),
                    message.properties.get("user_id"), dict(message.headers or {}), message)


def take(pending: deque[Any], max_batch: int) -> list[Delivery]:
    """At least one delivery, then more while the batch stays within `max_batch` envelopes
    (a bundle counts as its parts and is never split)."""
    batch = [delivery(pending.popleft())]
    count = weight(batch[0].headers)
    while pending and count + weight(pending[0].headers or {}) <= max_batch:
        batch.append(delivery(pending.popleft()))
        count += weight(batch[-1].headers)
    return batch


def envelopes(pending: deque[Any]) -> int:
    return sum(weight(message.headers or {}) for message in pending)
