"""Bundles on a real RabbitMQ (protocol 1.3, issue 5): a backlog travels packed, one broker message
per bundle, and the hub still treats every envelope on its own: applied once, a bad part
quarantined with its reason while its neighbours apply, a wrongly framed bundle quarantined whole,
and a part that crashes the handler sends the whole bundle back unapplied.

Uses the county codes 3397 26–29 (see test_consumer for the others).
"""

from __future__ import annotations

import json
from functools import partial

import pika
import pytest

from hub.intake import on_case_escalated
from protocol.bundle import BUNDLE_CONTENT_TYPE, BUNDLE_HEADER, pack
from protocol.envelope import Envelope
from protocol.reference import CaseSource
from protocol.routing import node_key
from protocol.topology import EXCHANGE_UP
from tests.integration.test_consumer import PARTIES, Net, escalate_cmd, fresh_id
from tests.support.amqp import pump, ready_count
from tests.support.signed import route_headers

pytestmark = pytest.mark.broker
BACKLOG = 30


def backlog(net: Net, n: int) -> list[bytes]:
    """`n` escalations recorded at the village and not yet relayed: their bodies, in order."""
    village = net.village_node(net.village)
    for i in range(n):
        case = village.service.new_case(source=CaseSource.APPLICATION, dispute_type="03",
                                        facts=f"宅基地边界纠纷（打包测试 {i}）", parties=PARTIES)
        village.service.act(case.case_id, escalate_cmd)
    return [r.body for r in village.store.unsent(10_000) if r.exchange == EXCHANGE_UP]


def publish_bundle(net: Net, body: bytes, declared: object) -> None:
    """A foreign publisher (pika) sending a bundle as the village's relay would."""
    params = pika.URLParameters(net.url)
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        props = pika.BasicProperties(delivery_mode=2, content_type=BUNDLE_CONTENT_TYPE,
                                     headers={BUNDLE_HEADER: declared, **route_headers(
                                         body, EXCHANGE_UP, node_key(net.village),
                                         sign_as=net.village)},
                                     user_id=params.credentials.username)
        channel.basic_publish(EXCHANGE_UP, node_key(net.village), body, properties=props,
                              mandatory=True)
    finally:
        connection.close()


@pytest.mark.parametrize("net", ["26"], indirect=True)
def test_backlog_travels_as_one_bundle_and_is_applied_once(net: Net) -> None:
    bodies = backlog(net, BACKLOG)
    village = net.villages[net.village]
    assert village.publish() == 3 * BACKLOG  # 2 reports + 1 escalation per case, all confirmed
    assert ready_count(net.url, net.queue, expected=1) == 1  # 30 escalations, one message

    consumer = net.consumer
    pump(net.transport, net.queue, consumer, lambda: consumer.applied == BACKLOG)
    assert len(net.hub.store.case_rows()) == BACKLOG
    assert ready_count(net.url, net.queue) == 0

    # The same bundle again (a redelivery after a lost ack): every part is a duplicate.
    publish_bundle(net, pack(bodies), BACKLOG)
    pump(net.transport, net.queue, consumer, lambda: consumer.duplicates == BACKLOG)
    assert (consumer.applied, consumer.quarantined) == (BACKLOG, 0)
    assert len(net.hub.store.case_rows()) == BACKLOG
    assert len(net.inbox()) == BACKLOG


@pytest.mark.parametrize("net", ["27"], indirect=True)
def test_bad_parts_are_quarantined_one_by_one_and_the_rest_applied(net: Net) -> None:
    good = backlog(net, 2)
    forged, _ = fresh_id(good[0], sender=net.village[:-3] + "299")
    garbage = b'{"message_id": "not a uuid"'
    publish_bundle(net, pack([good[0], garbage, forged, good[1]]), 4)

    consumer = net.consumer
    pump(net.transport, net.queue, consumer,
         lambda: consumer.applied == 2 and consumer.quarantined == 2)
    rows = net.quarantine_rows()
    assert [r["body"] for r in rows] == [garbage, forged]
    assert "not valid UTF-8 JSON" in rows[0]["reason"]
    assert "routing key" in rows[1]["reason"] or "forged" in rows[1]["reason"]
    assert len(net.hub.store.case_rows()) == 2
    assert ready_count(net.url, net.queue) == 0


@pytest.mark.parametrize("net", ["28"], indirect=True)
def test_a_wrongly_framed_bundle_is_quarantined_whole(net: Net) -> None:
    good = backlog(net, 2)
    body = pack(good)
    publish_bundle(net, body, 3)  # says 3, holds 2
    publish_bundle(net, body, "two")  # not a number

    consumer = net.consumer
    pump(net.transport, net.queue, consumer, lambda: consumer.quarantined == 2)
    reasons = [r["reason"] for r in net.quarantine_rows()]
    assert "bundle declares 3 parts but holds 2" in reasons[0]
    assert "is not a whole number" in reasons[1]
    assert [r["body"] for r in net.quarantine_rows()] == [body, body]
    assert consumer.applied == 0
    assert net.hub.store.case_rows() == []
    assert ready_count(net.url, net.queue) == 0


@pytest.mark.parametrize("net", ["29"], indirect=True)
def test_a_crashing_part_sends_the_whole_bundle_back_unapplied(net: Net) -> None:
    bodies = backlog(net, 3)
    crash_once = {json.loads(bodies[1])["case_id"]}
    seen_after_crash: list[int] = []
    store, apply = net.hub.store, partial(on_case_escalated, net.hub.service)

    def on_escalated(env: Envelope) -> None:
        if env.case_id in crash_once:
            crash_once.clear()
            seen_after_crash.append(len(store.case_rows()))  # inside the bundle's transaction
            raise RuntimeError("a bug that goes away on retry")
        apply(env)

    publish_bundle(net, pack(bodies), 3)
    consumer = net.consumer
    consumer.handlers = {"case_escalated": on_escalated}
    pump(net.transport, net.queue, consumer, lambda: len(net.hub.store.case_rows()) == 3)
    assert seen_after_crash == [1]  # the first part was applied when the second crashed ...
    inbox = {m for (m,) in net.inbox()}
    # ... and rolled back with the bundle: each part was applied exactly once, on the retry.
    assert inbox == {json.loads(b)["message_id"] for b in bodies}
    assert consumer.duplicates == 0
    assert consumer.quarantined == 0
    assert ready_count(net.url, net.queue) == 0

