"""A village's escalation on a real RabbitMQ travels signed and sealed (issue 15 item 3): what the
broker holds names no party (no name, ID number, phone, address, nor the facts), its headers sign
the exact bytes for the township; the township checks, opens and applies it, and keeps the parties
sealed at rest with its own data key, as before. A copy altered on the broker is refused.

Area codes are invented under city 3397, county 33 (see test_relay.py for the others).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pika
import pytest

from nodes.domain import commands
from nodes.keyring import process_keyring
from nodes.node import Node
from nodes.service import PartyInput
from protocol.areas import Tier
from protocol.reference import CaseSource, EscalationReason
from protocol.routing import node_key
from protocol.seal import FROM_HEADER, TO_HEADER, check_signature, routing_for
from protocol.topology import EXCHANGE_UP, node_queue, node_queue_name
from tests.support.amqp import delete_queues, pump
from tests.support.nodes import build_node

pytestmark = pytest.mark.broker

COUNTY, TOWNSHIP, VILLAGE = "339733000000", "339733101000", "339733101201"
TAP = "fengqiao.test.tap-339733"  # a copy of what reaches the township, as the broker holds it
NAME, ID_NUMBER, PHONE, ADDRESS = "欧阳娜娜", "330681199203154324", "13912345678", "状元村九组3号"
FACTS = "两家因院墙边界发生争执（签名测试）"
SECRETS = [s.encode("utf-8") for s in (NAME, ID_NUMBER, PHONE, ADDRESS, FACTS)]


def file_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


@pytest.fixture
def nodes(amqp_url: str, tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    queues = [node_queue_name(n) for n in (COUNTY, TOWNSHIP)] + [TAP]
    delete_queues(amqp_url, queues)
    township = build_node(tmp_path, TOWNSHIP, declare=False, broker_url=amqp_url)
    # The county's queue takes the reports (publishes are mandatory); the tap, a copy.
    township.transport.declare([township.queue, node_queue(COUNTY, Tier.COUNTY)])
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.queue_declare(TAP)
        channel.queue_bind(TAP, EXCHANGE_UP, node_key(VILLAGE))
    finally:
        connection.close()
    village = build_node(tmp_path, VILLAGE, declare=False, broker_url=amqp_url)
    try:
        yield village, township
    finally:
        village.close()
        township.close()
        delete_queues(amqp_url, queues)


def test_an_escalation_travels_signed_and_sealed_and_is_applied(
        amqp_url: str, nodes: tuple[Node, Node]) -> None:
    village, township = nodes
    case = village.service.new_case(
        source=CaseSource.APPLICATION, dispute_type="02", facts=FACTS,
        parties=[PartyInput("applicant", NAME, ID_NUMBER, PHONE, ADDRESS)])
    village.service.act(case.case_id, lambda c, a, t: commands.escalate(
        c, a, t, reason=EscalationReason.NO_AGREEMENT, consent_given=True))
    assert village.publish() == 3  # two reports and the dossier, confirmed

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        method, props, body = connection.channel().basic_get(TAP, auto_ack=True)
    finally:
        connection.close()
    assert method is not None
    # What the broker holds: no party, no facts, in any form.
    for secret in SECRETS:
        assert secret not in body
    assert b'"sealed":"x1:' in body
    # Its headers sign these exact bytes, from the village, for the township and this route.
    headers = dict(props.headers)
    assert (headers[FROM_HEADER], headers[TO_HEADER]) == (VILLAGE, TOWNSHIP)
    route = routing_for(EXCHANGE_UP, node_key(VILLAGE), TOWNSHIP)
    assert check_signature(body, headers, route, process_keyring().directory()) == VILLAGE

    consumer = township.consumer
    # The dossier, and the village's two reports (a township hears its subtree's, 2.1).
    pump(township.transport, township.queue.name, consumer, lambda: consumer.applied == 3)
    (party,) = township.store.parties(case.case_id)
    assert (party.name, party.id_number, party.phone, party.address) == (
        NAME, ID_NUMBER, PHONE, ADDRESS)
    assert township.store.load_case(case.case_id).facts["facts"] == FACTS  # type: ignore[union-attr]
    # At rest the parties are sealed with the township's own data key, as before.
    assert not any(s in file_bytes(township.config.database)
                   for s in SECRETS[:4])

    # The same message altered on the broker (one byte of the sealed token) is refused.
    at = body.index(b'"sealed":"x1:') + 40
    altered = body[:at] + (b"A" if body[at:at + 1] != b"A" else b"B") + body[at + 1:]
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(EXCHANGE_UP, node_key(VILLAGE), altered, properties=props,
                              mandatory=True)
    finally:
        connection.close()
    pump(township.transport, township.queue.name, consumer, lambda: consumer.quarantined == 1)
    reason = township.store.quarantined()[-1]["reason"]
    assert reason.startswith(f"signature_invalid: signature of {VILLAGE}")
    assert consumer.applied == 3
