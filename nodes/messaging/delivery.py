"""What a consumer is handed (`Delivery`), and the bookkeeping of acks and publisher confirms.

Kept apart from the transport so the rules can be read, and unit-tested, without a broker: a
delivery is acked only after its transaction commits (`AcksAfterCommit`), and a published message
counts as confirmed only when the broker's ack for its own delivery tag has arrived (`Confirms`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


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


class _HeldMessage:
    """A delivery's message whose ack waits for `AcksAfterCommit.send`; a reject goes at once."""

    def __init__(self, message: Any, acks: AcksAfterCommit) -> None:
        self.message, self.acks = message, acks

    def ack(self) -> None:
        self.acks.held.append(self.message)

    def reject(self, requeue: bool) -> None:
        self.message.reject(requeue=requeue)


class AcksAfterCommit:
    """Acks of a batch of deliveries handled inside one SQLite transaction, sent after its commit.

    Deliveries come in delivery-tag order and each is settled before the next batch starts, so
    when the batch has committed one `basic.ack` with `multiple` on the highest held tag acks the
    batch: the tags below it are either held here or were already rejected (and a settled tag is
    not touched by a later multiple ack). If the commit fails nothing is acked, and the caller
    closes the channel, which gives every unacked delivery back to the queue.
    """

    def __init__(self) -> None:
        self.held: list[Any] = []

    def hold(self, delivery: Delivery) -> Delivery:
        return dataclasses.replace(delivery, message=_HeldMessage(delivery.message, self))

    def send(self) -> None:
        if self.held:
            self.held[-1].ack(multiple=True)
            self.held.clear()


class Confirms:
    """Publisher-confirm bookkeeping of one channel: which delivery tags await their ack."""

    def __init__(self) -> None:
        self.next_tag = 1
        self.unconfirmed: dict[int, float] = {}  # tag -> when written; oldest first
        self.nacked: set[int] = set()
        # Mandatory publishes the broker returned (basic.return comes before that message's
        # basic.ack): acked, yet not delivered anywhere, so never confirmed.
        self.returned: dict[int, tuple[str, str]] = {}  # tag -> (exchange, routing key)

    def on_ack(self, tag: int, multiple: bool) -> None:
        for settled in self._settled(tag, multiple):
            del self.unconfirmed[settled]

    def on_nack(self, tag: int, multiple: bool) -> None:
        for settled in self._settled(tag, multiple):
            del self.unconfirmed[settled]
            self.nacked.add(settled)

    def _settled(self, tag: int, multiple: bool) -> list[int]:
        if multiple:
            return [t for t in self.unconfirmed if t <= tag]
        return [tag] if tag in self.unconfirmed else []

    def on_return(self, tag: int, exchange: str, routing_key: str) -> None:
        self.returned[tag] = (exchange, routing_key)

    def confirmed(self, tag: int) -> bool:
        return (tag not in self.unconfirmed and tag not in self.nacked
                and tag not in self.returned)
