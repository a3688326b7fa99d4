"""Escalation pacing at a hub (issue 15 item 4, `nodes.messaging.pacing`): a child over its hourly
limit is alarmed, and its messages are set aside as they arrive, before their signature is checked
or anything decoded, so its siblings' messages are not kept waiting behind the flood. At replay
each goes through the consumer's full path: a forged one is quarantined then, order within a
stream holds, and nothing is lost or applied twice, across a restart too."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fengqiao.bootstrap import bootstrap
from nodes.alarms import AlarmKind
from nodes.cli.status_cmds import status_json
from nodes.messaging import settings
from nodes.messaging.delivery import Delivery
from nodes.messaging.memory import MemoryBroker
from nodes.messaging.runtime import NodeRuntime
from nodes.node import Node
from nodes.store import personal
from protocol.bundle import BUNDLE_HEADER, SCHEMA_HEADER, pack
from protocol.envelope import decode, encode
from protocol.keys import SignatureInvalid
from protocol.routing import node_key
from protocol.seal import SIG_HEADER
from protocol.topology import EXCHANGE_UP
from tests.support.clock import FakeClock
from tests.support.messages import FakeMessage
from tests.support.nodes import build_node, node_config
from tests.support.signed import as_sent, signed
from tests.support.sql import rows
from tests.support.wait import wait_until
from tests.unit.test_limits import FLOODER, SIBLING, TOWN, escalation, open_alarms, registered


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hub(tmp_path: Path, clock: FakeClock) -> Iterator[Node]:
    node = build_node(tmp_path, TOWN, clock=clock, escalations_per_hour=3)
    yield node
    node.close()


def case(village: str, n: int) -> str:
    return f"{village}-2026-{n:05d}"


def forged(delivery: Delivery, other: Delivery) -> Delivery:
    """`delivery` bearing the signature of another message: well formed, but not over this body."""
    return dataclasses.replace(delivery, headers={**delivery.headers,
                                                  SIG_HEADER: other.headers[SIG_HEADER]})


def test_a_flooding_child_is_alarmed_and_its_excess_waits_behind_its_sibling(
        hub: Node, clock: FakeClock) -> None:
    for n in range(1, 9):
        hub.consumer.handle(escalation(FLOODER, n, clock.now()))
    hub.consumer.handle(escalation(SIBLING, 1, clock.now()))
    flood = [case(FLOODER, n) for n in range(1, 9)]
    # The first three (the hourly limit) were applied, the sibling's next, the rest set aside.
    assert registered(hub) == [*flood[:3], case(SIBLING, 1)]
    assert hub.store.deferred_size()[0] == 5
    assert status_json(hub.store)["deferred"] == {"rows": 5}  # what `node status` shows
    assert FLOODER in open_alarms(hub, AlarmKind.ESCALATION_RATE)
    assert SIBLING not in open_alarms(hub, AlarmKind.ESCALATION_RATE)
    assert hub.consumer.replay_deferred(2) == 2  # a bounded number at a time, oldest first
    assert hub.consumer.replay_deferred(100) == 3
    assert registered(hub) == [*flood[:3], case(SIBLING, 1), *flood[3:]]
    assert hub.store.deferred_size() == (0, 0)


def test_the_flood_is_deferred_before_its_signature_is_checked_and_a_forgery_refused_at_replay(
        hub: Node, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    assert hub.consumer.verifier is not None
    checked: list[str] = []
    real_check = hub.consumer.verifier.check

    def check(delivery: Delivery) -> str | None:
        checked.append(delivery.routing_key)
        return real_check(delivery)
    monkeypatch.setattr(hub.consumer.verifier, "check", check)
    flood = [escalation(FLOODER, n, clock.now()) for n in range(1, 8)]
    flood[4] = forged(flood[4], flood[5])
    for delivery in flood:
        hub.consumer.handle(delivery)
    hub.consumer.handle(escalation(SIBLING, 1, clock.now()))
    # Only the three within the limit and the sibling's were verified; four wait, unchecked.
    assert checked == [node_key(FLOODER)] * 3 + [node_key(SIBLING)]
    assert hub.store.deferred_size()[0] == 4
    assert all(d.message.acked for d in flood)
    assert hub.store.quarantined() == []
    assert hub.consumer.replay_deferred(100) == 4
    refused = hub.store.quarantined()
    assert len(refused) == 1
    assert refused[0]["reason"].startswith(SignatureInvalid.code)
    assert "does not match this body" in refused[0]["reason"]
    assert case(FLOODER, 5) not in registered(hub)  # never applied
    assert registered(hub) == [*(case(FLOODER, n) for n in (1, 2, 3)), case(SIBLING, 1),
                               *(case(FLOODER, n) for n in (4, 6, 7))]


def test_while_a_child_has_messages_deferred_its_new_ones_queue_behind_them(
        hub: Node, clock: FakeClock) -> None:
    for n in range(1, 5):
        hub.consumer.handle(escalation(FLOODER, n, clock.now()))
    clock.advance(hours=2)  # back under its hourly limit, but one still waits
    hub.consumer.handle(escalation(FLOODER, 5, clock.now()))
    assert hub.store.deferred_size()[0] == 2
    assert FLOODER not in open_alarms(hub, AlarmKind.ESCALATION_RATE)  # cleared: under again
    hub.consumer.replay_deferred(100)
    assert registered(hub)[-2:] == [case(FLOODER, 4), case(FLOODER, 5)]


def successor(delivery: Delivery, seq: int, prev_seq: int) -> Delivery:
    """The next message of the same stream (sender, case, schema), signed as its sender would."""
    data = json.loads(delivery.body)
    data.update(message_id=f"{data['message_id'][:-4]}beef", seq=seq, prev_seq=prev_seq)
    body = encode(decode(json.dumps(data).encode()))
    headers = signed(body, EXCHANGE_UP, delivery.routing_key, sender=FLOODER, to=TOWN)
    return dataclasses.replace(delivery, body=body, headers=headers, message=FakeMessage())


def test_a_stream_keeps_its_order_through_the_deferred_table(hub: Node, clock: FakeClock) -> None:
    for n in range(1, 4):
        hub.consumer.handle(escalation(FLOODER, n, clock.now()))
    first = escalation(FLOODER, 4, clock.now())
    then = successor(first, seq=9, prev_seq=3)
    hub.consumer.handle(then)  # the broker reordered them: the successor came first
    hub.consumer.handle(first)
    assert hub.store.deferred_size()[0] == 2
    hub.consumer.replay_deferred(100)
    # At replay the successor waited in `held` for its predecessor and went right after it.
    assert (hub.consumer.held_back, hub.consumer.released) == (1, 1)
    assert hub.store.held_count() == 0
    seqs = rows(hub.store.path, "SELECT seq FROM inbox WHERE case_id = ? ORDER BY rowid",
                (case(FLOODER, 4),))
    assert [s for (s,) in seqs] == [3, 9]
    assert hub.store.last_seq(FLOODER, case(FLOODER, 4), "case_escalated") == 9


def test_deferred_messages_survive_a_restart_and_are_applied_exactly_once(
        tmp_path: Path, clock: FakeClock) -> None:
    broker = MemoryBroker()
    hub = build_node(tmp_path, TOWN, clock=clock, broker=broker, escalations_per_hour=1)
    deliveries = [escalation(FLOODER, n, clock.now()) for n in range(1, 5)]
    for delivery in deliveries[:3]:
        hub.consumer.handle(delivery)
    hub.consumer.handle(deliveries[2])  # redelivered (its ack was lost): kept once
    assert hub.store.deferred_size()[0] == 2
    hub.close()
    again = build_node(tmp_path, TOWN, clock=clock, broker=broker, escalations_per_hour=1,
                       data_key=hub.config.data_key)
    try:
        # Its hourly count started afresh, yet its next message still queues behind the others.
        again.consumer.handle(deliveries[3])
        again.consumer.handle(deliveries[2])  # redelivered once more, after the restart
        assert again.store.deferred_size()[0] == 3
        assert again.consumer.replay_deferred(100) == 3
        again.consumer.handle(deliveries[1])  # a copy of one applied: over the limit, deferred
        assert again.consumer.replay_deferred(100) == 1  # and ignored at replay
        assert registered(again) == [case(FLOODER, n) for n in range(1, 5)]
        assert again.consumer.duplicates == 1
        assert again.store.quarantined() == []
    finally:
        again.close()


def test_a_row_deferred_before_m013_is_applied_as_checked_then(hub: Node, clock: FakeClock) -> None:
    """Before m013 a row held one envelope, checked when it was deferred, and no headers."""
    delivery = escalation(FLOODER, 1, clock.now())
    message_id = str(decode(delivery.body).message_id)
    body = personal.seal_body(hub.store.cipher, "case_escalated", message_id, delivery.body)
    with hub.store.atomic():
        hub.store._write(
            "INSERT INTO deferred (message_id, sender, routing_key, user_id, body, length, total, "
            "attempts, deferred_at) VALUES (?,?,?,?,?,?,?,0,?)",
            [message_id, FLOODER, delivery.routing_key, FLOODER, body, len(delivery.body),
             len(delivery.body), clock.now().isoformat()])
    assert hub.consumer.replay_deferred(100) == 1
    assert registered(hub) == [case(FLOODER, 1)]


def test_signature_headers_sent_as_bytes_survive_the_deferral(
        hub: Node, clock: FakeClock) -> None:
    for n in range(1, 4):
        hub.consumer.handle(escalation(FLOODER, n, clock.now()))
    sent = escalation(FLOODER, 4, clock.now())
    as_bytes = {k: v.encode() for k, v in sent.headers.items()}  # some clients send byte strings
    hub.consumer.handle(dataclasses.replace(sent, headers=as_bytes))
    assert hub.store.deferred_size()[0] == 1
    hub.consumer.replay_deferred(100)
    assert registered(hub)[-1] == case(FLOODER, 4)


def test_a_bundle_counts_as_its_envelopes_and_waits_whole(hub: Node, clock: FakeClock) -> None:
    parts = [as_sent(encode(decode(escalation(FLOODER, n, clock.now()).body)), EXCHANGE_UP,
                     node_key(FLOODER), TOWN)[0] for n in range(1, 5)]
    body = pack(parts)
    headers = {**signed(body, EXCHANGE_UP, node_key(FLOODER), sender=FLOODER, to=TOWN),
               BUNDLE_HEADER: 4, SCHEMA_HEADER: "case_escalated"}
    hub.consumer.handle(Delivery(body, EXCHANGE_UP, node_key(FLOODER), FLOODER, headers,
                                 FakeMessage()))
    assert FLOODER in open_alarms(hub, AlarmKind.ESCALATION_RATE)  # 4 over a limit of 3
    assert hub.store.deferred_size()[0] == 1
    assert registered(hub) == []
    hub.consumer.replay_deferred(100)
    assert registered(hub) == [case(FLOODER, n) for n in range(1, 5)]


def test_a_header_calling_escalations_report_backs_does_not_hide_a_flood(
        hub: Node, clock: FakeClock) -> None:
    for n in range(1, 6):  # not counted as escalations, so not deferred: checked at once
        sent = escalation(FLOODER, n, clock.now())
        hub.consumer.handle(dataclasses.replace(
            sent, headers={**sent.headers, SCHEMA_HEADER: "case_report_back"}))
    assert hub.store.deferred_size()[0] == 0
    assert registered(hub) == []  # and refused for the lie
    reasons = {q["reason"] for q in hub.store.quarantined()}
    assert reasons == {"the schema header says 'case_report_back', but the envelope is "
                       "case_escalated"}


def test_a_deferred_message_that_keeps_failing_moves_to_quarantine(
        hub: Node, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(1, 6):
        hub.consumer.handle(escalation(FLOODER, n, clock.now()))
    assert hub.store.deferred_size()[0] == 2

    def crash(_: object) -> None:
        raise RuntimeError("a bug")
    monkeypatch.setitem(hub.consumer.handlers, "case_escalated", crash)
    for _ in range(4):  # each attempt is rolled back and counted; the rest wait behind it
        assert hub.consumer.replay_deferred(100) == 0
    assert hub.consumer.replay_deferred(1) == 1  # the limit: quarantined with the reason
    assert "failed to apply 5 times" in hub.store.quarantined()[0]["reason"]
    monkeypatch.undo()
    assert hub.consumer.replay_deferred(100) == 1
    assert registered(hub)[-1] == case(FLOODER, 5)


def test_past_the_deferred_tables_bound_messages_are_handled_as_they_come(
        hub: Node, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "DEFERRED_MAX_ROWS", 2)
    for n in range(1, 8):
        hub.consumer.handle(escalation(FLOODER, n, clock.now()))
    assert hub.store.deferred_size()[0] == 2
    assert len(registered(hub)) == 5  # nothing lost: applied at once past the bound


def test_a_backed_up_queue_lets_deferred_ones_advance_once_a_second(
        hub: Node, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(1, 10):
        hub.consumer.handle(escalation(FLOODER, n, clock.now()))
    now = [1000.0]
    assert hub.consumer.pacer is not None
    monkeypatch.setattr(hub.consumer.pacer, "monotonic", lambda: now[0])
    assert hub.consumer.replay_deferred(2, backed_up=True) == 2
    assert hub.consumer.replay_deferred(2, backed_up=True) == 0  # the others go first
    assert hub.consumer.replay_deferred(1) == 1  # a partial batch: not backed up
    now[0] += settings.DEFERRED_BACKED_UP_EVERY_S
    assert hub.consumer.replay_deferred(2, backed_up=True) == 2


def test_villages_do_not_pace(tmp_path: Path) -> None:
    village = build_node(tmp_path, SIBLING)
    try:
        assert village.consumer.pacer is None
    finally:
        village.close()


def test_the_running_hub_applies_deferred_escalations_after_its_siblings_and_when_quiet(
        tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    # One after the batch of fresh messages; the other three only when the queue is quiet.
    monkeypatch.setattr(settings, "DEFERRED_PER_BATCH", 1)
    broker = MemoryBroker()
    config = node_config(tmp_path, TOWN, escalations_per_hour=2)
    staff = bootstrap(config, broker=broker, clock=clock)
    staff.declare()
    for delivery in [*(escalation(FLOODER, n, clock.now()) for n in range(1, 7)),
                     escalation(SIBLING, 1, clock.now())]:
        broker.connect(user_id=delivery.user_id).publish_raw(
            EXCHANGE_UP, delivery.routing_key, delivery.body, delivery.headers)
    runtime = NodeRuntime(config, lambda: bootstrap(config, broker=broker, clock=clock))
    runtime.start()
    try:
        wait_until(lambda: len(registered(staff)) == 7, "every escalation to be applied")
        wait_until(lambda: staff.store.deferred_size() == (0, 0), "the deferred table to empty")
    finally:
        runtime.stop()
        staff.close()
    flood = [case(FLOODER, n) for n in range(1, 7)]
    assert registered(staff)[:3] == [*flood[:2], case(SIBLING, 1)]
    assert sorted(registered(staff)[3:]) == flood[2:]
