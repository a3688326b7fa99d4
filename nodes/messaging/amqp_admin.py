"""Operator calls on an AMQP link that nodes themselves never make: the demo and the tests read a
queue's depth and empty their own queues before a run."""

from __future__ import annotations

from nodes.messaging.amqp import AmqpTransport
from nodes.messaging.port import TransportError


class AmqpAdmin(AmqpTransport):
    def queue_depth(self, queue_name: str) -> int:
        """Messages ready in a queue (a passive declare: the queue must exist)."""
        try:
            channel = self._producer_or_connect().channel
            return int(channel.queue_declare(queue_name, passive=True).message_count)
        except self._errors() as exc:
            self.close()
            raise TransportError(f"queue {queue_name} cannot be read: {exc}") from exc

    def purge(self, queue_name: str) -> None:
        """Empty a queue (the demo's own queues, before a run)."""
        try:
            self._producer_or_connect().channel.queue_purge(queue_name)
        except self._errors() as exc:
            self.close()
            raise TransportError(f"queue {queue_name} cannot be purged: {exc}") from exc
