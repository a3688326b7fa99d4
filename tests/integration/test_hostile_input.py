"""Hostile input on a real RabbitMQ (issue 4, item 5; DESIGN §4 rule 3).

A hub's consumer (a county, which also takes its subtree's reports, and a township) drains its
queue while a foreign pika client publishes the corpus of `tests/hostile/corpus.py` (over 300 bad
messages, each labelled with what is wrong) interleaved with valid traffic (50 escalations from
the hub's children, and for the county reports and heartbeats from its subtree). The consumer must
keep going: nothing escapes `handle`, nothing is requeued or dead-lettered, every bad message is
quarantined with its reason (local table and the broker's `fengqiao.quarantine` queue, header
`x-reason`), every valid one is applied exactly once, and the node queue ends empty.

Some corpus messages use a routing key this hub does not bind (another node's key): nothing would
deliver them, so the test binds the hub's queue to those keys too, as a misconfigured broker would,
and the consumer itself must catch them. With one broker user per node and topic permissions
limiting each user to keys under its own path (built separately, see deploy/), RabbitMQ refuses
such publishes before any queue sees them; the consumer's check is the second line.

Area codes are invented under city 3397, counties 85-88 (not used by the other broker tests). The
shared quarantine queue is never purged: only messages with this hub's `x-node` header are taken.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pika
import pytest

from nodes.messaging import settings
from nodes.messaging.amqp import AmqpTransport
from nodes.messaging.consumer import Consumer
from nodes.messaging.delivery import Delivery
from nodes.node import Node
from protocol.areas import Tier, default_parent
from protocol.envelope import decode
from protocol.routing import node_of_key
from protocol.topology import (
    EXCHANGE_DOWN,
    QUEUE_DEAD,
    QUEUE_QUARANTINE,
    node_queue,
    node_queue_name,
)
from tests.hostile.corpus import Msg, Net, bindings, categories, corpus, interleave, valid_traffic
from tests.support.amqp import ready_count, take_ours
from tests.support.nodes import build_node
from tests.support.signed import sealed, sender_of, signed
from tests.support.sql import rows
from tests.support.wait import wait_until

pytestmark = pytest.mark.broker


# --------------------------------------------------------------------------- broker helpers

def channel_for(url: str) -> tuple[pika.BlockingConnection, pika.adapters.blocking_connection.
                                   BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    return connection, connection.channel()


def delete_queue(url: str, name: str) -> None:
    connection, channel = channel_for(url)
    try:
        channel.queue_delete(name)
    finally:
        connection.close()


def as_sent(messages: list[Msg], hub: str) -> list[Msg]:
    """The messages as nodes holding their keys send them: personal fields sealed to the hub,
    signed by the node the route names (the key's node on up and report, the hub's parent on
    down), so each reaches the check it is about (the signature's own: test_signing.py)."""
    return [replace(m, body=sealed(m.body, hub)) for m in messages]


def signer_of(msg: Msg, hub: str) -> str:
    named = default_parent(hub) if msg.exchange == EXCHANGE_DOWN else node_of_key(msg.routing_key)
    return named or sender_of(msg.body, msg.routing_key)


def publish_all(url: str, messages: list[Msg], hub: str) -> None:
    """A foreign publisher: pika, the connection's own user, persistent, each one confirmed."""
    params = pika.URLParameters(url)
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for msg in messages:
            headers = signed(msg.body, msg.exchange, msg.routing_key,
                             sender=signer_of(msg, hub), to=hub)
            props = pika.BasicProperties(delivery_mode=2, content_type="application/json",
                                         message_id=msg.message_id, headers=headers,
                                         user_id=params.credentials.username)
            channel.basic_publish(msg.exchange, msg.routing_key, msg.body, properties=props,
                                  mandatory=True)
    finally:
        connection.close()


class Settled:
    """The kombu message, recording how the consumer settled it."""

    def __init__(self, message: Any) -> None:
        self.message = message
        self.calls: list[str] = []

    def ack(self) -> None:
        self.calls.append("ack")
        self.message.ack()

    def reject(self, requeue: bool) -> None:
        self.calls.append("requeue" if requeue else "reject")
        self.message.reject(requeue=requeue)


# --------------------------------------------------------------------------- the hub

@dataclass
class Hub:
    url: str
    net: Net
    node: Node

    @property
    def transport(self) -> AmqpTransport:
        """The hub's broker connection: its consumer's deliveries and quarantine copies."""
        assert isinstance(self.node.transport, AmqpTransport)
        return self.node.transport

    @property
    def consumer(self) -> Consumer:
        return self.node.consumer

    @property
    def queue(self) -> str:
        return node_queue_name(self.net.hub)


@pytest.fixture
def hub(amqp_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Hub]:
    net: Net = request.param
    queue = node_queue_name(net.hub)
    delete_queue(amqp_url, queue)
    node = build_node(tmp_path, net.hub, tier=net.hub_tier, declare=False, broker_url=amqp_url)
    node.transport.declare([node_queue(net.hub, net.hub_tier)])
    ours = {m.message_id for m in corpus(net) + valid_traffic(net)}
    try:
        yield Hub(amqp_url, net, node)
    finally:
        node.close()
        delete_queue(amqp_url, queue)  # with the extra bindings
        take_ours(amqp_url, QUEUE_QUARANTINE, node_id=net.hub)
        take_ours(amqp_url, QUEUE_DEAD, message_ids=ours)


# --------------------------------------------------------------------------- the test

@pytest.mark.parametrize("hub", [Net("87", "88", Tier.COUNTY), Net("85", "86", Tier.TOWNSHIP)],
                         ids=["county", "township"], indirect=True)
def test_corpus_quarantined_valid_applied_queue_drained(hub: Hub) -> None:
    bad, valid = as_sent(corpus(hub.net), hub.net.hub), as_sent(valid_traffic(hub.net), hub.net.hub)
    assert len(bad) >= 200
    assert len(categories(bad)) >= 20
    connection, channel = channel_for(hub.url)
    try:  # a misconfigured broker: the hub's queue also bound to keys that are not its own
        for exchange, key in bindings(bad):
            channel.queue_bind(hub.queue, exchange, key)
    finally:
        connection.close()

    started = time.monotonic()
    publish_all(hub.url, list(interleave(bad, valid)), hub.net.hub)
    published = time.monotonic()

    handled: list[Settled] = []

    def handle(delivery: Delivery) -> None:
        settled = Settled(delivery.message)
        handled.append(settled)
        # An exception here fails the test: nothing may escape the consumer.
        hub.consumer.handle(replace(delivery, message=settled))

    consumer = hub.consumer

    def all_handled() -> bool:
        if consumer.quarantined + consumer.applied < len(bad) + len(valid):
            hub.transport.consume(hub.queue, handle, timeout=0.5)
        return consumer.quarantined + consumer.applied >= len(bad) + len(valid)

    try:
        wait_until(all_handled, "the consumer to handle every message", 120, every=0)
    except AssertionError:
        pytest.fail(f"consumer stuck at {consumer.quarantined} quarantined, "
                    f"{consumer.applied} applied")
    drained = time.monotonic()
    hub.transport.close()  # unacked deliveries, if any, would now return to the queue

    # Every message handled once and acked once: no requeue, nothing left behind. (A delivery
    # can still be flagged redelivered when a consume slice ends with prefetched messages that
    # were never handed to us; those are handled once, later, like any other.)
    assert (consumer.quarantined, consumer.applied, consumer.duplicates, consumer.stale) == \
        (len(bad), len(valid), 0, 0)
    assert len(handled) == len(bad) + len(valid)
    assert all(s.calls == ["ack"] for s in handled), [s.calls for s in handled if s.calls != ["ack"]]
    assert ready_count(hub.url, hub.queue) == 0
    ours = {m.message_id for m in bad + valid}
    assert take_ours(hub.url, QUEUE_DEAD, message_ids=ours) == []

    # Every bad message in the local quarantine table, in order, with the expected reason.
    db = hub.node.config.database
    quarantined = hub.node.store.quarantined()  # bodies opened: they are sealed at rest
    assert len(quarantined) == len(bad)
    for msg, row in zip(bad, quarantined, strict=True):
        where = f"{msg.category}/{msg.label}"
        assert row["reason"], where
        assert msg.expect in row["reason"], f"{where}: {row['reason']!r}"
        # A body over the limit is kept as its prefix, with the whole body's length and hash.
        assert row["body"] == msg.body[:settings.QUARANTINE_BODY_MAX], where
        assert row["truncated"] == (len(msg.body) > settings.QUARANTINE_BODY_MAX), where
        assert (row["length"], row["sha256"]) == (len(msg.body),
                                                  hashlib.sha256(msg.body).hexdigest()), where
        assert (row["routing_key"], row["user_id"]) == (msg.routing_key, "guest"), where

    # ... and on the broker's quarantine queue, with the reason in x-reason.
    copies = take_ours(hub.url, QUEUE_QUARANTINE, node_id=hub.net.hub)
    assert len(copies) == len(bad)
    for (props, body), row in zip(copies, quarantined, strict=True):
        assert hashlib.sha256(body).hexdigest() == row["sha256"]  # the broker's copy is whole
        assert props.headers["x-reason"] == row["reason"][:500] != ""
        assert props.headers["x-routing-key"] == row["routing_key"]

    # Every valid message applied exactly once.
    escalations = [m for m in valid if m.category == "escalation"]
    assert len(escalations) == 50
    cases = [r["case_id"] for r in hub.node.store.case_rows()]
    assert sorted(cases) == sorted(str(m.case_id) for m in escalations)
    inbox = [r[0] for r in rows(db, "SELECT message_id FROM inbox")]
    refused_on_apply = [str(decode(m.body).message_id) for m in bad if m.category == "cannot_apply"]
    assert sorted(inbox) == sorted([str(m.valid_id) for m in valid] + refused_on_apply)
    if hub.net.takes_reports:
        reports = {r[0] for r in rows(db, "SELECT message_id FROM reports")}
        assert reports == {m.valid_id for m in valid if m.category == "report"}
        beats = {r[0] for r in rows(db, "SELECT node_id FROM heartbeats")}
        assert len(beats) == len([m for m in valid if m.category == "heartbeat"])
    print(f"\n{hub.net.hub_tier.value}: {len(bad)} bad + {len(valid)} valid; published in "
          f"{published - started:.2f}s, drained in {drained - published:.2f}s "
          f"({sum(1 for s in handled if s.message.delivery_info.get('redelivered'))} flagged "
          f"redelivered); {categories(bad)}")
