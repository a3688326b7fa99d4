"""Lazy sent-marks (issue 5): the relay marks a row sent only after its confirm, writes the marks of
several turns together, never publishes a confirmed row again while its mark waits, and after a
failure writes what was confirmed and re-reads the rest from the file. No broker: the transport is
a function-like double that confirms what it is told to.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from fengqiao.bootstrap import bootstrap
from nodes.config import NodeConfig
from nodes.crypto import new_key
from nodes.messaging import settings
from nodes.messaging.port import TransportError
from nodes.messaging.relay import Relay
from nodes.node import Node
from nodes.records import OutboxRow
from nodes.service import PartyInput
from nodes.store.outbox import id_runs
from protocol.areas import Tier
from protocol.reference import CaseSource


class Publisher:
    """Confirms every row, or only the first `confirm_only` of a batch and then fails."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.confirm_only: int | None = None

    def heartbeat_check(self) -> None:
        """Nothing to keep alive."""

    def publish(self, rows: Sequence[OutboxRow]) -> list[int]:
        self.published += [r.message_id for r in rows]
        ids = [r.id for r in rows if r.id is not None]
        if self.confirm_only is not None:
            raise TransportError("link lost", ids[: self.confirm_only])
        return ids


@pytest.fixture
def node(tmp_path: Path) -> Any:
    n = bootstrap(NodeConfig(node_id="330681111201", tier=Tier.VILLAGE, database=tmp_path / "v.db",
                             identity_key="unit-test-identity-key", data_key=new_key()))
    yield n
    n.close()


def record(node: Node, n: int) -> None:
    for i in range(n):
        node.service.new_case(source=CaseSource.APPLICATION, dispute_type="03",
                              facts=f"测试 {i}", parties=[PartyInput("applicant", f"张某{i}")])


def relay_for(node: Node, publisher: Publisher, batch: int = settings.RELAY_BATCH) -> Relay:
    return Relay(node.store, publisher, node.config.node_id,  # type: ignore[arg-type]
                 node.service.clock.now, batch=batch)


