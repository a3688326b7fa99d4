"""The consumer on a real RabbitMQ (DESIGN §3, §4 rules 2 and 3): a valid escalation is applied
once, a redelivery is acked and ignored, whatever fails validation or names a sender it may not
speak for is quarantined (locally and on the broker) without blocking the queue, and a message that
keeps crashing the node is dead-lettered by the quorum queue's delivery limit.

Area codes are invented under city 3397, one county per test (see test_relay.py).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest

from fengqiao.bootstrap import bootstrap
from hub.intake import on_case_escalated
from nodes.domain import commands
from nodes.messaging.amqp import AmqpTransport
from nodes.messaging.consumer import Consumer, Trust
from nodes.node import Node
from nodes.service import PartyInput
from protocol.areas import Tier
from protocol.envelope import Envelope, decode
from protocol.reference import CaseSource, EscalationReason
from protocol.routing import down_key, node_key
from protocol.topology import (
    DELIVERY_LIMIT,
    EXCHANGE_DOWN,
    EXCHANGE_REPORT,
    EXCHANGE_UP,
    QUEUE_DEAD,
    QUEUE_QUARANTINE,
    node_queue,
    node_queue_name,
)
from tests.support.amqp import delete_queues, pump, ready_count, take_ours
from tests.support.messages import FakeMessage, delivery
from tests.support.nodes import build_node
from tests.support.signed import route_headers
from tests.support.sql import rows

pytestmark = pytest.mark.broker

BURST = 150  # more than the consumer's prefetch of 100
PARTIES = [PartyInput("applicant", "王某", id_number="330681198001011232", phone="13900000001"),
           PartyInput("respondent", "赵某", phone="0575-87654321")]


# --------------------------------------------------------------------------- helpers


def publish(url: str, exchange: str, key: str, body: bytes, message_id: str | None = None,
            user_id: str | None = "", sign_as: str | None = None) -> None:
    """A foreign publisher (pika, not our transport); user_id '' means the connection's user.
    It signs as a node holding its key would (the envelope's sender unless `sign_as`): these
    tests are about the checks after the signature (tests/unit/test_signing.py)."""
    params = pika.URLParameters(url)
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        props = pika.BasicProperties(
            delivery_mode=2, content_type="application/json", message_id=message_id,
            user_id=params.credentials.username if user_id == "" else user_id,
            headers=route_headers(body, exchange, key, sign_as=sign_as))
        channel.basic_publish(exchange, key, body, properties=props, mandatory=True)
    finally:
        if connection.is_open:
            connection.close()


def publish_many(url: str, exchange: str, key: str, bodies: list[bytes]) -> None:
    params = pika.URLParameters(url)
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for body in bodies:
            props = pika.BasicProperties(delivery_mode=2, user_id=params.credentials.username,
                                         headers=route_headers(body, exchange, key))
            channel.basic_publish(exchange, key, body, properties=props, mandatory=True)
    finally:
        connection.close()


def escalate_cmd(case: Any, actor: Any, at: Any) -> None:
    commands.escalate(case, actor, at, reason=EscalationReason.CROSS_AREA, consent_given=True)


@dataclass
class Net:
    url: str
    county: str
    township: str
    village: str
    hub: Node  # its consumer takes the township's queue on its own transport
    folder: Path
    villages: dict[str, Node] = field(default_factory=dict)

    @property
    def queue(self) -> str:
        return node_queue_name(self.township)

    @property
    def transport(self) -> AmqpTransport:
        """The hub's broker connection: its consumer's deliveries and quarantine copies."""
        assert isinstance(self.hub.transport, AmqpTransport)
        return self.hub.transport

    @property
    def consumer(self) -> Consumer:
        return self.hub.consumer

    def village_node(self, code: str, url: str | None = None) -> Node:
        """The village's node, connecting to the broker as `url` says (the net's by default)."""
        if code not in self.villages:
            self.villages[code] = build_node(self.folder, code, declare=False,
                                             broker_url=url or self.url)
        return self.villages[code]

    def escalate_from(self, code: str, url: str | None = None) -> str:
        """Record and escalate a case at a village, and relay it to the broker."""
        node = self.village_node(code, url)
        case = node.service.new_case(source=CaseSource.APPLICATION, dispute_type="03",
                                     facts="宅基地边界纠纷（测试）", parties=PARTIES)
        node.service.act(case.case_id, escalate_cmd)
        node.publish()
        return case.case_id

    def escalation_body(self, code: str, case_id: str) -> bytes:
        node = self.villages[code]
        message_id = rows(node.config.database, "SELECT message_id FROM outbox WHERE case_id = ? "
                          "AND exchange = ? ORDER BY id DESC", (case_id, EXCHANGE_UP))[0][0]
        body = node.store.outbox_body(message_id)  # sealed at rest; as published
        assert body is not None
        return body

    def quarantine_rows(self) -> list[dict[str, Any]]:
        return self.hub.store.quarantined()  # bodies opened: they are sealed at rest

    def inbox(self) -> list[tuple[Any, ...]]:
        return rows(self.hub.config.database, "SELECT message_id FROM inbox")

    def strict(self) -> Consumer:
        """The hub's consumer as a node with `require_user_id = true` has it (same file, same
        broker connection)."""
        config = self.hub.config.model_copy(update={"require_user_id": True})
        return bootstrap(config, store=self.hub.store, transport=self.hub.transport).consumer

    def close(self) -> None:
        self.hub.close()
        for node in self.villages.values():
            node.close()


def make_net(url: str, tmp_path: Path, county: str) -> Net:
    county_id = f"3397{county}000000"
    township, village = f"3397{county}101000", f"3397{county}101201"
    delete_queues(url, [node_queue_name(n) for n in (county_id, township)])
    hub = build_node(tmp_path, township, declare=False, broker_url=url)
    # The county's queue takes the villages' reports, so nothing of ours goes unroutable. These
    # tests count what reaches the township on `up`: its report bindings (since 2.1, for red
    # flags; tests/integration/test_hostile_input.py covers them) are left out here.
    up_only = dataclasses.replace(hub.queue, bindings=tuple(
        (exchange, key) for exchange, key in hub.queue.bindings if exchange != EXCHANGE_REPORT))
    hub.transport.declare([up_only, node_queue(county_id, Tier.COUNTY)])
    return Net(url, county_id, township, village, hub, tmp_path)


def fresh_id(body: bytes, **changes: Any) -> tuple[bytes, str]:
    """The same envelope with a new message id (and any other top-level changes)."""
    data = json.loads(body)
    data.update(message_id=str(uuid.uuid4()), **changes)
    return json.dumps(data, ensure_ascii=False).encode(), data["message_id"]


# --------------------------------------------------------------------------- tests

@pytest.mark.parametrize("net", ["21"], indirect=True)
def test_escalation_applied_once_duplicate_acked(net: Net) -> None:
    consumer = net.consumer
    case_id = net.escalate_from(net.village)
    pump(net.transport, net.queue, consumer, lambda: consumer.applied == 1)

    row = net.hub.store.case_rows()[0]
    assert (row["case_id"], row["state"], row["tier"]) == (case_id, "REGISTERED", "township")
    assert (row["origin_node"], row["escalated_from"]) == (net.village, net.village)
    parties = net.hub.store.parties(case_id)
    assert [(p.role, p.name, p.id_number, p.phone) for p in parties] == \
        [(p.role, p.name, p.id_number, p.phone) for p in PARTIES]
    assert [p.party_hash for p in parties] == \
        [p.party_hash for p in net.villages[net.village].store.parties(case_id)]
    events_before = len(net.hub.store.load_events(case_id))

    # A foreign publisher re-sends the identical message (same body, same message id).
    body = net.escalation_body(net.village, case_id)
    publish(net.url, EXCHANGE_UP, node_key(net.village), body, str(decode(body).message_id))
    pump(net.transport, net.queue, consumer, lambda: consumer.duplicates == 1)
    # An old event of the same case under a new message id is recorded but not applied again.
    stale, _ = fresh_id(body)
    publish(net.url, EXCHANGE_UP, node_key(net.village), stale)
    pump(net.transport, net.queue, consumer, lambda: consumer.stale == 1)

    assert (consumer.applied, consumer.duplicates, consumer.stale, consumer.quarantined) == \
        (1, 1, 1, 0)
    assert len(net.hub.store.load_events(case_id)) == events_before
    assert len(net.hub.store.case_rows()) == 1
    inbox = len(net.inbox())
    assert inbox == 2  # the applied one and the stale one; the duplicate adds nothing
    assert ready_count(net.url, net.queue) == 0


@pytest.mark.parametrize("net", ["22"], indirect=True)
def test_invalid_messages_quarantined_and_queue_keeps_moving(net: Net) -> None:
    consumer = net.consumer
    village = net.village_node(net.village)
    first = village.service.new_case(source=CaseSource.APPLICATION, dispute_type="03",
                                     facts="宅基地边界纠纷（测试）", parties=PARTIES)
    village.service.act(first.case_id, escalate_cmd)
    valid = next(r.body for r in village.store.unsent() if r.exchange == EXCHANGE_UP)

    data = json.loads(valid)
    mismatch = {**data, "schema_name": "case_decision", "message_id": str(uuid.uuid4())}
    bad = [
        (b'{"message_id": "', "not valid UTF-8 JSON"),
        (fresh_id(valid, schema_version="3.0")[0], "unsupported major version 3"),
        (json.dumps(mismatch).encode(), "does not match payload type"),
        (fresh_id(valid, sender="339722101999")[0], "village part 999 is outside 001-399"),
    ]
    for body, _ in bad:
        publish(net.url, EXCHANGE_UP, node_key(net.village), body)
    # A burst larger than the prefetch: each quarantine copy waits for its confirm while more
    # deliveries arrive (this once nested handlers until RecursionError).
    burst = [f'{{"burst": {i}'.encode() for i in range(BURST)]
    publish_many(net.url, EXCHANGE_UP, node_key(net.village), burst)
    # Valid traffic behind the bad messages, published by the village's own relay.
    village.publish()

    pump(net.transport, net.queue, consumer,
         lambda: consumer.applied == 1 and consumer.quarantined == len(bad) + BURST)
    assert net.hub.store.load_case(first.case_id).state.value == "REGISTERED"  # type: ignore[union-attr]
    assert ready_count(net.url, net.queue) == 0

    local = net.quarantine_rows()
    assert len(local) == len(bad) + BURST
    assert [row["body"] for row in local[len(bad):]] == burst
    for row, (body, reason) in zip(local[:len(bad)], bad, strict=True):
        assert reason in row["reason"]
        assert row["body"] == body
        assert row["routing_key"] == node_key(net.village)
        assert row["user_id"] == "guest"
    on_broker = take_ours(net.url, QUEUE_QUARANTINE, node_id=net.township)
    assert [body for _, body in on_broker] == [row["body"] for row in local]
    for (props, _), row in zip(on_broker, local, strict=True):
        assert props.headers["x-reason"] == row["reason"][:500]
        assert props.headers["x-routing-key"] == node_key(net.village)


@pytest.mark.parametrize("net", ["23"], indirect=True)
def test_senders_that_may_not_speak_are_quarantined(net: Net) -> None:
    consumer = net.consumer
    neighbour = net.village[:-3] + "202"

    # 1. A broker user that is another valid node: in-process Trust with a fake delivery.
    node = net.village_node(net.village)
    case = node.service.new_case(source=CaseSource.APPLICATION, dispute_type="03",
                                 facts="宅基地边界纠纷（测试）", parties=PARTIES)
    node.service.act(case.case_id, escalate_cmd)
    body = next(r.body for r in node.store.unsent() if r.exchange == EXCHANGE_UP)
    forged = FakeMessage()
    consumer.handle(delivery(body, exchange=EXCHANGE_UP, routing_key=node_key(net.village),
                             user_id=neighbour, message=forged,
                             headers=route_headers(body, EXCHANGE_UP, node_key(net.village))))
    assert forged.acked
    assert consumer.quarantined == 1
    assert consumer.applied == 0
    assert f"forged sender: broker user '{neighbour}' published as {net.village}" in \
        net.quarantine_rows()[-1]["reason"]
    trust = Trust(net.township, net.hub.config.area_tree())
    assert trust.check(decode(body), delivery(body, exchange=EXCHANGE_UP,
                                              routing_key=node_key(net.village),
                                              user_id=net.village)) is None

    # 2. The shared 'guest' user where validated node users are required (real broker).
    strict = net.strict()
    shared, _ = fresh_id(body)
    publish(net.url, EXCHANGE_UP, node_key(net.village), shared)
    pump(net.transport, net.queue, strict, lambda: strict.quarantined == 1)
    assert "shared broker user 'guest' is not accepted here" in net.quarantine_rows()[-1]["reason"]

    # 3. A village of another township, delivered here by an extra binding: signed for its own
    #    township, so refused as a replay before anything else is read.
    stranger = f"{net.county[:6]}102201"
    channel_conn = pika.BlockingConnection(pika.URLParameters(net.url))
    try:
        channel_conn.channel().queue_bind(net.queue, EXCHANGE_UP, node_key(stranger))
    finally:
        channel_conn.close()
    stranger_case = net.escalate_from(stranger)
    pump(net.transport, net.queue, consumer, lambda: consumer.quarantined == 2)
    assert f"was signed for {stranger[:9]}000, not for {net.township}" in \
        net.quarantine_rows()[-1]["reason"]

    # 4. A child's escalation on the wrong exchange (the down binding of this hub), signed by
    #    the hub's parent, the one node that signs what comes down to it.
    wrong, _ = fresh_id(body)
    publish(net.url, EXCHANGE_DOWN, down_key(net.township), wrong, sign_as=net.county)
    pump(net.transport, net.queue, consumer, lambda: consumer.quarantined == 3)
    assert "case_escalated arrived on fengqiao.down, expected fengqiao.up" in \
        net.quarantine_rows()[-1]["reason"]

    assert consumer.applied == strict.applied == 0
    assert net.hub.store.case_rows() == []
    assert net.hub.store.load_case(stranger_case) is None
    assert ready_count(net.url, net.queue) == 0
    on_broker = take_ours(net.url, QUEUE_QUARANTINE, node_id=net.township)
    assert len(on_broker) == 4
    assert on_broker[0][0].headers["x-user-id"] == neighbour


@pytest.mark.parametrize("net", ["24"], indirect=True)
def test_poison_message_dead_lettered_after_delivery_limit(net: Net) -> None:
    attempts: list[str] = []
    poison: list[str] = []
    apply = partial(on_case_escalated, net.hub.service)

    def on_escalated(env: Envelope) -> None:
        if env.case_id in poison:
            attempts.append(str(env.message_id))
            raise RuntimeError("bug in this node's handler")
        apply(env)

    consumer = net.consumer
    consumer.handlers = {"case_escalated": on_escalated}
    poison.append(net.escalate_from(net.village))
    good = net.escalate_from(net.village)
    poison_id = str(decode(net.escalation_body(net.village, poison[0])).message_id)

    dead: list[tuple[pika.BasicProperties, bytes]] = []

    def dead_lettered() -> bool:
        dead.extend(take_ours(net.url, QUEUE_DEAD, message_ids={poison_id}))
        return bool(dead) and consumer.applied == 1

    pump(net.transport, net.queue, consumer, dead_lettered, limit=30)
    assert len(attempts) >= DELIVERY_LIMIT
    assert set(attempts) == {poison_id}
    assert len(dead) == 1
    assert decode(dead[0][1]).case_id == poison[0]
    assert dead[0][0].headers.get("x-first-death-reason") == "delivery_limit"
    assert dead[0][0].headers.get("x-first-death-queue") == net.queue
    assert [r["case_id"] for r in net.hub.store.case_rows()] == [good]
    assert consumer.quarantined == 0
    assert net.inbox() == [(str(decode(net.escalation_body(net.village, good)).message_id),)]
    assert ready_count(net.url, net.queue) == 0


# --------------------------------------------------------------------------- private broker

@pytest.mark.fault
def test_validated_node_user_accepted_forged_one_quarantined(private_rabbit: Any,
                                                             tmp_path: Path) -> None:
    """With one broker user per node (as deploy/ sets up), RabbitMQ validates user_id and the hub
    trusts it: the village's own user passes `require_user_id`, another node's user is forged.

    Users are created on a private broker: the shared one's users are not ours to change."""
    guest_url = private_rabbit.amqp_url
    net = make_net(guest_url, tmp_path, "25")
    forger = f"{net.county[:6]}101202"
    port = private_rabbit.amqp_port
    for user in (net.village, forger):
        private_rabbit.ctl("add_user", user, f"pw-{user}")
        private_rabbit.ctl("set_permissions", "-p", "/", user, "", "fengqiao\\..*", "")
    own_url = f"amqp://{net.village}:pw-{net.village}@127.0.0.1:{port}/%2F"
    forger_url = f"amqp://{forger}:pw-{forger}@127.0.0.1:{port}/%2F"
    try:
        consumer = net.strict()
        case_id = net.escalate_from(net.village, url=own_url)
        pump(net.transport, net.queue, consumer, lambda: consumer.applied == 1)
        assert net.hub.store.load_case(case_id) is not None

        body, _ = fresh_id(net.escalation_body(net.village, case_id), seq=99)
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            publish(forger_url, EXCHANGE_UP, node_key(net.village), body, user_id=net.village)
        assert refused.value.reply_code == 406  # RabbitMQ validates user_id itself
        publish(forger_url, EXCHANGE_UP, node_key(net.village), body)
        pump(net.transport, net.queue, consumer, lambda: consumer.quarantined == 1)
        row = net.quarantine_rows()[-1]
        assert row["user_id"] == forger
        assert f"forged sender: broker user '{forger}' published as {net.village}" in row["reason"]
        assert consumer.applied == 1
        assert len(net.hub.store.load_events(case_id)) == 1
    finally:
        net.close()
