"""The broker's side of the bounds (issue 15 item 4), on a private RabbitMQ configured with
`deploy/rabbitmq/rabbitmq.conf` and the shared queues' policies as `deploy definitions` makes them:

- a publish over `max_message_size` is refused (channel closed, 406), one at the limit is taken;
- the policies attach to the shared queues as the nodes declare them (same arguments as ever, so
  a re-declare is no 406), and their overflow behaves as `protocol.topology` says: quarantine
  drops its oldest message, dead-letter refuses (nacks) the newest.

- a hub paces a flooding village (`nodes.messaging.pacing`): its messages over the hourly limit
  are taken off the queue and acked unchecked, so its sibling's escalation behind them is applied
  first; a forged one among them is quarantined at replay (locally and on the broker), and a
  restart with messages deferred loses none and applies none twice.

The limits are the real ones except the lengths of the overflow test, cut to 3 (same policy
otherwise), so the test does not publish 10,000 messages, and the hub's hourly limit, cut to 3.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest

from nodes.messaging.delivery import Delivery
from ops.definitions import definitions
from protocol.areas import Tier
from protocol.topology import (
    EXCHANGE_DEAD,
    EXCHANGE_QUARANTINE,
    EXCHANGES,
    MAX_BROKER_MESSAGE_BYTES,
    QUEUE_DEAD,
    QUEUE_QUARANTINE,
    SHARED_QUEUES,
)
from tests.integration.test_consumer import make_net
from tests.support.amqp import pump, ready_count, take_ours
from tests.support.broker import PrivateRabbit
from tests.support.deployed import private_rabbit_for_module
from tests.support.nodes import build_node
from tests.support.wait import wait_until
from tests.unit.test_limits import escalation, registered
from tests.unit.test_pacing import case, forged

ROOT = Path(__file__).resolve().parents[2]
VHOST = "/"


@pytest.fixture(scope="module")
def rabbit() -> Iterator[PrivateRabbit]:
    """A private broker whose config has the sample's lines appended before it starts."""
    sample = (ROOT / "deploy/rabbitmq/rabbitmq.conf").read_text(encoding="utf-8")
    real = PrivateRabbit.start

    def start(self: PrivateRabbit, timeout: float = 60) -> PrivateRabbit:
        with (self.base_dir / "rabbitmq.conf").open("a", encoding="utf-8") as conf:
            conf.write(sample)
        return real(self, timeout)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PrivateRabbit, "start", start)
        yield from private_rabbit_for_module()


def api(rabbit: PrivateRabbit, method: str, path: str, body: Any = None) -> Any:
    base = urllib.parse.urlsplit(rabbit.management_url or "")
    request = urllib.request.Request(
        f"http://{base.hostname}:{base.port}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json"})
    user, password = base.username or "", base.password or ""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        text = answer.read()
    return json.loads(text) if text else None


def declare_as_nodes_do(channel: Any) -> None:
    for exchange in EXCHANGES:
        channel.exchange_declare(exchange.name, exchange.type, durable=True)
    for queue in SHARED_QUEUES:
        channel.queue_declare(queue.name, durable=True, arguments=queue.arguments)
        for source, key in queue.bindings:
            channel.queue_bind(queue.name, source, key)


def put_policies(rabbit: PrivateRabbit, max_length: int | None = None) -> None:
    for policy in definitions([("330681111000", Tier.TOWNSHIP)])["policies"]:
        definition = dict(policy["definition"])
        if max_length is not None:
            definition["max-length"] = max_length
        api(rabbit, "PUT", f"/api/policies/%2F/{policy['name']}", {
            "pattern": policy["pattern"], "apply-to": policy["apply-to"],
            "priority": policy["priority"], "definition": definition})


@pytest.fixture
def channel(rabbit: PrivateRabbit) -> Iterator[Any]:
    connection = pika.BlockingConnection(pika.URLParameters(rabbit.amqp_url))
    try:
        yield connection.channel()
    finally:
        if connection.is_open:
            connection.close()


def test_the_broker_refuses_a_message_over_the_limit_and_takes_one_at_it(
        rabbit: PrivateRabbit, channel: Any) -> None:
    channel.confirm_delivery()
    channel.queue_declare("limits.size", durable=True)
    channel.basic_publish("", "limits.size", b"x" * MAX_BROKER_MESSAGE_BYTES)
    assert channel.queue_declare("limits.size", passive=True).method.message_count == 1
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        channel.basic_publish("", "limits.size", b"x" * (MAX_BROKER_MESSAGE_BYTES + 1))
    assert refused.value.reply_code == 406
    assert "max size" in refused.value.reply_text


