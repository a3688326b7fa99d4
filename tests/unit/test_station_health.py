"""Honest station health (issue 16 item 8), on the in-memory transport.

Observed in a 3-minute broker outage: the county listed itself as silent and showed 0 messages
waiting while a village had 25; an escalation recorded during the outage read "escalated" while
it still sat in the outbox. Here: a hub never lists itself; every station shows its name, last
contact and backlog with the backlog's age, silent ones first; a township sees its own villages
(and `hub flow` runs there); a case whose message has not left reads "recorded, not yet sent"
until it has.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from fengqiao.bootstrap import bootstrap
from fengqiao.main import main
from hub.flow import flow_json
from hub.flow_render import render_flow
from hub.stations import Station, stations
from hub.store import HubStore
from nodes.domain import commands
from nodes.messaging.memory import MemoryBroker
from nodes.messaging.port import TransportError
from nodes.messaging.settings import SILENT_AFTER_S
from nodes.node import Node
from nodes.service import PartyInput
from protocol.areas import Tier
from protocol.envelope import decode
from protocol.messages import Heartbeat
from protocol.reference import CaseSource, EscalationReason
from protocol.topology import node_queue
from tests.support.clock import FakeClock
from tests.support.nodes import build_node, shared_keys_file, write_config

COUNTY = "330681000000"
TOWNSHIP = "330681111000"
VILLAGE = "330681111242"
QUIET_VILLAGE = "330681111201"
OTHER_TOWNSHIP_VILLAGE = "330681112203"


def beat(node_id: str, tier: Tier, clock: FakeClock, *, ago_s: float, depth: int = 0,
         oldest_s: int | None = None, label: str = "") -> Heartbeat:
    return Heartbeat(node_id=node_id, tier=tier, outbox_depth=depth, label=label,
                     oldest_unsent_s=oldest_s, at=clock.now() - timedelta(seconds=ago_s))


# --- the station list of `hub flow` ---------------------------------------------------------

@pytest.fixture
def county(tmp_path: Path) -> Iterator[tuple[Node, HubStore, FakeClock]]:
    clock = FakeClock()
    node = build_node(tmp_path, COUNTY, clock=clock)
    assert isinstance(node.store, HubStore)
    try:
        yield node, node.store, clock
    finally:
        node.close()


def test_the_hub_never_lists_itself_and_silent_stations_come_first(
        county: tuple[Node, HubStore, FakeClock]) -> None:
    node, store, clock = county
    silent_for = SILENT_AFTER_S + 120  # 5 minutes: the broker went away then
    store.record_heartbeat(beat(COUNTY, Tier.COUNTY, clock, ago_s=silent_for))  # its own
    store.record_heartbeat(beat(TOWNSHIP, Tier.TOWNSHIP, clock, ago_s=10, label="马剑镇"))
    store.record_heartbeat(beat(VILLAGE, Tier.VILLAGE, clock, ago_s=silent_for, depth=25,
                                oldest_s=90, label="状元村"))
    store.record_heartbeat(beat(QUIET_VILLAGE, Tier.VILLAGE, clock, ago_s=SILENT_AFTER_S + 30,
                                label="上山村"))
    listed = stations(store, clock.now(), node.node_id)
    assert [s.node_id for s in listed] == [VILLAGE, QUIET_VILLAGE, TOWNSHIP]
    assert [s.silent for s in listed] == [True, True, False]
    assert [s.name for s in listed] == ["状元村", "上山村", "马剑镇"]
    village = listed[0]
    assert (village.outbox_depth, village.oldest_unsent_s) == (25, 90)
    assert village.last_heard_s == silent_for  # how old those 25 are
    assert listed[2].oldest_unsent_s is None  # nothing waits there
    data = flow_json(store, clock.now(), node.node_id)
    assert COUNTY not in {s["node_id"] for s in data["stations"]}  # type: ignore[attr-defined]


def test_flow_text_shows_every_station_with_name_last_contact_and_backlog_age(
        county: tuple[Node, HubStore, FakeClock]) -> None:
    _, store, clock = county
    store.record_heartbeat(beat(VILLAGE, Tier.VILLAGE, clock, ago_s=600, depth=25, oldest_s=300,
                                label="状元村"))
    store.record_heartbeat(beat(TOWNSHIP, Tier.TOWNSHIP, clock, ago_s=20, label="马剑镇"))
    data = flow_json(store, clock.now(), COUNTY)
    text = render_flow([], [Station(**s) for s in data["stations"]], "en")  # type: ignore[attr-defined]
    lines = text.splitlines()
    assert "2 stations, 1 silent; 25 messages waiting at their last contact" in lines
    village = next(line for line in lines if VILLAGE in line)
    township = next(line for line in lines if TOWNSHIP in line)
    assert lines.index(village) < lines.index(township)  # silent first
    assert "状元村" in village
    assert "SILENT" in village
    assert "(10 min ago)" in village  # last contact, and so the age of the 25 below
    assert " 25 " in village
    assert village.endswith("5 min")
    assert "马剑镇" in township
    assert "in contact" in township
    assert "(20 s ago)" in township
    assert township.endswith("—")


def test_the_demo_form_lists_only_stations_that_need_a_look(
        county: tuple[Node, HubStore, FakeClock]) -> None:
    _, store, clock = county
    store.record_heartbeat(beat(VILLAGE, Tier.VILLAGE, clock, ago_s=5, depth=3, oldest_s=40))
    store.record_heartbeat(beat(TOWNSHIP, Tier.TOWNSHIP, clock, ago_s=5))
    listed = stations(store, clock.now(), COUNTY)
    short = render_flow([], listed, "en", all_stations=False)
    assert VILLAGE in short
    assert TOWNSHIP not in short
    assert "—" in short.splitlines()[-1]  # a station without a name shows a dash
    assert TOWNSHIP in render_flow([], listed, "en")


# --- townships see their own villages -------------------------------------------------------

def test_a_township_hears_its_villages_heartbeats_and_runs_hub_flow(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broker = MemoryBroker()
    path = write_config(tmp_path, TOWNSHIP, name="马剑镇")
    shared_keys_file(VILLAGE, OTHER_TOWNSHIP_VILLAGE)  # the township knows their keys
    township = bootstrap(path, broker=broker)
    township.declare()
    village = build_node(tmp_path, VILLAGE, broker=broker, name="状元村")
    stranger = build_node(tmp_path, OTHER_TOWNSHIP_VILLAGE, broker=broker)
    broker.connect().declare([node_queue(COUNTY, Tier.COUNTY)])  # the county takes every beat
    try:
        for node in (village, stranger, township):
            node.heartbeat()
        township.consume()
        assert township.store.quarantined() == []
    finally:
        for node in (township, village, stranger):
            node.close()
    capsys.readouterr()  # the nodes' own log lines
    assert main(["--lang", "en", "--config", str(path), "hub", "flow", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["stations"]
    assert [(s["node_id"], s["name"]) for s in listed] == [(VILLAGE, "状元村")]
    assert main(["--lang", "en", "--config", str(path), "hub", "flow"]) == 0
    text = capsys.readouterr().out
    assert "状元村" in text
    assert VILLAGE in text
    assert TOWNSHIP not in text


def test_hub_flow_at_a_village_is_one_sentence_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, VILLAGE)
    assert main(["--lang", "en", "--config", str(path), "hub", "flow"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "hubs (township, county, city)" in err[0]


# --- a case whose message has not left ------------------------------------------------------

def escalate_one(node: Node) -> str:
    case = node.service.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                                 facts="邻里排水纠纷（测试）",
                                 parties=[PartyInput("applicant", "张某"),
                                          PartyInput("respondent", "李某")])
    node.service.act(case.case_id, lambda c, a, t: commands.consent(c, a, t))
    node.service.act(case.case_id, lambda c, a, t: commands.accept(c, a, t, node.service.rules))
    node.service.act(case.case_id, lambda c, a, t: commands.escalate(
        c, a, t, reason=EscalationReason.NO_AGREEMENT, consent_given=True))
    return case.case_id


def show(path: Path, case_id: str, capsys: pytest.CaptureFixture[str],
         *extra: str) -> str:
    capsys.readouterr()  # what came before (log lines of the node's own relay)
    assert main(["--lang", "en", "--config", str(path), "case", *extra, case_id]) == 0
    return capsys.readouterr().out


def test_an_escalation_recorded_in_an_outage_reads_recorded_not_yet_sent_until_it_left(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broker = MemoryBroker()
    clock = FakeClock()
    path = write_config(tmp_path, VILLAGE, name="状元村")
    village = bootstrap(path, broker=broker, clock=clock)
    village.declare()
    broker.connect().declare([node_queue(TOWNSHIP, Tier.TOWNSHIP, children=[VILLAGE]),
                              node_queue(COUNTY, Tier.COUNTY)])
    try:
        broker.stop()  # the outage
        case_id = escalate_one(village)
        with pytest.raises(TransportError):
            village.publish()
        clock.advance(minutes=3)
        during = decode(village.heartbeat_body()).payload
        assert isinstance(during, Heartbeat)
        assert during.outbox_depth >= 2  # the escalation and the reports
        assert during.oldest_unsent_s == 180
        assert during.label == "状元村"

        text = show(path, case_id, capsys, "show")
        assert text.splitlines()[0].endswith("escalate (recorded, not yet sent)")
        assert "not yet sent: 1 message(s) of this case" in text
        assert "escalated" not in text.splitlines()[0]
        shown = json.loads(show(path, case_id, capsys, "show", "--json"))
        assert shown["state"] == "ESCALATED"  # the state is recorded: only its label waits
        assert shown["state_label"] == "escalate (recorded, not yet sent)"
        assert [m["action"] for m in shown["unsent"]] == ["escalate"]
        assert main(["--lang", "en", "--config", str(path), "case", "list", "--json"]) == 0
        (row,) = json.loads(capsys.readouterr().out)
        assert (row["unsent"], row["state_label"]) == (True, "escalate (recorded, not yet sent)")

        broker.start()  # the link is back: the escalation leaves
        assert village.publish() >= 2
        assert decode(village.heartbeat_body()).payload.oldest_unsent_s is None  # type: ignore[union-attr]
    finally:
        village.close()
    shown = json.loads(show(path, case_id, capsys, "show", "--json"))
    assert (shown["state_label"], shown["unsent"]) == ("escalated", [])
    assert main(["--lang", "en", "--config", str(path), "case", "list"]) == 0
    listed = capsys.readouterr().out
    assert "escalated" in listed
    assert "not yet sent" not in listed


def test_a_waiting_lifecycle_report_alone_does_not_hold_back_the_state_label(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A report is statistics: a case registered at the village is registered, heard or not."""
    path = write_config(tmp_path, VILLAGE)
    village = bootstrap(path, broker=MemoryBroker())
    try:
        case = village.service.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                                        facts="测试", parties=[PartyInput("applicant", "张某")])
        assert village.store.outbox_depth() >= 1  # its report waits: nothing was published
        assert village.store.unsent_case_messages(case.case_id) == []
    finally:
        village.close()
    shown = json.loads(show(path, case.case_id, capsys, "show", "--json"))
    assert shown["state_label"] == "registered"
    assert shown["unsent"] == []
