"""A wrong broker password on a real RabbitMQ (issue 16 item 8): the broker refuses the login with
403 ACCESS_REFUSED, and the node says exactly that (`broker_auth_failed`, one line, counted), not
"cannot reach broker". Only a login is attempted: nothing on the broker is read or changed."""

from __future__ import annotations

import threading
import urllib.parse
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from nodes.messaging.amqp import AmqpTransport
from nodes.messaging.port import BrokerAuthError
from nodes.service import PartyInput
from protocol.reference import CaseSource
from tests.support.nodes import build_node

pytestmark = pytest.mark.broker

VILLAGE = "339796101201"  # an invented code under city 3397, as the other broker tests
WRONG = "not-the-password-h5"


def with_wrong_password(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{parts.username or 'guest'}:{WRONG}@{host}:{parts.port or 5672}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def test_a_wrong_password_is_a_refused_login(amqp_url: str) -> None:
    transport = AmqpTransport(with_wrong_password(amqp_url))
    try:
        with pytest.raises(BrokerAuthError) as refused:
            transport.connect()
    finally:
        transport.close()
    reason = refused.value.reason
    assert "ACCESS_REFUSED" in reason
    assert "wrong password" in reason
    assert WRONG not in str(refused.value)
    assert "\n" not in reason


def test_a_relay_with_a_wrong_password_logs_it_as_that(amqp_url: str, tmp_path: Path) -> None:
    node = build_node(tmp_path, VILLAGE, broker_url=with_wrong_password(amqp_url),
                      declare=False)
    stop = threading.Event()
    stop.set()  # the relay's back-off waits return at once
    try:
        node.service.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts="测试",
                              parties=[PartyInput("applicant", "张某")])
        waiting = node.relay.outbox_depth()
        with capture_logs() as logs:
            node.relay.step(stop)
            node.relay.step(stop)
        refused = [e for e in logs if e["event"] == "broker_auth_failed"]
        assert len(refused) == 1  # the second is counted, not logged again
        assert "ACCESS_REFUSED" in refused[0]["reason"]
        assert not any(e["event"].endswith("broker_unavailable") for e in logs)
        assert node.relay.link.auth_failures == 2
        assert node.relay.outbox_depth() == waiting  # nothing lost, nothing marked
        assert all(WRONG not in str(e) for e in logs)
    finally:
        node.close()
