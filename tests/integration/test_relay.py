"""The relay on a real RabbitMQ (DESIGN §4 rules 1, 4 and 6): rows are marked sent only on the
broker's confirm, a lost broker is an error that returns quickly and leaves the outbox intact while
the node keeps recording, the backlog leaves in outbox order, and one case's events arrive in the
order they happened.

Area codes are invented under city 3397 (not the demo's 3306), one county per test, so these node
queues collide neither with each other nor with a demo running on a shared broker.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest

from nodes.domain import commands
from nodes.domain.case import local_date
from nodes.messaging.amqp import AmqpTransport
from nodes.messaging.delivery import Delivery
from nodes.messaging.port import TransportError
from nodes.messaging.relay import Relay
from nodes.node import Node
from nodes.outbound import travels_as_report
from nodes.service import PartyInput
from protocol.areas import Tier
from protocol.bundle import BUNDLE_HEADER
from protocol.envelope import decode
from protocol.reference import CaseSource, EscalationReason
from protocol.routing import escalation_key, report_key
from protocol.topology import EXCHANGE_REPORT, EXCHANGE_UP, node_queue, node_queue_name
from tests.support.amqp import delete_queues, envelopes_of
from tests.support.nodes import build_node
from tests.support.sql import rows
from tests.support.wait import wait_until

pytestmark = pytest.mark.broker

UNREACHABLE = "amqp://guest:guest@127.0.0.1:1/"
HANG_GUARD_S = 15.0


def codes(county: str) -> tuple[str, str, str]:
    """(county, township, village) under the invented city 3397."""
    return f"3397{county}000000", f"3397{county}101000", f"3397{county}101201"



def take_all(url: str, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
    """Every broker message waiting in `queue`, acked, in queue order (an independent pika
    client); `envelopes` reads the envelopes out of them."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    taken = []
    try:
        channel = connection.channel()
        while True:
            method, props, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                return taken
            taken.append((props, body))
            channel.basic_ack(method.delivery_tag)
    finally:
        connection.close()


