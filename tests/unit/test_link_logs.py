"""What the log says about the broker link (issue 16 item 8): a wrong password is logged as
`broker_auth_failed` with a one-line reason and counted, never as an outage; a reconnect is
logged once, with how long the link was down; a backlog that drained is logged with how many
messages and how long. In-memory broker and stand-in transports: no RabbitMQ needed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from fengqiao.bootstrap import bootstrap
from nodes.messaging.amqp_errors import connect_error
from nodes.messaging.delivery import Delivery
from nodes.messaging.link import AUTH_LOG_EVERY_S, Backlog, LinkHealth
from nodes.messaging.memory import MemoryBroker
from nodes.messaging.port import BrokerAuthError, TransportError
from nodes.messaging.runtime import NodeRuntime
from nodes.node import Node
from nodes.records import OutboxRow
from nodes.service import PartyInput
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import Tier
from protocol.reference import CaseSource
from protocol.topology import QueueSpec, node_queue
from tests.support.nodes import build_node, node_config
from tests.support.wait import wait_until

VILLAGE = "330681111242"
COUNTY = "330681000000"
REFUSED = ("ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details "
           "see the broker logfile.")


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class AmqpReply(Exception):
    """Stands in for py-amqp's connection errors: a reply code and text (what is read)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"({code}) {text}")
        self.reply_code, self.reply_text = code, text


def wrapped(cause: BaseException) -> BaseException:
    """`cause` as kombu hands it on: inside another error."""
    try:
        try:
            raise cause
        except BaseException as inner:
            raise RuntimeError("OperationalError") from inner
    except RuntimeError as outer:
        return outer


# --- telling a refused login from an outage -----------------------------------------------

def test_a_refused_login_is_told_apart_from_an_unreachable_broker() -> None:
    refused = connect_error(wrapped(AmqpReply(403, REFUSED)), VILLAGE)
    assert isinstance(refused, BrokerAuthError)
    assert refused.reason.startswith(f"user {VILLAGE}: wrong password or unknown user")
    assert "ACCESS_REFUSED" in refused.reason
    assert "\n" not in refused.reason
    vhost = connect_error(AmqpReply(530, "NOT_ALLOWED - access to vhost 'fengqiao' refused for "
                                         "user 'x'"))
    assert isinstance(vhost, BrokerAuthError)
    assert "virtual host" in vhost.reason
    for outage in (ConnectionRefusedError(111, "Connection refused"), TimeoutError(),
                   AmqpReply(320, "CONNECTION_FORCED - broker forced connection closure")):
        error = connect_error(wrapped(outage))
        assert not isinstance(error, BrokerAuthError)
        assert str(error) == "cannot reach broker: RuntimeError"


# --- the relay ------------------------------------------------------------------------------

class Refusing:
    """A transport whose broker refuses this node's login, on every call; a publish wraps the
    refusal of the connect it needed, as `AmqpTransport.publish` does."""

    user_id = VILLAGE

    def __init__(self) -> None:
        self.calls = 0

    def _refuse(self) -> None:
        self.calls += 1
        raise BrokerAuthError(f"user {VILLAGE}: wrong password or unknown user ({REFUSED})")

    def declare(self, queues: Iterable[QueueSpec], *, passive: bool = False) -> None:
        self._refuse()

    def publish(self, rows: Sequence[OutboxRow]) -> list[int]:
        try:
            self._refuse()
        except BrokerAuthError as exc:
            raise TransportError(f"publish failed after 0 confirmed: {exc}") from exc
        return []

    def publish_raw(self, exchange: str, routing_key: str, body: bytes,
                    headers: dict[str, Any] | None = None, persistent: bool = True) -> None:
        try:
            self._refuse()
        except BrokerAuthError as exc:
            raise TransportError(f"publish to {exchange} failed: {exc}") from exc

    def consume_batches(self, queue_name: str, handler: Callable[[list[Delivery]], None],
                        timeout: float, max_batch: int = 50) -> None:
        self._refuse()

    def drain_queue(self, queue_name: str, handler: Callable[[Delivery], None],
                    limit: int = 10_000) -> int:
        self._refuse()
        return 0

    def heartbeat_check(self) -> None:
        pass  # never connected: nothing to keep alive

    def close(self) -> None:
        pass


def new_case(node: Node) -> None:
    node.service.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts="测试",
                          parties=[PartyInput("applicant", "张某")])


def events(logs: Sequence[Mapping[str, Any]], name: str) -> list[Mapping[str, Any]]:
    return [e for e in logs if e["event"] == name]


NOW = threading.Event()  # set: every wait of the relay returns at once
NOW.set()


def test_a_wrong_password_is_logged_as_that_counted_and_not_as_an_outage(tmp_path: Path) -> None:
    node = build_node(tmp_path, VILLAGE, declare=False)
    try:
        new_case(node)
        relay, ticks = node.relay, Ticks()
        relay.transport = Refusing()
        relay.link = LinkHealth(ticks)
        with capture_logs() as logs:
            relay.step(NOW)
            ticks.now += 30
            relay.step(NOW)  # the same refusal again, soon after: counted, not logged again
            ticks.now += AUTH_LOG_EVERY_S
            relay.step(NOW)  # still refused ten minutes on: logged again, with the count
        refused = events(logs, "broker_auth_failed")
        assert [(e["attempts"], e["log_level"]) for e in refused] == [(1, "error"), (3, "error")]
        assert refused[0]["reason"].startswith(f"user {VILLAGE}: wrong password")
        assert relay.link.auth_failures == 3
        assert events(logs, "relay.broker_unavailable") == []  # not an outage
        assert node.store.outbox_depth() >= 1  # nothing lost
    finally:
        node.close()


