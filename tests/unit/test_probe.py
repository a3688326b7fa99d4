"""Binding probes and the alarms of returned publishes, on the in-memory broker (which returns a
mandatory publish no queue takes, as RabbitMQ does)."""

from __future__ import annotations

import threading
from pathlib import Path

from nodes.alarms import AlarmKind
from nodes.cli.status_cmds import render_status, status_json
from nodes.domain import commands
from nodes.messaging.memory import MemoryBroker
from nodes.messaging.probe import PROBE_BODY, PROBE_HEADER, probe_routes
from nodes.service import PartyInput
from protocol.areas import Tier
from protocol.reference import CaseSource, EscalationReason
from protocol.routing import down_key, node_key, probe_key
from protocol.topology import EXCHANGE_DOWN, EXCHANGE_UP, node_queue
from tests.support.nodes import build_node

TOWN, VILLAGE, OTHER = "330681111000", "330681111242", "330681111243"


def kinds(node: object) -> list[tuple[str, str]]:
    return [(a["kind"], a["subject"]) for a in node.store.alarms()]  # type: ignore[attr-defined]


def test_a_hub_probes_down_and_up_and_drops_its_own_probes(tmp_path: Path) -> None:
    broker = MemoryBroker()
    town = build_node(tmp_path, TOWN, broker=broker)
    try:
        assert probe_routes(TOWN, Tier.TOWNSHIP) == [(EXCHANGE_DOWN, down_key(TOWN)),
                                                     (EXCHANGE_UP, probe_key(TOWN))]
        assert town.probe() == []
        assert kinds(town) == []
        assert town.consume() == 2
        assert (town.consumer.probes, town.consumer.quarantined) == (2, 0)
        assert town.store.quarantine_count() == 0
    finally:
        town.close()


def test_not_ready_until_a_round_of_probes_went_through(tmp_path: Path) -> None:
    town = build_node(tmp_path, TOWN, broker=MemoryBroker())
    try:
        status = status_json(town.store)
        assert (status["ready"], status["binding_missing"]) == (False, False)  # not yet checked
        assert "尚未" in render_status({"node_id": TOWN, "tier": "township", **status}, "zh")
        assert town.probe() == []
        assert status_json(town.store)["ready"] is True
    finally:
        town.close()


def test_a_missing_binding_alarms_until_it_is_back(tmp_path: Path) -> None:
    broker = MemoryBroker()
    build_node(tmp_path, VILLAGE, broker=broker).close()  # the exchanges exist; the hub's queue not
    town = build_node(tmp_path, TOWN, broker=broker, declare=False)
    try:
        missing = town.probe()
        assert missing == probe_routes(TOWN, Tier.TOWNSHIP)
        assert sorted(kinds(town)) == sorted(
            (AlarmKind.BINDING_MISSING.value, f"{e} {k}") for e, k in missing)
        assert status_json(town.store)["ready"] is False  # `node status`: NOT READY
        assert status_json(town.store)["binding_missing"] is True
        town.probe()  # a repeat counts, it does not add rows
        assert [a["count"] for a in town.store.alarms()] == [2, 2]
        town.declare()
        assert town.probe() == []
        assert kinds(town) == []
        assert status_json(town.store)["ready"] is True
        assert len(town.store.alarms(open_only=False)) == 2  # kept, marked cleared
    finally:
        town.close()


def test_a_probe_header_from_another_node_is_not_trusted(tmp_path: Path) -> None:
    broker = MemoryBroker()
    village = build_node(tmp_path, VILLAGE, broker=broker)
    other = broker.connect(user_id=OTHER)
    try:
        other.publish_raw(EXCHANGE_DOWN, node_key(VILLAGE), PROBE_BODY,
                          headers={PROBE_HEADER: VILLAGE})
        assert village.consume() == 1
        assert (village.consumer.probes, village.consumer.quarantined) == (0, 1)
    finally:
        other.close()
        village.close()


def test_a_returned_escalation_stays_unsent_and_alarms_until_it_goes(tmp_path: Path) -> None:
    broker = MemoryBroker()
    village = build_node(tmp_path, VILLAGE, broker=broker)
    county = build_node(tmp_path, "330681000000", broker=broker)  # takes the village's reports
    try:
        case_id = village.service.new_case(
            source=CaseSource.APPLICATION, dispute_type="03", facts="宅基地边界纠纷（测试）",
            parties=[PartyInput("applicant", "王某"), PartyInput("respondent", "赵某")]).case_id
        village.service.act(case_id, lambda c, a, t: commands.escalate(
            c, a, t, reason=EscalationReason.CROSS_AREA, consent_given=True))
        stop = threading.Event()
        for _ in range(3):
            village.relay.step(stop)
        assert village.store.outbox_depth() >= 1
        assert village.relay.blocked == (EXCHANGE_UP, node_key(VILLAGE))
        assert kinds(village) == [(AlarmKind.UNROUTABLE.value, f"{EXCHANGE_UP} {node_key(VILLAGE)}")]

        village.transport.declare([node_queue(TOWN, Tier.TOWNSHIP)])  # the township is deployed
        while village.store.outbox_depth():
            village.relay.step(stop)
        assert village.relay.blocked is None
        assert kinds(village) == []
    finally:
        village.close()
        county.close()
