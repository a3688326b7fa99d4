"""A node's relay or consumer thread that dies of an error that is not the broker's (a full disk, a
file locked past the busy timeout) is logged and started again, instead of the node running on
without it. Embedded broker (kombu's memory transport): no RabbitMQ needed."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from fengqiao.bootstrap import bootstrap
from nodes.messaging import settings
from nodes.messaging.memory import MemoryBroker
from nodes.messaging.runtime import NodeRuntime, describe
from nodes.node import Node
from nodes.service import PartyInput
from nodes.store.errors import StoreUnavailable, translate
from protocol.areas import Tier
from protocol.reference import CaseSource
from protocol.topology import node_queue
from tests.support.nodes import node_config
from tests.support.wait import wait_until

WAIT_S = 10.0


def test_a_relay_that_dies_is_logged_and_restarted(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "BACKOFF_START_S", 0.02)
    config = node_config(tmp_path, "330681111201")
    broker = MemoryBroker()
    failures: list[str] = []

    def build() -> Node:
        if threading.current_thread().name.startswith("relay") and not failures:
            failures.append("relay")
            raise StoreUnavailable("OperationalError: disk I/O error")
        return bootstrap(config, broker=broker)

    staff = bootstrap(config, broker=broker)
    # The county's queue takes the village's reports: publishes are mandatory, and a report no
    # queue takes would come back and stay in the outbox.
    broker.connect().declare([node_queue("330681000000", Tier.COUNTY)])
    runtime = NodeRuntime(config, build)
    with capture_logs() as logs:
        runtime.start()
        staff.service.new_case(source=CaseSource.APPLICATION, dispute_type="03", facts="测试",
                               parties=[PartyInput("applicant", "张某")])
        runtime.wake.set()
        wait_until(lambda: staff.store.outbox_depth() == 0, "the relay to publish", WAIT_S)
        depth = staff.store.outbox_depth()
        runtime.stop(WAIT_S)
    staff.close()
    assert failures == ["relay"]
    assert depth == 0  # the restarted relay published the case's report and marked it sent
    failed = [e for e in logs if e["event"] == "runtime.thread_failed"]
    assert len(failed) == 1
    assert failed[0]["thread"] == "relay"
    assert failed[0]["error"] == "StoreUnavailable: OperationalError: disk I/O error"
    assert not any(t.is_alive() for t in runtime.threads)


def test_only_system_errors_are_logged_with_their_text() -> None:
    assert describe(translate(sqlite3.OperationalError("database is locked"))) == \
        "StoreError: OperationalError: database is locked"
    assert describe(OSError(28, "No space left on device")).startswith("OSError: [Errno 28]")
    assert describe(KeyError("张某")) == "KeyError"  # a bug's message might hold case data