def test_an_outage_then_one_reconnect_line_and_one_drained_line(tmp_path: Path) -> None:
    broker = MemoryBroker()
    node = build_node(tmp_path, VILLAGE, broker=broker)
    broker.connect().declare([node_queue(COUNTY, Tier.COUNTY)])  # takes the village's reports
    try:
        ticks = Ticks()
        relay = node.relay
        relay.link, relay.backlog = LinkHealth(ticks), Backlog(ticks)
        broker.stop()
        for _ in range(3):
            new_case(node)
        waiting = node.store.outbox_depth()
        with capture_logs() as logs:
            relay.step(NOW)
            ticks.now += 100
            relay.step(NOW)
            during = [e["event"] for e in logs]
            ticks.now += 80  # three minutes after the first failure
            broker.start()
            relay.step(NOW)  # the backlog goes
            ticks.now += 2
            relay.step(NOW)  # nothing left
            relay.step(NOW)
        assert during == ["relay.broker_unavailable", "relay.broker_unavailable"]
        (back,) = events(logs, "broker_reconnected")
        assert (back["link"], back["down_s"]) == ("relay", 180.0)
        (drained,) = events(logs, "outbox_drained")
        assert (drained["count"], drained["waited_s"], drained["drain_s"]) == (waiting, 182.0, 2.0)
        assert events(logs, "broker_auth_failed") == []
        assert relay.outbox_depth() == 0  # confirmed (the marks are written lazily)
    finally:
        node.close()


def test_a_node_logs_one_reconnect_when_its_last_link_is_back() -> None:
    ticks = Ticks()
    link = LinkHealth(ticks)
    with capture_logs() as logs:
        assert link.failed("relay", TransportError("cannot reach broker: OSError")) is False
        ticks.now += 5
        link.failed("consumer", TransportError("consume failed"))
        ticks.now += 10
        link.succeeded("relay")  # the consumer's link is still down: nothing yet
        assert logs == []
        ticks.now += 1
        link.succeeded("consumer")
        link.succeeded("consumer")  # up already: nothing more
    assert [(e["event"], e["link"], e["down_s"]) for e in logs] == \
        [("broker_reconnected", "consumer", 16.0)]
    assert link.outages == 1


# --- the service ----------------------------------------------------------------------------

def test_a_running_node_with_a_wrong_password_logs_no_outage(tmp_path: Path) -> None:
    """Relay, heartbeat and consumer all meet the refusal: `broker_auth_failed` once (its
    repeats counted), no `broker_unavailable` from either thread."""
    config = node_config(tmp_path, VILLAGE)
    bootstrap(config, broker=MemoryBroker()).close()  # the file, as `node init` leaves it
    transports: list[Refusing] = []

    def build() -> Node:
        transports.append(Refusing())
        return bootstrap(config, transport=transports[-1])

    runtime = NodeRuntime(config, build)
    with capture_logs() as logs:
        runtime.start()
        try:
            wait_until(lambda: runtime.link.auth_failures >= 3, "three refused logins", 10.0)
        finally:
            runtime.stop(10.0)
    assert len(events(logs, "broker_auth_failed")) == 1
    assert {e["link"] for e in events(logs, "broker_auth_failed")} <= {"relay", "consumer"}
    assert events(logs, "consumer.broker_unavailable") == []
    assert events(logs, "relay.broker_unavailable") == []
    assert events(logs, "broker_reconnected") == []
    assert all(t.calls for t in transports)  # both threads tried
    assert not runtime.ready.is_set()
    store = SqliteStore(config.database)  # and `node status` shows it as an open alarm
    try:
        kinds = [(a["kind"], a["subject"]) for a in store.alarms(open_only=True)]
    finally:
        store.close()
    assert ("broker_auth", "broker") in kinds


@pytest.mark.parametrize("confirmed_first", [0, 2])
def test_a_backlog_counts_only_what_went_after_it_began(confirmed_first: int) -> None:
    ticks = Ticks()
    backlog = Backlog(ticks)
    backlog.confirmed(confirmed_first)  # sent before any failure: no backlog yet
    with capture_logs() as logs:
        backlog.empty()
        backlog.stalled()
        ticks.now += 10
        backlog.empty()  # nothing has gone yet: still waiting, nothing to say
        backlog.confirmed(4)
        ticks.now += 1
        backlog.empty()
        backlog.empty()
    assert [(e["event"], e["count"], e["waited_s"], e["drain_s"]) for e in logs] == \
        [("outbox_drained", 4, 11.0, 1.0)]


def test_the_refused_login_alarm_clears_once_the_links_are_back(tmp_path: Path) -> None:
    config = node_config(tmp_path, VILLAGE)
    node = bootstrap(config, broker=MemoryBroker())
    runtime = NodeRuntime(config, lambda: node)
    try:
        seen = runtime._auth_alarm(node, 0)
        assert (seen, node.store.alarms(open_only=True)) == (0, [])  # nothing refused yet
        runtime.link.failed("relay", BrokerAuthError(f"user {VILLAGE}: wrong password"))
        seen = runtime._auth_alarm(node, seen)
        assert [a["kind"] for a in node.store.alarms(open_only=True)] == ["broker_auth"]
        assert runtime._auth_alarm(node, seen) == seen  # still down: stays raised
        runtime.link.succeeded("relay")
        assert runtime._auth_alarm(node, seen) == -1
        assert node.store.alarms(open_only=True) == []
    finally:
        node.close()
