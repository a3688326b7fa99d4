"""The broker fixtures give real brokers that keep what DESIGN promises: durable quorum
queues, persistent messages and publisher confirms - across a broker crash."""

from __future__ import annotations

import contextlib
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pika
import pika.exceptions
import pytest
from pika.adapters.blocking_connection import BlockingChannel as Channel

from tests.support.broker import BrokerInfo, PrivateRabbit
from tests.support.wait import wait_until

QUORUM = {"x-queue-type": "quorum"}
PERSISTENT = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)
NAME_REGISTRY_SETTLE_SECONDS = 2.0


@contextmanager
def channel(url: str) -> Iterator[Channel]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        ch = connection.channel()
        ch.confirm_delivery()  # basic_publish now raises unless the broker confirms
        yield ch
    finally:
        if connection.is_open:
            connection.close()


def publish_confirmed(ch: Channel, queue: str, body: bytes) -> None:
    # mandatory: an unroutable message raises instead of being confirmed and dropped
    ch.basic_publish("", queue, body, properties=PERSISTENT, mandatory=True)


def drain(ch: Channel, queue: str) -> list[bytes]:
    bodies: list[bytes] = []
    while True:
        method, _props, body = ch.basic_get(queue, auto_ack=False)
        if method is None:
            return bodies
        bodies.append(body)
        ch.basic_ack(method.delivery_tag)


@pytest.mark.broker
def test_broker_round_trip_on_quorum_queue(broker: BrokerInfo) -> None:
    queue = f"fengqiao.test.{uuid.uuid4().hex}"
    with channel(broker.amqp_url) as ch:
        ch.queue_declare(queue, durable=True, arguments=QUORUM)
        try:
            publish_confirmed(ch, queue, b"hello")
            assert drain(ch, queue) == [b"hello"]
        finally:
            ch.queue_delete(queue)


@pytest.mark.fault
def test_quorum_messages_survive_sigkill_and_restart(private_rabbit: PrivateRabbit) -> None:
    queue = "fengqiao.test.survivor"
    sent = [f"message {i}".encode() for i in range(10)]
    with channel(private_rabbit.amqp_url) as ch:
        ch.queue_declare(queue, durable=True, arguments=QUORUM)
        # RabbitMQ <= 3.12 (Ra < 2.10) writes a new quorum queue's name -> data-dir entry
        # (names.dets) only on a 500 ms DETS auto-save; a SIGKILL inside that window orphans
        # the queue's data on restart (rabbitmq/ra#443). Real queues outlive that window.
        time.sleep(NAME_REGISTRY_SETTLE_SECONDS)
        for body in sent:
            publish_confirmed(ch, queue, body)

    private_rabbit.kill()
    assert not private_rabbit.is_running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", private_rabbit.amqp_port), timeout=2).close()

    private_rabbit.restart()  # same node, ports and data folder
    assert wait_for_ready_count(private_rabbit.amqp_url, queue, len(sent)) == len(sent)
    with channel(private_rabbit.amqp_url) as ch:
        assert drain(ch, queue) == sent


def wait_for_ready_count(url: str, queue: str, expected: int, timeout: float = 30) -> int:
    """The queue's ready count once it reaches ``expected`` (a recovering quorum queue may
    briefly report fewer, or be unavailable, while its Raft log is replayed), else the last."""
    seen = [-1]

    def reached() -> bool:
        try:
            with channel(url) as ch:
                seen[0] = ch.queue_declare(queue, passive=True).method.message_count
        except pika.exceptions.AMQPError:
            seen[0] = -1
        return seen[0] >= expected

    with contextlib.suppress(AssertionError):  # the caller asserts on the count
        wait_until(reached, f"{expected} ready in {queue}", timeout, every=0.2)
    return seen[0]
