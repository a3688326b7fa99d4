"""Lazy sent-marks (issue 5): the relay marks a row sent only after its confirm, writes the marks of
several turns together, never publishes a confirmed row again while its mark waits, and after a
failure writes what was confirmed and re-reads the rest from the file. No broker: the transport is
a function-like double that confirms what it is told to.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from nodes.bootstrap import Node, bootstrap
from nodes.config import NodeConfig
from nodes.crypto import new_key
from nodes.messaging import settings
from nodes.messaging.relay import Relay
from nodes.messaging.transport import TransportError
from nodes.service import PartyInput
from nodes.store.sqlite_store import OutboxRow
from protocol.areas import Tier
from protocol.reference import CaseSource


class Publisher:
    """Confirms every row, or only the first `confirm_only` of a batch and then fails."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.confirm_only: int | None = None

    def publish(self, rows: Sequence[OutboxRow]) -> list[int]:
        self.published += [r.message_id for r in rows]
        ids = [r.id for r in rows if r.id is not None]
        if self.confirm_only is not None:
            raise TransportError("link lost", ids[: self.confirm_only])
        return ids


@pytest.fixture
def node(tmp_path: Path) -> Any:
    n = bootstrap(NodeConfig(node_id="330681111201", tier=Tier.VILLAGE, database=tmp_path / "v.db",
                             party_hash_salt="unit-salt", data_key=new_key()))
    yield n
    n.close()


def record(node: Node, n: int) -> None:
    for i in range(n):
        node.service.new_case(source=CaseSource.APPLICATION, dispute_type="03",
                              facts=f"测试 {i}", parties=[PartyInput("applicant", f"张某{i}")])


def relay_for(node: Node, publisher: Publisher) -> Relay:
    return Relay(node.store, publisher, node.config.node_id,  # type: ignore[arg-type]
                 node.service.clock.now)


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

    def locked(ids: Sequence[int], at: Any) -> None:
        raise RuntimeError("database is locked")
    monkeypatch.setattr(node.store, "mark_sent", locked)
    with pytest.raises(RuntimeError):
        relay.flush()
    monkeypatch.undo()
    relay.flush()
    assert node.store.outbox_depth() == 0
