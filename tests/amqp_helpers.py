"""Small helpers the broker tests share: an independent pika client for clean-up."""

from __future__ import annotations

import pika


def delete_queues(url: str, names: list[str]) -> None:
    """Delete the test's own queues (never shared ones) with a connection of its own."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        for name in names:
            channel.queue_delete(name)
    finally:
        connection.close()
