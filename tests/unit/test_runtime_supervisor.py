"""A node's relay or consumer thread that dies of an error that is not the broker's (a full disk, a
file locked past the busy timeout) is logged and started again, instead of the node running on
without it. Embedded broker (kombu's memory transport): no RabbitMQ needed."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from hub.bootstrap import handlers_for, node_for
from nodes.bootstrap import Node
from nodes.config import NodeConfig
from nodes.crypto import new_key
from nodes.messaging import settings
from nodes.messaging.runtime import NodeRuntime, describe
from nodes.service import PartyInput
from protocol.areas import Tier
from protocol.reference import CaseSource

WAIT_S = 10.0


def test_a_relay_that_dies_is_logged_and_restarted(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "BACKOFF_START_S", 0.02)
    config = NodeConfig(node_id="330681111201", tier=Tier.VILLAGE, database=tmp_path / "v.db",
                        broker_url="memory://", party_hash_salt="unit-salt", data_key=new_key())
    failures: list[str] = []

    def factory(cfg: NodeConfig) -> Node:
        if threading.current_thread().name.startswith("relay") and not failures:
            failures.append("relay")
            raise sqlite3.OperationalError("disk I/O error")
        return node_for(cfg)

    staff = node_for(config)
    runtime = NodeRuntime(config, handlers_for, factory)
    with capture_logs() as logs:
        runtime.start()
        staff.service.new_case(source=CaseSource.APPLICATION, dispute_type="03", facts="测试",
                               parties=[PartyInput("applicant", "张某")])
        runtime.wake.set()
        deadline = time.monotonic() + WAIT_S
        while staff.store.outbox_depth() and time.monotonic() < deadline:
            time.sleep(0.05)
        depth = staff.store.outbox_depth()
        runtime.stop(WAIT_S)
    staff.close()
    assert failures == ["relay"]
    assert depth == 0  # the restarted relay published the case's report and marked it sent
    failed = [e for e in logs if e["event"] == "runtime.thread_failed"]
    assert len(failed) == 1 and failed[0]["thread"] == "relay"
    assert failed[0]["error"] == "OperationalError: disk I/O error"
    assert not any(t.is_alive() for t in runtime.threads)


def test_only_system_errors_are_logged_with_their_text() -> None:
    assert describe(sqlite3.OperationalError("database is locked")) == \
        "OperationalError: database is locked"
    assert describe(OSError(28, "No space left on device")).startswith("OSError: [Errno 28]")
    assert describe(KeyError("张某")) == "KeyError"  # a bug's message might hold case data
