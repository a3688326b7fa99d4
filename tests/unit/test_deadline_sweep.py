"""The deadline sweep (issue 18 item 1), on the in-memory broker with a simulated clock.

A village case left unaccepted past its acceptance clock is reported due soon, then overdue, once
each (not again on the next sweep nor after a restart); township, county and city list it, and it
drops from their lists once the village accepts it. A note that moves the clock (an extension)
ends the alert by itself. Over Spring Festival 2026 the dates reported are the clock book's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from demo.embedded import run_embedded
from fengqiao.bootstrap import bootstrap
from fengqiao.main import main as cli_main
from hub.store import HubStore
from nodes.config import ConfigError, NodeConfig, load_config
from nodes.domain import commands as cmd
from nodes.domain.case import SHANGHAI, Case
from nodes.domain.clock_book import ClockKind
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from nodes.service import PartyInput
from nodes.store import deadline_alerts
from protocol.bundle import unpack
from protocol.envelope import decode
from protocol.messages import LifecycleReport
from protocol.reference import CaseSource
from protocol.topology import EXCHANGE_REPORT
from tests.support.clock import FakeClock
from tests.support.nodes import write_config

VILLAGE, TOWNSHIP, COUNTY, CITY = "330681111242", "330681111000", "330681000000", "330600000000"
HUBS = (TOWNSHIP, COUNTY, CITY)
NAME, PHONE = "欧阳娜娜", "13912345678"
SWEPT = ("overdue", "due_soon", "deadline_clear")


@dataclass
class Net:
    broker: MemoryBroker
    clock: FakeClock
    configs: dict[str, NodeConfig]
    paths: dict[str, Path]
    nodes: dict[str, Node]

    def pump(self) -> None:
        while sum(n.publish() for n in self.nodes.values()) + sum(
                n.consume() for n in self.nodes.values()):
            pass

    def sweep(self) -> int:
        """Every node's housekeeping round, then the network to quiet; the village's reports."""
        written = sum(n.housekeep().deadlines.reports for n in self.nodes.values())
        self.pump()
        return written

    def listed(self, code: str) -> list[dict[str, Any]]:
        store = self.nodes[code].store
        assert isinstance(store, HubStore)
        return store.deadlines_reported(self.clock.now().date())

    def restart(self, code: str) -> None:
        self.nodes[code].close()
        self.nodes[code] = bootstrap(self.configs[code], clock=self.clock, broker=self.broker)
        self.nodes[code].declare()

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()


def network(folder: Path, start: datetime, **village: Any) -> Net:
    broker, clock = MemoryBroker(), FakeClock(start)
    paths = {code: write_config(folder, code, **(village if code == VILLAGE else {}))
             for code in (VILLAGE, *HUBS)}
    configs = {code: load_config(path) for code, path in paths.items()}
    nodes = {code: bootstrap(c, clock=clock, broker=broker) for code, c in configs.items()}
    for node in nodes.values():
        node.declare()
    return Net(broker, clock, configs, paths, nodes)


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    n = network(tmp_path, datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))  # a Monday, no holiday
    yield n
    n.close()


def new_case(node: Node) -> str:
    return node.service.new_case(
        source=CaseSource.APPLICATION, dispute_type="02", facts="两家因院墙边界发生争执",
        parties=[PartyInput("applicant", NAME, None, PHONE), PartyInput("respondent", "李四")]
    ).case_id


def accept(node: Node, case_id: str) -> None:
    rules = node.service.rules

    def steps(case: Case, actor: Any, at: Any) -> None:
        cmd.consent(case, actor, at)
        cmd.accept(case, actor, at, rules)
    node.service.act(case_id, steps)


def swept_reports(net: Net) -> list[tuple[bytes, LifecycleReport]]:
    """Every deadline-sweep report published so far, with the bytes that travelled."""
    out = []
    for m in net.broker.published:
        if m.exchange != EXCHANGE_REPORT:
            continue
        for body in unpack(m.body, m.headers) or [m.body]:
            payload = decode(body).payload
            if isinstance(payload, LifecycleReport) and payload.event in SWEPT:
                out.append((body, payload))
    return out


def clock_due(node: Node, case_id: str, kind: ClockKind) -> date:
    case = node.store.load_case(case_id)
    assert case is not None
    (clock,) = [c for c in case.clocks() if c.kind is kind and c.running]
    return clock.due


# --- acceptance: due soon, overdue, once each, then gone -------------------------------------
def test_an_unaccepted_case_is_reported_due_soon_then_overdue_once_and_listed_above(
        net: Net) -> None:
    village = net.nodes[VILLAGE]
    case_id = new_case(village)
    due = clock_due(village, case_id, ClockKind.ACCEPTANCE)
    assert due == date(2026, 3, 9)  # seven calendar days, a working Monday
    assert net.sweep() == 0
    assert all(net.listed(h) == [] for h in HUBS)

    net.clock.set(datetime(2026, 3, 6, 9, 0, tzinfo=SHANGHAI))  # three days before
    assert net.sweep() == 1
    for hub in HUBS:
        (row,) = net.listed(hub)
        assert (row["case_id"], row["node_id"], row["tier"], row["status"],
                row["clock_kind"], row["due"], row["days_left"]) == (
            case_id, VILLAGE, "village", "due_soon", "acceptance", "2026-03-09", 3)
    assert net.sweep() == 0  # the same due-soon clock is not sent again

    net.clock.set(datetime(2026, 3, 11, 8, 0, tzinfo=SHANGHAI))  # two days late
    result = village.housekeep()
    assert (result.deadlines.overdue, result.deadlines.due_soon,
            result.deadlines.reports) == (1, 0, 1)
    net.pump()
    for hub in HUBS:
        (row,) = net.listed(hub)
        assert (row["status"], row["due"], row["days_late"]) == ("overdue", "2026-03-09", 2)
    assert net.sweep() == 0
    net.restart(VILLAGE)  # what was sent is on file: not sent again after a restart
    assert net.sweep() == 0
    reports = swept_reports(net)
    assert [r.event for _, r in reports] == ["due_soon", "overdue"]
    for body, report in reports:  # nothing personal travels
        assert report.party_hashes == ()
        assert report.state_from == report.state_to == "REGISTERED"
        assert report.due == due
        assert NAME.encode() not in body
        assert PHONE.encode() not in body

    accept(net.nodes[VILLAGE], case_id)  # the transition's report takes it off every list
    net.pump()
    assert all(net.listed(h) == [] for h in HUBS)
    assert net.sweep() == 0  # its target runs a month: nothing to say, nothing sent
    assert deadline_alerts.alert_counts(net.nodes[VILLAGE].store) == {}


def test_a_report_that_arrives_late_does_not_bring_an_alert_back(net: Net) -> None:
    """Reports are not an ordered stream: the newest per case and node wins at the hub, whatever
    order they are applied in."""
    village = net.nodes[VILLAGE]
    case_id = new_case(village)
    net.clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI))
    village.housekeep()
    village.publish()
    accept(village, case_id)
    village.publish()
    county = net.nodes[COUNTY]
    queue = county.queue.name
    held = []  # take the county's deliveries, then apply them newest first
    net.broker.connect().drain_queue(queue, held.append)
    assert len(held) == 2
    for delivery in reversed(held):
        county.consumer.handle(delivery)
    assert net.listed(COUNTY) == []


def test_a_note_that_moves_the_clock_ends_the_alert_and_a_closed_case_sends_nothing(
        tmp_path: Path) -> None:
    net = network(tmp_path, datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI), target_days=5)
    try:
        village = net.nodes[VILLAGE]
        case_id = new_case(village)
        accept(village, case_id)
        assert clock_due(village, case_id, ClockKind.MEDIATION) == date(2026, 3, 9)
        net.clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI))
        assert net.sweep() == 1
        assert [r["clock_kind"] for r in net.listed(CITY)] == ["mediation"]
        rules = village.service.rules
        village.service.act(case_id, lambda c, a, t: cmd.extend(
            c, a, t, rules, days=10, both_parties_consent=True))  # a note: no report of its own
        assert clock_due(village, case_id, ClockKind.MEDIATION) == date(2026, 3, 17)
        assert net.sweep() == 1  # the end of the alert
        assert net.listed(CITY) == []
        assert net.sweep() == 0
        net.clock.set(datetime(2026, 3, 14, 9, 0, tzinfo=SHANGHAI))
        assert net.sweep() == 1
        assert [(r["status"], r["due"]) for r in net.listed(CITY)] == [("due_soon", "2026-03-17")]
        village.service.act(case_id, lambda c, a, t: cmd.terminate(
            c, a, t, reason="当事人撤回", remedies_notified=True))
        net.clock.set(datetime(2026, 3, 30, 9, 0, tzinfo=SHANGHAI))
        net.pump()
        before = len(swept_reports(net))
        assert net.sweep() == 0  # a terminated case's clocks stopped: nothing is sent
        assert len(swept_reports(net)) == before
        assert net.listed(CITY) == []
        events = [r.event for _, r in swept_reports(net)]
        assert events == ["overdue", "deadline_clear", "due_soon"]
    finally:
        net.close()


# --- Spring Festival 2026 --------------------------------------------------------------------
def test_weeks_over_spring_festival_report_the_clock_book_s_dates(tmp_path: Path) -> None:
    """Registered on 10 Feb 2026: seven days end on 17 Feb, inside the Spring Festival break
    (15-23 Feb), so the acceptance clock falls due on the first working day after it, 24 Feb.
    A case accepted on 9 Feb with a five-day target ends on Saturday 14 Feb, a make-up working
    day (调休上班): due that day, not moved."""
    net = network(tmp_path, datetime(2026, 2, 9, 9, 0, tzinfo=SHANGHAI), target_days=5)
    try:
        village = net.nodes[VILLAGE]
        mediating = new_case(village)
        accept(village, mediating)
        net.clock.set(datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
        waiting = new_case(village)
        dues = {mediating: clock_due(village, mediating, ClockKind.MEDIATION),
                waiting: clock_due(village, waiting, ClockKind.ACCEPTANCE)}
        assert dues == {mediating: date(2026, 2, 14), waiting: date(2026, 2, 24)}
        sent: dict[tuple[str, str], date] = {}
        for day in range(28):  # 10 Feb to 9 Mar, one sweep a day
            net.clock.set(datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI) + timedelta(days=day))
            before = len(swept_reports(net))
            net.sweep()
            for _, report in swept_reports(net)[before:]:
                case = next(c for c in dues if report.due == dues[c])
                assert (case, report.event) not in sent  # once each
                sent[(case, report.event)] = net.clock.now().date()
                assert report.clock_kind == ("mediation" if case == mediating else "acceptance")
        assert sent == {(mediating, "due_soon"): date(2026, 2, 11),
                        (mediating, "overdue"): date(2026, 2, 15),
                        (waiting, "due_soon"): date(2026, 2, 21),
                        (waiting, "overdue"): date(2026, 2, 25)}
        listed = {r["case_id"]: r for r in net.listed(COUNTY)}  # on 9 Mar
        assert {c: (r["status"], r["due"], r["days_late"]) for c, r in listed.items()} == {
            mediating: ("overdue", "2026-02-14", 23), waiting: ("overdue", "2026-02-24", 13)}
    finally:
        net.close()


# --- the command ----------------------------------------------------------------------------
def test_hub_overdue_lists_the_subtree_and_refuses_a_village(
        net: Net, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    case_id = new_case(net.nodes[VILLAGE])
    net.clock.set(datetime(2026, 3, 11, 8, 0, tzinfo=SHANGHAI))
    net.nodes[VILLAGE].heartbeat()  # the station's name, as hubs learn it
    net.sweep()
    net.close()
    monkeypatch.setenv("FENGQIAO_NOW", "2026-03-12T10:00:00+08:00")
    capsys.readouterr()
    county = str(net.paths[COUNTY])
    assert cli_main(["--lang", "en", "--config", county, "hub", "overdue"]) == 0
    text = capsys.readouterr().out
    assert "1 overdue in the subtree (today 2026-03-12)" in text
    (line,) = [x for x in text.splitlines() if case_id in x]
    assert VILLAGE in line
    assert "acceptance" in line
    assert "2026-03-09" in line
    assert line.split()[-1] == "3"  # days late, counted from the command's today
    assert cli_main(["--lang", "en", "--config", county, "hub", "overdue", "--json",
                     "--sort", "tier"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(r["case_id"], r["days_late"]) for r in data["overdue"]] == [(case_id, 3)]
    assert data["due_soon"] == []
    assert cli_main(["--lang", "en", "--config", county, "hub", "overdue", "--soon"]) == 0
    assert "Nothing in the subtree is due soon" in capsys.readouterr().out
    assert cli_main(["--lang", "en", "--config", str(net.paths[VILLAGE]), "hub",
                     "overdue"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "kept by hubs" in err[0]


def test_a_bad_due_soon_setting_is_one_sentence_naming_the_field(tmp_path: Path) -> None:
    path = write_config(tmp_path, VILLAGE)
    text = path.read_text(encoding="utf-8")
    assert "due_soon_days = 3\n" in text  # the default, written out with every field
    path.write_text(text.replace("due_soon_days = 3", "due_soon_days = 99"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert "due_soon_days" in text
    assert "\n" not in text
    path.write_text(path.read_text(encoding="utf-8").replace("= 99", "= 5"), encoding="utf-8")
    assert load_config(path).due_soon_days == 5


def test_the_demo_moves_its_clock_on_and_the_city_sees_the_sweep(tmp_path: Path) -> None:
    result = run_embedded(tmp_path, cases_per_village=1, seed=3, days=10)
    found = result["deadlines"]
    assert isinstance(found, dict)
    assert found["reports"] == 12  # one dispute left waiting at each of the 12 villages
    assert [(r["tier"], r["clock_kind"], r["days_late"] > 0) for r in found["overdue"]] == [
        ("village", "acceptance", True)] * 12
    assert found["due_soon"] == []
