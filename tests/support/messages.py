"""A stand-in for the broker's message behind a `Delivery`: it records how it was settled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nodes.messaging.delivery import Delivery


class FakeMessage:
    """Records each settlement in `calls` ("ack", "requeue" or "reject"); `on_ack` runs at an
    ack (a test can look at the store at that instant)."""

    def __init__(self, on_ack: Callable[[], None] | None = None) -> None:
        self.calls: list[str] = []
        self.on_ack = on_ack
        self.multiple = False

    def ack(self, multiple: bool = False) -> None:
        self.calls.append("ack")
        self.multiple = multiple
        if self.on_ack is not None:
            self.on_ack()

    def reject(self, requeue: bool) -> None:
        self.calls.append("requeue" if requeue else "reject")

    @property
    def acked(self) -> bool:
        return "ack" in self.calls

    @property
    def requeued(self) -> bool:
        return "requeue" in self.calls


def delivery(body: bytes, *, exchange: str = "", routing_key: str = "",
             user_id: str | None = None, headers: dict[str, Any] | None = None,
             message: Any = None) -> Delivery:
    """A delivery as a consumer is handed it, settled on a `FakeMessage` unless told otherwise."""
    return Delivery(body, exchange, routing_key, user_id, dict(headers or {}),
                    message if message is not None else FakeMessage())
