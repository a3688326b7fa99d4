"""Red flags travel at once (issue 16 item 3), on the in-memory broker.

A red flag recorded at a village reaches the township, county and city at once as a lifecycle
report with nothing personal in it; every tier lists and filters red-flag cases; `hub flow`
counts them per tier; and a hub that receives the case shows everything the dossier carries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from fengqiao import main as cli_main
from fengqiao.bootstrap import bootstrap
from hub.flow import flow_json
from hub.store import HubStore
from nodes.cli.case_render import show_json, show_text
from nodes.cli.i18n import t as say
from nodes.config import load_config
from nodes.domain import commands as cmd
from nodes.domain.case import Case
from nodes.domain.states import Action, CaseState
from nodes.keyring import LocalKeyring
from nodes.labels import ref_label
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from nodes.service import PartyInput
from protocol.areas import Tier
from protocol.bundle import unpack
from protocol.envelope import Envelope, decode
from protocol.messages import CaseEscalated, LifecycleReport
from protocol.reference import CaseSource, EscalationReason
from protocol.routing import key_matches, node_key
from protocol.seal import open_sealed
from protocol.sealed import open_payload, seal_payload
from protocol.topology import EXCHANGE_REPORT, EXCHANGE_UP, node_queue
from tests.support.nodes import write_config

VILLAGE, TOWNSHIP, COUNTY, CITY = "330681111242", "330681111000", "330681000000", "330600000000"
HUBS = (TOWNSHIP, COUNTY, CITY)
GRID = VILLAGE + "007"
NAME, PHONE, ADDRESS = "欧阳娜娜", "13912345678", "状元村九组3号"
NOTE = "欧阳娜娜扬言报复，已报派出所"
REASON = "双方分歧大，村里调解不成"
NOW = "2026-01-05T10:00:00+08:00"


@dataclass
class Net:
    broker: MemoryBroker
    configs: dict[str, Path]
    nodes: dict[str, Node]

    def pump(self) -> None:
        """Publish and consume until nothing moves."""
        while sum(n.publish() for n in self.nodes.values()) + sum(
                n.consume() for n in self.nodes.values()):
            pass

    def hub_store(self, code: str) -> HubStore:
        store = self.nodes[code].store
        assert isinstance(store, HubStore)
        return store

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()


def network(folder: Path) -> Net:
    """Village, township, county and city from config files, as `node init` writes them."""
    broker = MemoryBroker()
    configs = {code: write_config(folder, code) for code in (VILLAGE, *HUBS)}
    nodes = {code: bootstrap(load_config(path), broker=broker) for code, path in configs.items()}
    for node in nodes.values():
        node.declare()
    return Net(broker, configs, nodes)


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    n = network(tmp_path)
    yield n
    n.close()


def new_case(node: Node, grid: str | None = GRID) -> str:
    return node.service.new_case(
        source=CaseSource.APPLICATION, dispute_type="02", facts="两家因院墙边界发生争执",
        parties=[PartyInput("applicant", NAME, None, PHONE, ADDRESS),
                 PartyInput("respondent", "李四")], people_involved=5, grid_id=grid).case_id


def red_flag(node: Node, case_id: str, note: str = NOTE) -> None:
    node.service.act(case_id, lambda c, a, t: cmd.red_flag(c, a, t, note=note,
                                                           police_reported=True))


def escalate(node: Node, case_id: str, note: str = REASON) -> None:
    rules = node.service.rules

    def steps(case: Case, actor: Any, at: Any) -> None:
        if case.state is CaseState.REGISTERED:
            cmd.consent(case, actor, at)
            cmd.accept(case, actor, at, rules)
        cmd.escalate(case, actor, at, reason=EscalationReason.NO_AGREEMENT, consent_given=True,
                     note=note)
    node.service.act(case_id, steps)


def published(net: Net, exchange: str) -> list[tuple[bytes, Envelope]]:
    """Every envelope published on `exchange` (bundles opened), with the bytes that travelled."""
    return [(body, decode(body)) for m in net.broker.published if m.exchange == exchange
            for body in unpack(m.body, m.headers) or [m.body]]


def reports_of(net: Net, event: str) -> list[tuple[bytes, LifecycleReport]]:
    """Every lifecycle report of `event` published."""
    return [(body, env.payload) for body, env in published(net, EXCHANGE_REPORT)
            if isinstance(env.payload, LifecycleReport) and env.payload.event == event]


# --- at once, everywhere, nothing personal ---------------------------------------------------
def test_the_township_binds_its_subtree_s_reports() -> None:
    bindings = node_queue(TOWNSHIP, Tier.TOWNSHIP).bindings
    assert any(ex == EXCHANGE_REPORT and key_matches(key, node_key(VILLAGE))
               for ex, key in bindings)
    assert not any(ex == EXCHANGE_REPORT for ex, _ in node_queue(VILLAGE, Tier.VILLAGE).bindings)


def test_a_red_flag_reaches_township_county_and_city_at_once(net: Net) -> None:
    case_id = new_case(net.nodes[VILLAGE])
    net.pump()
    assert all(case_id not in net.hub_store(h).red_flag_case_ids() for h in HUBS)
    red_flag(net.nodes[VILLAGE], case_id)
    net.pump()
    for hub in HUBS:
        store = net.hub_store(hub)
        assert case_id in store.red_flag_case_ids(), hub
        (row,) = store.red_flags_reported()
        assert (row["case_id"], row["held_at"], row["state"]) == (case_id, VILLAGE, "REGISTERED")
        assert store.load_case(case_id) is None  # nothing escalated: the report is all it has


def test_the_red_flag_report_carries_nothing_personal(net: Net) -> None:
    case_id = new_case(net.nodes[VILLAGE])
    red_flag(net.nodes[VILLAGE], case_id)
    net.pump()
    ((body, report),) = reports_of(net, "red_flag")
    text = body.decode("utf-8")
    for secret in (NAME, PHONE, ADDRESS, NOTE, "扬言", "李四", "院墙"):
        assert secret not in text
    assert (report.origin_node, report.node_id, report.tier) == (VILLAGE, VILLAGE, Tier.VILLAGE)
    assert set(json.loads(text)["payload"]) <= set(LifecycleReport.model_fields)


def test_a_red_flag_after_escalation_lands_on_the_hub_s_copy_and_goes_no_further(
        net: Net) -> None:
    village = net.nodes[VILLAGE]
    case_id = new_case(village)
    escalate(village, case_id)
    net.pump()
    assert not net.nodes[TOWNSHIP].store.load_case(case_id).red_flag  # type: ignore[union-attr]
    red_flag(village, case_id, note="又起冲突")
    net.pump()
    copy = net.nodes[TOWNSHIP].store.load_case(case_id)
    assert copy is not None
    assert copy.red_flag
    below = copy.events[-1]
    assert below.action is Action.RED_FLAG
    assert below.data["reported_by"] == VILLAGE
    assert below.reason == ""  # the report had no note to give
    # The hub's note is not reported again: one red-flag report, the village's.
    assert [r.node_id for _, r in reports_of(net, "red_flag")] == [VILLAGE]
    text = show_text(copy, net.nodes[TOWNSHIP].store.parties(case_id), date(2026, 1, 5), "en")
    assert f"reported by {VILLAGE} village" in text


# --- what a receiving hub shows --------------------------------------------------------------
@pytest.fixture(scope="module")
def travelled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Net, dict[str, str]]:
    """A: red flag at the village, escalated to the township and on to the county. B: a red flag
    on a case that stays at the village. C: escalated with no red flag."""
    n = network(tmp_path_factory.mktemp("travelled"))
    village, township = n.nodes[VILLAGE], n.nodes[TOWNSHIP]
    cases = {k: new_case(village) for k in "ABC"}
    red_flag(village, cases["A"])
    escalate(village, cases["A"])
    escalate(village, cases["C"], note="当事人要求上报")
    red_flag(village, cases["B"], note="另一起")
    red_flag(village, cases["B"], note="第二次")
    n.pump()
    escalate(township, cases["A"], note="镇里调解不成")
    n.pump()
    n.close()  # the CLI opens the files itself
    return n, cases


def hub_case(net: Net, code: str, case_id: str) -> tuple[Case, Any]:
    node = bootstrap(load_config(net.configs[code]), broker=net.broker)
    try:
        case = node.store.load_case(case_id)
        assert case is not None
        return case, node.store.parties(case_id)
    finally:
        node.close()


@pytest.mark.parametrize("hub", [TOWNSHIP, COUNTY])
def test_a_receiving_hub_shows_every_item_of_the_dossier(
        travelled: tuple[Net, dict[str, str]], hub: str) -> None:
    net, cases = travelled
    case, parties = hub_case(net, hub, cases["A"])
    text = show_text(case, parties, date(2026, 1, 5), "zh")
    assert say("show_red_flag", "zh") in text
    assert NOTE in text
    assert "网格：" + GRID in text
    assert "涉及人数：5" in text
    assert NAME in text
    assert PHONE in text
    assert ADDRESS in text
    assert "李四" in text
    lines = text.splitlines()
    # The escalation's reason and note, as the sender gave them.
    note = REASON if hub == TOWNSHIP else "镇里调解不成"
    assert [ln for ln in lines if note in ln and ref_label("no_agreement", "zh") in ln]
    # Every lower tier's history: the village's events at both hubs, the township's at the county.
    village_rows = [ln for ln in lines if ln.split()[3:4] == [VILLAGE]]
    assert len(village_rows) == 5  # register, red flag, consent, accept, escalate
    assert any(NOTE in ln for ln in village_rows)
    assert any(REASON in ln for ln in village_rows)
    township_rows = [ln for ln in lines if ln.split()[3:4] == [TOWNSHIP]]
    assert len(township_rows) == (0 if hub == TOWNSHIP else 4)

    data = show_json(case, parties, date(2026, 1, 5), "zh")
    assert data["red_flag"] is True
    assert data["grid_id"] == GRID
    assert data["red_flag_notes"] == [NOTE]
    assert data["escalation"]["red_flag"] is True
    assert {h["node_id"] for h in data["escalation"]["history"]} == (
        {VILLAGE} if hub == TOWNSHIP else {VILLAGE, TOWNSHIP})


def test_the_dossier_seals_the_red_flag_note_and_carries_the_grid(
        travelled: tuple[Net, dict[str, str]]) -> None:
    net, cases = travelled
    dossiers = [(body, env.payload) for body, env in published(net, EXCHANGE_UP)
                if isinstance(env.payload, CaseEscalated) and env.case_id == cases["A"]]
    assert len(dossiers) == 2  # village -> township, township -> county
    for body, payload in dossiers:
        assert payload.sealed is not None
        assert payload.red_flag_note == ""
        assert payload.red_flag is True
        assert payload.grid_id == GRID
        assert NOTE not in body.decode("utf-8")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli_main.main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FENGQIAO_LANG", "FENGQIAO_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FENGQIAO_NOW", NOW)


@pytest.mark.usefixtures("fixed_now")
@pytest.mark.parametrize("code", [VILLAGE, TOWNSHIP, COUNTY, CITY])
def test_every_tier_lists_and_filters_red_flag_cases(
        travelled: tuple[Net, dict[str, str]], capsys: pytest.CaptureFixture[str],
        code: str) -> None:
    net, cases = travelled
    config = str(net.configs[code])
    flagged = cli(capsys, "case", "list", "--red-flag", "--json", "--config", config)
    rows = {r["case_id"]: r for r in json.loads(flagged)}
    assert set(rows) == {cases["A"], cases["B"]}  # never C
    assert all(r["red_flag"] for r in rows.values())
    # B never left the village: a hub lists it from the reports, with where it is.
    assert rows[cases["B"]]["held_at"] == (None if code == VILLAGE else VILLAGE)
    everything = json.loads(cli(capsys, "case", "list", "--json", "--config", config))
    marks = {r["case_id"]: r["red_flag"] for r in everything}
    expected = {VILLAGE: {cases["A"]: True, cases["B"]: True, cases["C"]: False},
                TOWNSHIP: {cases["A"]: True, cases["C"]: False},
                COUNTY: {cases["A"]: True}, CITY: {}}[code]
    assert marks == expected
    text = cli(capsys, "case", "list", "--red-flag", "--lang", "en", "--config", config)
    head, *body = text.strip().splitlines()
    assert head.endswith("red flag")
    assert all(line.split()[-1] == "yes" for line in body)
    assert len(body) == 2
    if code != VILLAGE:
        assert f"(at {VILLAGE})" in text


@pytest.mark.usefixtures("fixed_now")
def test_the_red_flag_filter_keeps_the_state_filter(
        travelled: tuple[Net, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    net, cases = travelled
    config = str(net.configs[COUNTY])
    out = cli(capsys, "case", "list", "--red-flag", "--state", "REGISTERED", "--json",
              "--config", config)
    # A is registered at the county; B is REGISTERED at the village, as the reports tell.
    assert {r["case_id"] for r in json.loads(out)} == {cases["A"], cases["B"]}
    out = cli(capsys, "case", "list", "--red-flag", "--state", "MEDIATING", "--json",
              "--config", config)
    assert json.loads(out) == []


@pytest.mark.usefixtures("fixed_now")
@pytest.mark.parametrize("code", [COUNTY, CITY])
def test_hub_flow_counts_red_flag_cases_per_tier(
        travelled: tuple[Net, dict[str, str]], capsys: pytest.CaptureFixture[str],
        code: str) -> None:
    net, _ = travelled
    config = str(net.configs[code])
    tiers = {t["tier"]: t for t in json.loads(cli(capsys, "hub", "flow", "--json", "--config",
                                                  config))["tiers"]}
    # A and B flagged at the village (B twice: one case), none raised above it.
    assert {k: v["red_flags"] for k, v in tiers.items()} == {
        "village": 2, "township": 0, "county": 0, "city": 0}
    text = cli(capsys, "hub", "flow", "--lang", "en", "--config", config)
    head, village_row = text.splitlines()[:2]
    assert village_row.startswith("village")
    assert village_row[head.index("red flags"):].split()[0] == "2"


def test_flow_json_counts_distinct_cases(travelled: tuple[Net, dict[str, str]]) -> None:
    net, _ = travelled
    node = bootstrap(load_config(net.configs[TOWNSHIP]), broker=net.broker)
    try:
        assert isinstance(node.store, HubStore)
        tiers = {t["tier"]: t for t in flow_json(node.store, node.clock.now())["tiers"]}  # type: ignore[attr-defined]
    finally:
        node.close()
    assert tiers["village"]["red_flags"] == 2


def test_a_case_handed_down_comes_back_up_with_the_longer_history(net: Net) -> None:
    """Since the dossier lists every lower tier, the hub finds the child's own first entry to
    recognise a case it handed down coming back (not the village's, listed first)."""
    village, township, county = net.nodes[VILLAGE], net.nodes[TOWNSHIP], net.nodes[COUNTY]
    case_id = new_case(village)
    escalate(village, case_id)
    net.pump()
    escalate(township, case_id)
    net.pump()
    county.service.act(case_id, lambda c, a, t: cmd.hand_down(
        c, a, t, county.service.rules, instruction="请镇里再调解一次", report_back_days=10))
    net.pump()
    assert township.store.load_case(case_id).state is CaseState.RETURNED  # type: ignore[union-attr]
    escalate(township, case_id, note="再次调解不成")
    net.pump()
    assert county.store.quarantined() == []
    back = county.store.load_case(case_id)
    assert back is not None
    assert back.state is CaseState.REGISTERED
    assert back.red_flag is False
    assert [e.action for e in back.events].count(Action.REGISTER) == 2


# --- the dossier's new fields ----------------------------------------------------------------
def dossier(**fields: Any) -> CaseEscalated:
    base: dict[str, Any] = {
        "origin_node": VILLAGE, "from_tier": "village", "dispute_type": "02", "facts": "院墙",
        "parties": [{"role": "applicant", "name": NAME, "party_hash": "0" * 64}],
        "people_involved": 2, "reason": "no_agreement", "consent": True,
        "registered_at": "2026-01-05T10:00:00+08:00"}
    return CaseEscalated.model_validate({**base, **fields})


def test_a_grid_must_be_one_of_the_origin_village_s() -> None:
    assert dossier(grid_id=GRID).grid_id == GRID
    for bad in ("330681111243007", "33068111124200", "33068111124200x"):
        with pytest.raises(ValidationError):
            dossier(grid_id=bad)


@pytest.mark.parametrize("note", ["", NOTE])
def test_the_red_flag_note_travels_sealed_and_only_when_there_is_one(note: str) -> None:
    """An empty note is left out of the sealed fields, so a 2.0 hub still opens the dossier."""
    keyring = LocalKeyring()
    _, sealing = keyring.pair(TOWNSHIP)
    sealed = seal_payload(dossier(red_flag=True, red_flag_note=note, grid_id=GRID),
                          keyring.directory(), TOWNSHIP, VILLAGE, "m-1")
    assert sealed.red_flag_note == ""
    assert sealed.grid_id == GRID
    assert sealed.sealed
    assert NOTE not in sealed.model_dump_json()
    inside = json.loads(open_sealed(sealed.sealed, [sealing], TOWNSHIP, VILLAGE, "m-1"))
    assert ("red_flag_note" in inside) is bool(note)
    opened = open_payload(sealed, [sealing], TOWNSHIP, VILLAGE, "m-1")
    assert opened.red_flag_note == note
    assert opened.parties[0].name == NAME
