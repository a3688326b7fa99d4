"""Found while building scenario 4 (issue 4): what a consume-slice boundary does to deliveries on a
quorum queue.

`AmqpTransport.consume_batches` used to register a consumer (`basic.consume`) for one slice
(`CONSUME_SLICE_S`) and cancel it at the end, so that the node's loop could look at its stop flag.
On RabbitMQ 3.10 the deliveries in flight at that cancel were given back by the broker and charged
one delivery attempt (`x-delivery-count`), although the node never saw them, let alone failed on
them; the quorum queue dead-letters a message after DELIVERY_LIMIT such give-backs (flaw F3,
docs/RELIABILITY.md). The subscription now lasts as long as the channel. This test drains a queue
the way a node service does (batches, acks after commit, production settings, several slices)
and expects every message to arrive once, first time, in order.
"""

from __future__ import annotations

import itertools
import time

import pika
import pytest

from nodes.messaging import settings
from nodes.messaging.amqp import AmqpTransport
from nodes.messaging.delivery import AcksAfterCommit, Delivery
from protocol.topology import QUORUM_ARGUMENTS
from tests.fault.harness import NotQuiet, wait_until, write_figures
from tests.support.broker import PrivateRabbit

pytestmark = pytest.mark.fault

MESSAGES = 10_000
QUEUE = "fault.delivery-accounting"


def test_consume_slices_charge_no_delivery_attempts(private_rabbit: PrivateRabbit) -> None:
    began, url = time.monotonic(), private_rabbit.amqp_url
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.queue_declare(QUEUE, durable=True, arguments=dict(QUORUM_ARGUMENTS))
        channel.confirm_delivery()
        for i in range(MESSAGES):
            channel.basic_publish("", QUEUE, str(i).encode(),
                                  pika.BasicProperties(delivery_mode=2))
    finally:
        connection.close()

    received: list[tuple[int, int]] = []  # (message number, x-delivery-count)

    def apply(batch: list[Delivery]) -> None:  # as NodeRuntime does: ack after the "commit"
        acks = AcksAfterCommit()
        for delivery in batch:
            held = acks.hold(delivery)
            received.append((int(held.body), int(held.headers.get("x-delivery-count") or 0)))
            held.ack()
        acks.send()

    transport = AmqpTransport(url)
    slices = 0

    def consumed_all() -> bool:
        nonlocal slices
        if len({n for n, _ in received}) < MESSAGES:
            transport.consume_batches(QUEUE, apply, settings.CONSUME_SLICE_S)
            slices += 1
        return len({n for n, _ in received}) >= MESSAGES

    try:
        wait_until(consumed_all, f"all {MESSAGES} consumed", 120, every=0)
    except NotQuiet:
        raise NotQuiet(f"{len(received)} of {MESSAGES} consumed") from None
    finally:
        transport.close()

    numbers = [n for n, _ in received]
    charged = sum(1 for _, count in received if count > 0)
    out_of_order = sum(1 for a, b in itertools.pairwise(numbers) if b < a)
    write_figures("delivery_accounting", {
        "messages": MESSAGES, "slices": slices, "deliveries": len(received),
        "charged_an_attempt_without_failing": charged, "out_of_order": out_of_order,
        "total_s": round(time.monotonic() - began, 1),
    })
    if sorted(set(numbers)) != list(range(MESSAGES)):
        raise RuntimeError("messages lost in the drain")
    assert charged == 0, f"{charged} deliveries were charged an attempt they never had"
    assert out_of_order == 0
