"""Bounds on what arrives (issue 15 item 4): the broker's message size, checked before anything is
read; times far in the future refused; the shared queues' length limits. (A child's escalation
flood, alarmed and set aside at the hub: tests/unit/test_pacing.py, which uses the helpers here.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.store import HubStore
from nodes.alarms import AlarmKind
from nodes.domain import commands as cmd
from nodes.domain.case import DomainError
from nodes.messaging import consumer as consumer_module
from nodes.messaging import settings
from nodes.messaging.delivery import Delivery
from nodes.messaging.settings import BUNDLE_BYTES
from nodes.node import Node
from nodes.service import PartyInput
from ops.definitions import definitions
from protocol.areas import Tier
from protocol.bundle import BUNDLE_HEADER
from protocol.envelope import MAX_MESSAGE_BYTES, encode, make_envelope
from protocol.messages import CaseEscalated, Heartbeat, Party
from protocol.reference import CaseSource, EscalationReason
from protocol.routing import node_key
from protocol.topology import (
    EXCHANGE_REPORT,
    EXCHANGE_UP,
    MAX_BROKER_MESSAGE_BYTES,
    POLICIES,
    QUEUE_DEAD,
    QUEUE_QUARANTINE,
)
from tests.support.clock import FakeClock
from tests.support.messages import FakeMessage
from tests.support.nodes import build_node
from tests.support.signed import as_sent
from tests.support.sql import rows

ROOT = Path(__file__).resolve().parents[2]
COUNTY, TOWN = "330681000000", "330681111000"
FLOODER, SIBLING = "330681111201", "330681111202"


def open_alarms(node: Node, kind: AlarmKind) -> dict[str, Any]:
    return {a["subject"]: a for a in node.store.alarms() if a["kind"] == kind.value
            and a["cleared_at"] is None}


def escalation(village: str, number: int, at: datetime, *, sent_at: datetime | None = None,
               to: str = TOWN) -> Delivery:
    """A valid escalation of a new case from `village`, sealed and signed as its relay sends it."""
    party = Party(role="applicant", name="示例甲", party_hash="ab" * 32)
    payload = CaseEscalated(origin_node=village, from_tier=Tier.VILLAGE, dispute_type="02",
                            facts="排水沟堵塞", parties=(party,), people_involved=2,
                            reason=EscalationReason.NO_AGREEMENT, consent=True, registered_at=at)
    env = make_envelope(payload, sender=village, case_id=f"{village}-2026-{number:05d}", seq=3,
                        prev_seq=0, sent_at=sent_at or at)
    body, headers = as_sent(encode(env), EXCHANGE_UP, node_key(village), to)
    return Delivery(body, EXCHANGE_UP, node_key(village), village, headers, FakeMessage())


def registered(hub: Node) -> list[str]:
    """Case ids registered at the hub, in the order they were registered."""
    return [case for (case,) in rows(hub.store.path, "SELECT case_id FROM inbox WHERE "
                                     "schema_name = 'case_escalated' ORDER BY rowid")]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hub(tmp_path: Path, clock: FakeClock) -> Iterator[Node]:
    node = build_node(tmp_path, TOWN, clock=clock, escalations_per_hour=3)
    yield node
    node.close()


# --- maximum message size --------------------------------------------------------------------

def test_the_broker_sample_config_sets_the_same_limit_every_sender_stays_under() -> None:
    conf = (ROOT / "deploy/rabbitmq/rabbitmq.conf").read_text(encoding="utf-8")
    (value,) = re.findall(r"^max_message_size\s*=\s*(\d+)\s*$", conf, re.MULTILINE)
    assert int(value) == MAX_BROKER_MESSAGE_BYTES
    assert MAX_MESSAGE_BYTES <= MAX_BROKER_MESSAGE_BYTES  # a lone envelope fits
    assert BUNDLE_BYTES <= MAX_BROKER_MESSAGE_BYTES  # and so does every bundle the relay packs


@pytest.mark.parametrize("headers", [{}, {BUNDLE_HEADER: 2}])
def test_an_oversized_body_is_quarantined_by_its_length_before_anything_reads_it(
        hub: Node, monkeypatch: pytest.MonkeyPatch, headers: dict[str, Any]) -> None:
    def must_not_read(*_: object) -> None:
        raise AssertionError("the body was read")
    monkeypatch.setattr(consumer_module, "unpack", must_not_read)
    monkeypatch.setattr(consumer_module, "decode", must_not_read)
    monkeypatch.setattr(hub.consumer, "verifier", None)
    body = b'{"x": "' + b"y" * MAX_BROKER_MESSAGE_BYTES + b'"}'
    message = FakeMessage()
    hub.consumer.handle(Delivery(body, EXCHANGE_UP, node_key(FLOODER), FLOODER, headers, message))
    assert message.calls == ["ack"]
    (row,) = hub.store.quarantined()
    assert f"above the broker limit of {MAX_BROKER_MESSAGE_BYTES}" in row["reason"]
    assert row["length"] == len(body)
    assert row["truncated"]
    assert len(row["body"]) == settings.QUARANTINE_BODY_MAX
    assert FLOODER in open_alarms(hub, AlarmKind.OVERSIZED)


def test_a_body_at_the_limit_is_not_refused_for_its_size(hub: Node) -> None:
    body = b" " * MAX_BROKER_MESSAGE_BYTES
    hub.consumer.handle(Delivery(body, EXCHANGE_UP, node_key(FLOODER), FLOODER, {},
                                 FakeMessage()))
    (row,) = hub.store.quarantined()
    assert "broker limit" not in row["reason"]
    assert open_alarms(hub, AlarmKind.OVERSIZED) == {}


def test_a_case_whose_message_would_be_too_large_is_refused_with_nothing_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    village = build_node(tmp_path, FLOODER)
    try:
        case = village.service.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                                        facts="排水沟堵塞" * 50, parties=[PartyInput("applicant",
                                                                                "甲")])
        monkeypatch.setattr("nodes.outbound.MAX_MESSAGE_BYTES", 1000)
        with pytest.raises(DomainError) as refused:
            village.service.act(case.case_id, lambda c, a, t: cmd.escalate(
                c, a, t, reason=EscalationReason.GROUP_CASE, consent_given=True))
        assert refused.value.code == "message_too_large"
        assert [r.schema_name for r in village.store.unsent()
                if r.schema_name == "case_escalated"] == []
    finally:
        village.close()


# --- times far in the future ----------------------------------------------------------------

def heartbeat(village: str, at: datetime, sent_at: datetime) -> Delivery:
    beat = Heartbeat(node_id=village, tier=Tier.VILLAGE, outbox_depth=0, at=at)
    env = make_envelope(beat, sender=village, case_id=None, seq=0, sent_at=sent_at)
    body, headers = as_sent(encode(env), EXCHANGE_REPORT, node_key(village), COUNTY)
    return Delivery(body, EXCHANGE_REPORT, node_key(village), village, headers, FakeMessage())


@pytest.mark.parametrize(("at_ahead", "sent_ahead", "field"), [
    (timedelta(days=365 * 73), timedelta(0), "heartbeat.at"),   # the heartbeat "of 2099"
    (timedelta(0), timedelta(hours=1), "sent_at"),
])
def test_a_heartbeat_from_the_future_is_quarantined_and_alarmed(
        tmp_path: Path, clock: FakeClock, at_ahead: timedelta, sent_ahead: timedelta,
        field: str) -> None:
    county = build_node(tmp_path, COUNTY, clock=clock)
    try:
        now = clock.now()
        county.consumer.handle(heartbeat(SIBLING, now + at_ahead, now + sent_ahead))
        (row,) = county.store.quarantined()
        assert row["reason"].startswith(f"{field} ")
        assert "ahead of this node's clock" in row["reason"]
        assert SIBLING in open_alarms(county, AlarmKind.FUTURE_TIME)
        assert isinstance(county.store, HubStore)
        assert county.store.heartbeats() == []  # the village can still be shown as silent
    finally:
        county.close()


def test_a_clock_a_few_minutes_fast_is_tolerated(tmp_path: Path, clock: FakeClock) -> None:
    county = build_node(tmp_path, COUNTY, clock=clock)
    try:
        ahead = clock.now() + timedelta(seconds=settings.FUTURE_TOLERANCE_S - 60)
        county.consumer.handle(heartbeat(SIBLING, ahead, ahead))
        assert county.store.quarantined() == []
        assert isinstance(county.store, HubStore)
        assert [h[0] for h in county.store.heartbeats()] == [SIBLING]
    finally:
        county.close()


def test_an_escalation_sent_from_the_future_is_refused(hub: Node, clock: FakeClock) -> None:
    hub.consumer.handle(escalation(SIBLING, 1, clock.now(),
                                   sent_at=clock.now() + timedelta(minutes=11)))
    assert registered(hub) == []
    assert "sent_at" in hub.store.quarantined()[0]["reason"]


# --- shared queue limits --------------------------------------------------------------------

def test_the_shared_queues_get_length_limits_by_policy_in_the_definitions() -> None:
    document = definitions([(TOWN, Tier.TOWNSHIP)])
    by_name = {p["name"]: p for p in document["policies"]}
    assert len(by_name) == len(POLICIES) == 2
    queues = [q["name"] for q in document["queues"]]
    for policy in by_name.values():
        matched = [q for q in queues if re.search(policy["pattern"], q)]
        assert len(matched) == 1
        assert policy["apply-to"] == "queues"
        assert policy["definition"]["max-length"] > 0
        assert policy["definition"]["max-length-bytes"] > 0
    overflow = {next(q for q in queues if re.search(p["pattern"], q)): p["definition"]["overflow"]
                for p in by_name.values()}
    assert overflow == {QUEUE_QUARANTINE: "drop-head", QUEUE_DEAD: "reject-publish"}
    # The queues' own arguments stay as nodes declare them (no 406 on a re-declare).
    shared = {q["name"]: q["arguments"] for q in document["queues"]}
    assert "x-max-length" not in shared[QUEUE_QUARANTINE]

