"""The transport port: what the relay, the consumer and the runtime need from a message broker.

Two adapters implement it: `AmqpTransport` (kombu on RabbitMQ, `amqp://`) and `MemoryTransport`
(an in-process broker, `memory://`: the embedded demo and the unit tests). A `Transport` is one
connection: a thread that publishes and a thread that consumes each hold their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from nodes.messaging.delivery import Delivery
from nodes.records import OutboxRow
from protocol.topology import QueueSpec


class TransportError(Exception):
    """The broker could not be reached or did not confirm in time: back off and retry."""

    def __init__(self, message: str, confirmed: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.confirmed = list(confirmed)  # outbox ids confirmed before the failure, in order


class BrokerAuthError(TransportError):
    """The broker refused this node's login (wrong password, unknown user, no access to its
    virtual host): the broker is there, so this is not an outage, and trying again does not help
    until an operator fixes the credentials. `reason` is one line for the log, never the password."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the broker refused the login: {reason}")
        self.reason = reason


class Unroutable(TransportError):
    """The broker returned a mandatory publish: no queue is bound for its routing key (a binding
    deleted, a node not yet deployed). The message is NOT sent: its row stays in the outbox and
    goes again later; `.confirmed` is the prefix before it, as for any failure."""

    def __init__(self, message: str, confirmed: Sequence[int] = (), *, exchange: str = "",
                 routing_key: str = "", message_id: str | None = None) -> None:
        super().__init__(message, confirmed)
        self.exchange, self.routing_key, self.message_id = exchange, routing_key, message_id


class Transport(Protocol):
    """One connection to a broker. Every call has a timeout; a failed link is a TransportError."""

    @property
    def user_id(self) -> str | None:
        """The user id this connection publishes under (the broker validates it), if any."""

    def declare(self, queues: Iterable[QueueSpec], *, passive: bool = False) -> None:
        """Declare the exchanges, the shared queues and these queues with their bindings; with
        `passive`, only check that the exchanges and these queues exist (no configure right)."""

    def publish(self, rows: Sequence[OutboxRow]) -> list[int]:
        """Publish outbox rows in order, persistent, mandatory, each confirmed; return the
        confirmed ids. On a failure the TransportError carries the confirmed prefix
        (`.confirmed`); a message the broker could not route raises `Unroutable`."""

    def publish_raw(self, exchange: str, routing_key: str, body: bytes,
                    headers: dict[str, Any] | None = None, persistent: bool = True) -> None:
        """One message that is not an outbox row (a heartbeat, a quarantine copy), confirmed."""

    def consume_batches(self, queue_name: str, handler: Callable[[list[Delivery]], None],
                        timeout: float, max_batch: int = ...) -> None:
        """Hand what has arrived to `handler`, in batches, for about `timeout` seconds."""

    def drain_queue(self, queue_name: str, handler: Callable[[Delivery], None],
                    limit: int = ...) -> int:
        """Hand over what waits right now, one delivery at a time; returns how many."""

    def heartbeat_check(self) -> None:
        """Send (and check) AMQP heartbeats on an idle link, so the broker does not close it."""

    def close(self) -> None:
        """Drop the link; every unacked delivery goes back to its queue."""