@pytest.fixture
def network(amqp_url: str, tmp_path: Path,
            request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A village node on the broker, with its township's and county's queues declared (empty)."""
    county, township, village = codes(request.param)
    names = [node_queue_name(n) for n in (county, township, village)]
    delete_queues(amqp_url, names)
    node = build_node(tmp_path, village, declare=False, broker_url=amqp_url)
    # The township's queue takes the escalations, the county's the reports: the township's own
    # report bindings (since 2.1, for red flags) are left out, so each queue holds one stream.
    town = node_queue(township, Tier.TOWNSHIP)
    up_only = dataclasses.replace(town, bindings=tuple(
        (exchange, key) for exchange, key in town.bindings if exchange != EXCHANGE_REPORT))
    node.transport.declare([up_only, node_queue(county, Tier.COUNTY)])
    node.transport.close()  # each test publishes on a fresh connection, as before
    try:
        yield {"node": node, "county": county, "township": township, "village": village}
    finally:
        node.close()
        delete_queues(amqp_url, names)


def record(node: Node, n: int = 1, escalate: bool = True) -> list[str]:
    ids = []
    for i in range(n):
        case = node.service.new_case(
            source=CaseSource.APPLICATION, dispute_type="02", facts=f"邻里排水纠纷（测试 {i}）",
            parties=[PartyInput("applicant", f"张某{i}", phone="13800000000"),
                     PartyInput("respondent", f"李某{i}")])
        if escalate:
            node.service.act(case.case_id, lambda c, a, t: commands.escalate(
                c, a, t, reason=EscalationReason.GROUP_CASE, consent_given=True))
        ids.append(case.case_id)
    return ids


def envelopes(taken: list[tuple[pika.BasicProperties, bytes]]) -> list[tuple[str, bytes]]:
    return [e for props, body in taken for e in envelopes_of(body, props.headers, props.message_id)]


OUTBOX_COLUMNS = ("id", "message_id", "case_id", "seq", "exchange", "routing_key", "sent_at")


def outbox(node: Node) -> list[dict[str, Any]]:
    found = rows(node.config.database,
                 f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM outbox ORDER BY id")
    return [dict(zip(OUTBOX_COLUMNS, row, strict=True)) for row in found]


def user_of(url: str) -> str:
    return pika.URLParameters(url).credentials.username


@pytest.mark.parametrize("network", ["11"], indirect=True)
def test_drain_marks_every_row_sent_and_broker_holds_exactly_them(network: dict[str, Any],
                                                                  amqp_url: str) -> None:
    node, township, county = network["node"], network["township"], network["county"]
    cases = record(node, 4)
    rows = outbox(node)
    up = [r for r in rows if r["exchange"] == EXCHANGE_UP]
    reports = [r for r in rows if r["exchange"] == EXCHANGE_REPORT]
    assert len(up) == 4
    assert len(reports) == 8

    relay = node.relay
    try:
        assert relay.drain() == len(rows)
        assert relay.run_once() == 0
    finally:
        node.transport.close()

    assert all(r["sent_at"] is not None for r in outbox(node))
    assert node.store.outbox_depth() == 0
    assert relay.sent_total == len(rows)

    messages = take_all(amqp_url, node_queue_name(township))
    # The backlog of 4 escalations for one destination travelled packed (protocol 1.3).
    assert len(messages) == 1
    assert messages[0][0].headers[BUNDLE_HEADER] == 4
    at_township = envelopes(messages)
    assert [m for m, _ in at_township] == [r["message_id"] for r in up]
    for props, _ in messages:
        assert props.delivery_mode == 2  # persistent
        assert props.user_id == user_of(amqp_url)
    for _, body in at_township:
        env = decode(body)
        assert env.schema_name == "case_escalated"
        assert env.sender == network["village"]
    assert [decode(b).case_id for _, b in at_township] == cases
    at_county = envelopes(take_all(amqp_url, node_queue_name(county)))
    assert [m for m, _ in at_county] == [r["message_id"] for r in reports]
    assert {r["routing_key"] for r in up} == {escalation_key(network["village"])}
    assert {r["routing_key"] for r in reports} == {report_key(network["village"])}


@pytest.mark.parametrize("network", ["12"], indirect=True)
def test_lost_broker_fails_fast_keeps_outbox_and_backlog_drains_in_order(
        network: dict[str, Any], amqp_url: str) -> None:
    node, township = network["node"], network["township"]
    record(node, 2)
    depth = node.store.outbox_depth()

    offline = AmqpTransport(UNREACHABLE)
    relay = Relay(node.store, offline, network["village"], node.clock.now)
    began = time.monotonic()
    with pytest.raises(TransportError):
        relay.run_once()
    assert time.monotonic() - began < HANG_GUARD_S
    assert node.store.outbox_depth() == depth
    assert all(r["sent_at"] is None for r in outbox(node))

    # Offline is a normal state: the node records and decides; the service loop backs off.
    record(node, 1)
    closed = record(node, 1, escalate=False)[0]
    node.service.act(closed, lambda c, a, t: commands.consent(c, a, t))
    node.service.act(closed, lambda c, a, t: commands.accept(c, a, t, node.service.rules))
    stop = threading.Event()
    began = time.monotonic()
    relay.step(stop)  # logs and waits, never raises
    assert time.monotonic() - began < HANG_GUARD_S
    assert relay.backoff.attempt == 1
    assert node.store.outbox_depth() > depth
    assert relay.sent_total == 0
    offline.close()

    backlog = outbox(node)
    relay.transport = online = node.transport
    try:
        relay.step(stop)
        assert relay.backoff.attempt == 0  # success resets the backoff
        relay.drain()
    finally:
        online.close()
    assert all(r["sent_at"] is not None for r in outbox(node))
    up = [r["message_id"] for r in backlog if r["exchange"] == EXCHANGE_UP]
    assert len(up) == 3
    assert [m for m, _ in envelopes(take_all(amqp_url, node_queue_name(township)))] == up
    reports = [r["message_id"] for r in backlog if r["exchange"] == EXCHANGE_REPORT]
    assert [m for m, _ in envelopes(take_all(amqp_url, node_queue_name(network["county"])))] \
        == reports


@pytest.mark.parametrize("network", ["13"], indirect=True)
def test_events_of_one_case_arrive_in_sequence(network: dict[str, Any], amqp_url: str) -> None:
    """Two cases worked in interleaved steps: each case's reports reach the county in seq order."""
    node = network["node"]
    first, second = record(node, 2, escalate=False)
    rules = node.service.rules
    steps = [
        lambda c, a, t: commands.consent(c, a, t),
        lambda c, a, t: commands.accept(c, a, t, rules),
        lambda c, a, t: commands.mediate(c, a, t, rules),
        lambda c, a, t: commands.agree(c, a, t, rules, form="oral", terms="赔偿500元",
                                       effective_date=local_date(t)),
        lambda c, a, t: commands.perform(c, a, t),
        lambda c, a, t: commands.follow_up(c, a, t, honoured=True),  # closing needs it (issue 16)
        lambda c, a, t: commands.close(c, a, t, "已履行"),
    ]
    for step in steps:
        node.service.act(first, step)
        node.service.act(second, step)

    transport = node.transport
    assert isinstance(transport, AmqpTransport)
    received: list[tuple[str, int, str]] = []

    def collect(delivery: Delivery) -> None:
        for _, body in envelopes_of(delivery.body, delivery.headers, None):
            env = decode(body)
            received.append((env.case_id or "", env.seq, env.payload.state_to))  # type: ignore[union-attr]
        delivery.ack()

    def collected_all() -> bool:
        if len(received) < expected:
            transport.consume(node_queue_name(network["county"]), collect, timeout=0.5)
        return len(received) >= expected

    try:
        node.publish()
        assert node.store.outbox_depth() == 0
        expected = len(outbox(node))
        wait_until(collected_all, "every report at the county", 20, every=0)
    finally:
        transport.close()

    assert len(received) == expected
    for case_id in (first, second):
        seqs = [seq for cid, seq, _ in received if cid == case_id]
        events = node.store.load_events(case_id)
        reported = [e.seq for e in events if travels_as_report(e)]  # most notes do not travel
        assert seqs == reported
        assert seqs == sorted(seqs)
        assert [s for cid, _, s in received if cid == case_id][-1] == "CLOSED"