def lock_holder(node: Node) -> sqlite3.Connection:
    """Another connection to the node's file holding its write lock, as a busy recorder does."""
    conn = sqlite3.connect(str(node.config.database), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_confirmed_rows_are_not_resent_while_their_marks_wait(node: Node) -> None:
    record(node, 3)
    publisher = Publisher()
    relay = relay_for(node, publisher)
    assert relay.run_once() == 3
    assert node.store.outbox_depth() == 3  # confirmed, not yet marked in the file
    assert relay.outbox_depth() == 0       # what a heartbeat reports
    record(node, 1)
    assert relay.run_once() == 1           # only the new row goes
    assert len(publisher.published) == len(set(publisher.published)) == 4
    relay.flush()
    assert node.store.outbox_depth() == 0


def test_marks_are_written_when_due(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    record(node, 2)
    relay = relay_for(node, Publisher())
    relay.run_once()
    assert node.store.outbox_depth() == 2
    monkeypatch.setattr(settings, "MARK_EVERY_S", 0.0)
    assert relay.run_once() == 0           # nothing new; the due marks are written first
    assert node.store.outbox_depth() == 0


def test_after_a_failure_the_confirmed_are_marked_and_the_rest_read_again(node: Node) -> None:
    record(node, 4)
    publisher = Publisher()
    relay = relay_for(node, publisher)
    publisher.confirm_only = 1
    with pytest.raises(TransportError):
        relay.run_once()
    assert node.store.outbox_depth() == 3  # the one confirmed was written at once
    publisher.confirm_only = None
    assert relay.run_once() == 3           # the other three, read again from the file
    assert publisher.published[1:4] == publisher.published[4:7]


def test_a_failed_flush_keeps_the_marks_for_the_next_one(node: Node,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    record(node, 2)
    relay = relay_for(node, Publisher())
    relay.run_once()

    def locked(ids: Sequence[int], at: Any, **_: Any) -> None:
        raise RuntimeError("database is locked")
    monkeypatch.setattr(node.store, "mark_sent", locked)
    with pytest.raises(RuntimeError):
        relay.flush()
    monkeypatch.undo()
    relay.flush()
    assert node.store.outbox_depth() == 0


def test_marks_do_not_wait_for_a_busy_file_and_publishing_goes_on(
        node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    record(node, 4)
    publisher = Publisher()
    relay = relay_for(node, publisher, batch=2)
    assert relay.run_once() == 2
    monkeypatch.setattr(settings, "MARK_EVERY_S", 0.0)
    holder = lock_holder(node)
    try:
        assert node.store.mark_sent([1], relay.now(), wait=False) is False
        assert relay.run_once() == 2           # the marks found the file busy; the rest went
        assert len(relay.marks.ids) == 4
        assert not relay.marks.due()
    finally:
        holder.rollback()
        holder.close()
    assert node.store.outbox_depth() == 4      # nothing was written while the lock was taken
    monkeypatch.setattr(relay.marks, "retry_at", 0.0)
    assert relay.run_once() == 0
    assert node.store.outbox_depth() == 0
    assert relay.marks.ids == []
    assert len(publisher.published) == len(set(publisher.published)) == 4


def test_overdue_marks_wait_for_the_lock(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    record(node, 1)
    relay = relay_for(node, Publisher())
    relay.run_once()
    waits: list[bool] = []
    real = node.store.mark_sent

    def spy(ids: Sequence[int], at: Any, *, wait: bool = True) -> bool:
        waits.append(wait)
        return real(ids, at, wait=wait)
    monkeypatch.setattr(node.store, "mark_sent", spy)
    monkeypatch.setattr(settings, "MARK_EVERY_S", 0.0)
    relay.run_once()
    monkeypatch.setattr(settings, "MARK_FORCE_S", 0.0)
    record(node, 1)
    relay.run_once()
    relay.run_once()
    assert waits == [False, True]
    assert node.store.outbox_depth() == 0


@hsettings(max_examples=40, deadline=None)
@given(st.sets(st.integers(min_value=1, max_value=60)))
def test_id_runs_cover_exactly_the_ids(ids: set[int]) -> None:
    runs = id_runs(ids)
    assert {i for first, last in runs for i in range(first, last + 1)} == ids
    assert all(b[0] > a[1] + 1 for a, b in itertools.pairwise(runs))  # maximal runs


def test_mark_sent_marks_exactly_the_given_rows(node: Node) -> None:
    record(node, 8)
    node.store.mark_sent([1, 2, 4, 7, 8], node.service.clock.now())
    unsent = [r.id for r in node.store.unsent(limit=100)]
    assert unsent == [3, 5, 6]


class Waits(threading.Event):
    """An event that records how long it was asked to wait, and does not wait."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.asked.append(timeout or 0.0)
        return False


def test_a_busy_relay_lingers_and_an_idle_one_waits_for_its_wake(
        node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "RELAY_LINGER_S", 0.02)
    relay = relay_for(node, Publisher())
    stop, wake = Waits(), Waits()
    record(node, 2)
    relay.step(stop, wake)                 # published: pauses so the next rows gather
    assert stop.asked == [0.02]
    assert wake.asked == []
    relay.step(stop, wake)                 # nothing waiting: sleeps until a writer wakes it
    assert stop.asked == [0.02]
    assert len(wake.asked) == 1


def test_a_relay_with_a_backlog_does_not_linger(node: Node,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "RELAY_LINGER_S", 0.02)
    relay = relay_for(node, Publisher(), batch=2)
    stop, wake = Waits(), Waits()
    record(node, 3)
    relay.step(stop, wake)                 # a full batch: more rows wait, no pause
    relay.step(stop, wake)                 # the last row: a pause before the next turn
    assert stop.asked == [0.02]
    assert wake.asked == []