def test_the_policies_attach_to_the_shared_queues_and_a_redeclare_still_passes(
        rabbit: PrivateRabbit, channel: Any) -> None:
    declare_as_nodes_do(channel)
    put_policies(rabbit)
    declare_as_nodes_do(channel)  # a node starting again: same arguments, no 406
    wanted = {p["name"]: p["definition"] for p in
              definitions([("330681111000", Tier.TOWNSHIP)])["policies"]}
    for queue in (QUEUE_QUARANTINE, QUEUE_DEAD):
        path = f"/api/queues/%2F/{urllib.parse.quote(queue, safe='')}"
        found = wait_until(lambda p=path: (q := api(rabbit, "GET", p)).get("policy") and q,
                           f"the policy on {queue} (the management API's stats lag)")
        assert found["policy"] in wanted
        assert found["effective_policy_definition"] == wanted[found["policy"]]


def test_quarantine_drops_its_oldest_and_dead_letter_refuses_the_newest(
        rabbit: PrivateRabbit, channel: Any) -> None:
    declare_as_nodes_do(channel)
    channel.queue_purge(QUEUE_QUARANTINE)
    channel.queue_purge(QUEUE_DEAD)
    put_policies(rabbit, max_length=3)
    for queue in (QUEUE_QUARANTINE, QUEUE_DEAD):  # a policy reaches a queue a moment later
        path = f"/api/queues/%2F/{urllib.parse.quote(queue, safe='')}"
        wait_until(lambda p=path: api(rabbit, "GET", p).get("effective_policy_definition", {})
                   .get("max-length") == 3, f"the cut policy on {queue}")
    try:
        channel.confirm_delivery()
        for n in range(5):
            channel.basic_publish(EXCHANGE_QUARANTINE, "", f"q{n}".encode())
        refused = 0
        for n in range(5):
            try:
                channel.basic_publish(EXCHANGE_DEAD, "", f"d{n}".encode())
            except pika.exceptions.NackError:
                refused += 1
        kept = []
        while (got := channel.basic_get(QUEUE_QUARANTINE, auto_ack=True))[0] is not None:
            kept.append(got[2])
        assert kept == [b"q2", b"q3", b"q4"]  # the oldest two went
        dead = []
        while (got := channel.basic_get(QUEUE_DEAD, auto_ack=True))[0] is not None:
            dead.append(got[2])
        # What it held stayed, the newest were refused (a quorum queue over its length enters
        # its refusing state after the message that crossed the limit: one more is kept).
        assert dead == [f"d{n}".encode() for n in range(len(dead))]
        assert 3 <= len(dead) <= 4
        assert refused == 5 - len(dead)
    finally:
        put_policies(rabbit)


def publish_as_sent(url: str, deliveries: list[Delivery]) -> None:
    """A village's messages on `up`, with their signature headers, as its relay publishes them."""
    params = pika.URLParameters(url)
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for d in deliveries:
            props = pika.BasicProperties(delivery_mode=2, headers=d.headers,
                                         user_id=params.credentials.username)
            channel.basic_publish(d.exchange, d.routing_key, d.body, properties=props,
                                  mandatory=True)
    finally:
        connection.close()


def test_a_flooding_village_waits_behind_its_sibling_and_a_forgery_is_refused_at_replay(
        rabbit: PrivateRabbit, tmp_path: Path) -> None:
    net = make_net(rabbit.amqp_url, tmp_path, "61")
    flooder, sibling = net.village, net.village[:-3] + "202"
    try:
        assert net.hub.consumer.pacer is not None
        net.hub.consumer.pacer.per_hour = 3
        now = datetime.now(UTC)
        flood = [escalation(flooder, n, now, to=net.township) for n in range(1, 9)]
        flood[5] = forged(flood[5], flood[6])  # case 6: signed over another body
        publish_as_sent(net.url, [*flood, escalation(sibling, 1, now, to=net.township)])
        consumer = net.consumer
        pump(net.transport, net.queue, consumer, lambda: case(sibling, 1) in registered(net.hub))
        assert registered(net.hub) == [*(case(flooder, n) for n in (1, 2, 3)), case(sibling, 1)]
        assert net.hub.store.deferred_size()[0] == 5
        assert ready_count(net.url, net.queue) == 0  # all acked: the five wait in the file
        assert net.hub.store.quarantined() == []  # nothing of them checked yet
        # The hub restarts before their turn: they wait in its file, not on the broker.
        net.hub.close()
        net.hub = build_node(tmp_path, net.township, declare=False, broker_url=net.url,
                             data_key=net.hub.config.data_key)
        assert net.hub.consume() == 5  # nothing more on the queue; the five deferred
        assert registered(net.hub) == [*(case(flooder, n) for n in (1, 2, 3)), case(sibling, 1),
                                       *(case(flooder, n) for n in (4, 5, 7, 8))]
        refused = net.hub.store.quarantined()
        assert [r["reason"].split(":")[0] for r in refused] == ["signature_invalid"]
        copies = take_ours(net.url, QUEUE_QUARANTINE, node_id=net.township)
        assert [c[0].headers["x-reason"].split(":")[0] for c in copies] == ["signature_invalid"]
        assert net.hub.store.deferred_size() == (0, 0)
    finally:
        net.close()
