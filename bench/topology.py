"""The bench's own corner of a shared RabbitMQ, and leaving it as it was found.

The bench invents a county under city 3398 (tests use 3397, the demo 3306) with a random county
number per run, so two benches, the tests and the demo never share a queue. Its nodes declare
their own queues (`fengqiao.node.<code>`) as every node does; the bench adds two of its own:
`fengqiao.bench.<county>.raw` for the raw baseline and `fengqiao.bench.<county>.reports`, which
stands in for the county's queue so that lifecycle reports and heartbeats are kept, not routed to
the shared `fengqiao.unroutable`. At the end every one of these is deleted, and so is any shared
queue (dead-letter, quarantine, unroutable) that did not exist before the run and is still empty.
Exchanges are left: they are the fengqiao topology every node declares, other users may be
publishing to them, and they hold no messages.
"""

from __future__ import annotations

import contextlib
import secrets

import pika
import pika.exceptions

from nodes.messaging.amqp import AmqpTransport
from protocol.routing import node_key, subtree_pattern
from protocol.topology import EXCHANGE_REPORT, QUORUM_ARGUMENTS, SHARED_QUEUES, node_queue_name

CITY = "3398"


class Topology:
    def __init__(self, url: str, villages: int) -> None:
        self.url = url
        county = f"{secrets.randbelow(90) + 10:02d}"
        self.county = f"{CITY}{county}000000"
        self.township = f"{CITY}{county}101000"
        self.villages = [f"{CITY}{county}101{201 + i:03d}" for i in range(villages)]
        self.drain_village = f"{CITY}{county}101{201 + villages:03d}"
        self.raw_queue = f"fengqiao.bench.{self.county}.raw"
        self.sink_queue = f"fengqiao.bench.{self.county}.reports"
        self.plain_queue = f"fengqiao.bench.{self.county}.plain"  # the plain pipeline's hub
        self._created_shared: list[str] = []
        self.broker_version: str | None = None

    def _channel_call(self, name: str, passive: bool = False, delete: bool = False,
                      purge: bool = False) -> bool:
        """One queue operation on a fresh connection; False if the broker refused it (or, for
        a delete of a shared queue, if the queue is in use: messages or consumers)."""
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            channel = connection.channel()
            if passive:
                channel.queue_declare(name, passive=True)
            elif delete:
                if name not in self.own_queues():  # quorum queues refuse `if_empty`: look first
                    ok = channel.queue_declare(name, passive=True).method
                    if ok.message_count or ok.consumer_count:
                        return False
                channel.queue_delete(name)
            elif purge:
                channel.queue_purge(name)
            return True
        except pika.exceptions.ChannelClosedByBroker as exc:
            return delete and exc.reply_code == 404  # already gone is as good as deleted
        finally:
            with contextlib.suppress(Exception):
                connection.close()

    def own_queues(self) -> list[str]:
        nodes = [self.township, *self.villages, self.drain_village]
        return [self.raw_queue, self.sink_queue, self.plain_queue,
                *(node_queue_name(n) for n in nodes)]

    def set_up(self) -> None:
        """Exchanges and shared queues (as any node declares them), and the report sink."""
        self._created_shared = [q.name for q in SHARED_QUEUES
                                if not self._channel_call(q.name, passive=True)]
        transport = AmqpTransport(self.url)
        try:
            transport.declare([])
            server = transport.connection.connection.server_properties
            self.broker_version = f"{server.get('product')} {server.get('version')}"
        finally:
            transport.close()
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            channel = connection.channel()
            channel.queue_declare(self.sink_queue, durable=True, arguments=dict(QUORUM_ARGUMENTS))
            channel.queue_declare(self.plain_queue, durable=True,
                                  arguments=dict(QUORUM_ARGUMENTS))
            for key in (node_key(self.county), subtree_pattern(self.county)):
                channel.queue_bind(self.sink_queue, EXCHANGE_REPORT, key)
        finally:
            connection.close()

    def purge_sink(self) -> None:
        self._channel_call(self.sink_queue, purge=True)

    def tear_down(self) -> list[str]:
        """Delete what the run made; returns the queues that could not be deleted."""
        left = []
        for name in (*self.own_queues(), *self._created_shared):
            try:
                if not self._channel_call(name, delete=True):
                    left.append(name)
            except pika.exceptions.AMQPError:
                left.append(name)
        return left
