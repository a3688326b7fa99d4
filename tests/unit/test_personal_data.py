"""Personal data never in logs, reports or heartbeats, never in the clear on disk (DOMAIN §7), and an
accuser's identity never toward the accused (DOMAIN §4, 检举控告).

The network test runs the whole sample city (embedded transport) at DEBUG, records every message
published and every line logged, then searches them, every node's outbox and the hubs' tables for
ID numbers, mobile numbers and the parties' names, and every node's raw file bytes (WAL included)
for names, ID numbers, phones and addresses.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog

from demo.embedded import run_embedded
from demo.network import sample_network
from fengqiao.bootstrap import bootstrap
from fengqiao.main import main
from hub.intake import on_case_escalated
from nodes.config import NodeConfig, load_config
from nodes.crypto import new_key
from nodes.domain import commands as cmd
from nodes.domain.case import DomainError, Rules
from nodes.i18n import render
from nodes.logs import configure
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from nodes.service import PartyInput
from protocol.areas import Tier
from protocol.bundle import unpack
from protocol.envelope import decode
from protocol.messages import CaseDecision, CaseEscalated, Party
from protocol.reference import CaseSource, EscalationReason

# Standalone numbers of the two shapes; digits inside a longer token (a hex hash, a uuid) are not
# numbers. The exact values recorded are searched for as well, wherever they stand.
ID_PATTERN = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dX](?![0-9A-Za-z])")
MOBILE_PATTERN = re.compile(r"(?<![0-9A-Za-z])1\d{10}(?![0-9A-Za-z])")


def leaks(text: str, needles: Sequence[str]) -> list[str]:
    found = ID_PATTERN.findall(text) + MOBILE_PATTERN.findall(text)
    return found + [n for n in needles if n and (n in text or json.dumps(n)[1:-1] in text)]


# --- the whole network --------------------------------------------------------------------------
@dataclass
class Run:
    workdir: Path
    published: list[tuple[str, bytes]]  # (schema or exchange, body)
    logged: str


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    workdir = tmp_path_factory.mktemp("pii-demo")
    broker = MemoryBroker()
    saved_config = structlog.get_config()
    stderr: list[str] = []
    handler = _ListHandler()
    root = logging.getLogger()
    old_level = root.level
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stderr", _Tee(stderr))
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        try:
            configure(level="DEBUG")
            result = run_embedded(workdir, cases_per_village=3, broker=broker)
        finally:
            structlog.configure(**saved_config)
            root.removeHandler(handler)
            root.setLevel(old_level)
    assert result["quarantined"] == 0
    return Run(workdir, published_of(broker), "".join(stderr) + "\n".join(handler.lines))


def published_of(broker: MemoryBroker) -> list[tuple[str, bytes]]:
    """(schema, envelope) for every envelope published from an outbox, bundles unpacked, and
    (exchange, body) for every other message (heartbeats, quarantine copies)."""
    out: list[tuple[str, bytes]] = []
    for message in broker.published:
        if "schema" not in message.headers:
            out.append((message.exchange, message.body))
            continue
        for part in unpack(message.body, message.headers) or [message.body]:
            out.append((str(json.loads(part)["schema_name"]), part))
    return out


class _Tee:
    def __init__(self, into: list[str]) -> None:
        self.into = into

    def write(self, text: str) -> int:
        self.into.append(text)
        return len(text)

    def flush(self) -> None:
        pass


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def everyone(people: dict[str, list[str]]) -> list[str]:
    return people["name"] + people["id"] + people["phone"]


@pytest.fixture(scope="module")
def people(run: Run) -> dict[str, list[str]]:
    """Every party the villages recorded, read back through their keys."""
    out: dict[str, list[str]] = {"name": [], "id": [], "phone": [], "address": []}
    for spec in sample_network():
        if spec.tier is not Tier.VILLAGE:
            continue
        node = bootstrap(load_config(run.workdir / spec.node_id / "fengqiao.toml"))
        try:
            for row in node.store.case_rows():
                for p in node.store.parties(row["case_id"]):
                    out["name"].append(p.name)
                    out["id"].append(p.id_number or "")
                    out["phone"].append(p.phone or "")
                    out["address"].append(p.address or "")
        finally:
            node.close()
    assert len(out["name"]) == 12 * 3 * 2
    return out


def test_logs_are_written_and_carry_no_personal_data(run: Run, people: dict[str, list[str]]) -> None:
    assert "relay.confirmed" in run.logged
    assert "consumer.applied" in run.logged
    assert not leaks(run.logged, everyone(people))


def test_nothing_published_carries_personal_data_the_dossiers_are_sealed(
    run: Run, people: dict[str, list[str]]
) -> None:
    kinds = {kind for kind, _ in run.published}
    assert {"lifecycle_report", "case_escalated", "case_decision", "fengqiao.report"} <= kinds
    dossiers = [body for kind, body in run.published if kind == "case_escalated"]
    assert dossiers
    # Sealed to the receiving hub (protocol 2.0): the dossier's parties travel only as a token.
    for body in dossiers:
        payload = json.loads(body)["payload"]
        assert payload["sealed"].startswith("x1:")
        assert payload["parties"] == []
    for kind, body in run.published:
        assert not leaks(body.decode("utf-8"), everyone(people)), kind


def test_outboxes_and_hub_tables_carry_no_personal_data(run: Run,
                                                        people: dict[str, list[str]]) -> None:
    seen = 0
    for spec in sample_network():
        cfg = load_config(run.workdir / spec.node_id / "fengqiao.toml")
        node = bootstrap(cfg)
        try:
            db = node.store._db
            for (body,) in db.execute("SELECT body FROM outbox WHERE schema_name IN "
                                      "('lifecycle_report', 'heartbeat')"):
                assert not leaks(bytes(body).decode("utf-8"), everyone(people))
                seen += 1
            tables = ("case_events", "cases") + (
                ("reports", "heartbeats") if spec.tier is not Tier.VILLAGE else ())
            for table in tables:
                for row in db.execute(f"SELECT * FROM {table}"):
                    assert not leaks(" ".join(str(v) for v in row), everyone(people)), table
        finally:
            node.close()
    assert seen > 100


def test_no_personal_data_in_the_clear_in_any_database_file(run: Run,
                                                            people: dict[str, list[str]]) -> None:
    needles = {s.encode("utf-8") for kind in ("name", "id", "phone", "address")
               for s in people[kind] if s}
    files = [p for p in run.workdir.rglob("fengqiao.db*") if p.suffix != ".db-shm"]
    assert len([f for f in files if f.name == "fengqiao.db"]) == 19
    for path in files:
        data = path.read_bytes()
        found = [n.decode() for n in needles if n in data]
        assert not found, f"{path}: {found[:5]}"


# --- accusations (检举控告) ---------------------------------------------------------------------
VILLAGE, OTHER_VILLAGE = "330681111242", "330681111243"
TOWNSHIP, COUNTY = "330681111000", "330681000000"
ACCUSER = PartyInput("applicant", "钱检举", "33068119800101234X", "13700001111", "状元村一组")


def node(tmp_path: Path, code: str, tier: Tier) -> Node:
    return bootstrap(NodeConfig(node_id=code, tier=tier, database=tmp_path / f"{code}.db",
                                identity_key="unit-test-identity-key", data_key=new_key()))


@pytest.fixture
def village(tmp_path: Path) -> Iterator[Node]:
    n = node(tmp_path, VILLAGE, Tier.VILLAGE)
    yield n
    n.close()


@pytest.fixture
def township(tmp_path: Path) -> Iterator[Node]:
    n = node(tmp_path, TOWNSHIP, Tier.TOWNSHIP)
    yield n
    n.close()


def accuse(at: Node, accused: str) -> str:
    return at.service.new_case(source=CaseSource.APPLICATION, dispute_type="99",
                               facts="反映村委会账目问题", parties=[ACCUSER],
                               accusation=True, accused=accused).case_id


def escalate(n: Node, case_id: str) -> None:
    n.service.act(case_id, lambda c, a, t: cmd.escalate(
        c, a, t, reason=EscalationReason.CADRE_INVOLVED, consent_given=True))


def deliver_up(child: Node, hub: Node, case_id: str) -> CaseEscalated:
    row = next(r for r in child.store.unsent() if r.schema_name == "case_escalated"
               and r.case_id == case_id)
    assert hub.consumer.verifier is not None
    env = hub.consumer.verifier.open(decode(row.body))  # sealed to the hub: it opens it
    with hub.store.atomic():
        on_case_escalated(hub.service, env)
    assert isinstance(env.payload, CaseEscalated)
    return env.payload


def down_bodies(n: Node, case_id: str) -> list[bytes]:
    return [r.body for r in n.store.unsent() if r.exchange == "fengqiao.down" and r.case_id == case_id]


def test_case_decision_carries_no_party_identity() -> None:
    party_fields = set(Party.model_fields) | {"parties", "party_hashes", "accuser"}
    assert not party_fields & set(CaseDecision.model_fields)


def test_accusation_is_recorded_and_travels_up_with_the_accuser(village: Node,
                                                                township: Node) -> None:
    case_id = accuse(village, VILLAGE)  # the village committee itself is accused
    opening = village.store.load_events(case_id)[0]
    assert opening.data["accusation"] is True
    assert opening.data["accused_node"] == VILLAGE
    assert ACCUSER.name not in json.dumps(opening.data, ensure_ascii=False)
    escalate(village, case_id)
    dossier = deliver_up(village, township, case_id)
    assert dossier.accusation
    assert dossier.accused_node == VILLAGE
    assert dossier.parties[0].name == ACCUSER.name  # the competent higher organ needs it
    assert township.store.load_case(case_id).facts["accused_node"] == VILLAGE  # type: ignore[union-attr]


def test_hub_refuses_to_hand_an_accusation_down_to_the_accused(village: Node,
                                                               township: Node) -> None:
    case_id = accuse(village, VILLAGE)
    escalate(village, case_id)
    deliver_up(village, township, case_id)
    before = township.store.load_events(case_id)
    with pytest.raises(DomainError) as info:
        township.service.act(case_id, lambda c, a, t: cmd.hand_down(
            c, a, t, Rules(), instruction="请村里处理", report_back_days=15))
    assert VILLAGE in str(info.value)
    assert VILLAGE in render(info.value, "zh")
    assert "accused" in str(info.value)
    assert township.store.load_events(case_id) == before
    assert not down_bodies(township, case_id)

    # What does go down to the accused (the hub's own decisions) names nobody.
    township.service.act(case_id, cmd.consent)
    township.service.act(case_id, lambda c, a, t: cmd.accept(c, a, t, Rules()))
    (body,) = down_bodies(township, case_id)
    assert decode(body).payload.decision == "accepted"  # type: ignore[union-attr]
    text = body.decode("utf-8")
    assert not leaks(text, [ACCUSER.name])
    assert "状元村一组" not in text


def test_ordinary_case_is_still_handed_down(village: Node, township: Node) -> None:
    case_id = village.service.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                                       facts="邻里纠纷", parties=[ACCUSER]).case_id
    escalate(village, case_id)
    deliver_up(village, township, case_id)
    township.service.act(case_id, lambda c, a, t: cmd.hand_down(
        c, a, t, Rules(), instruction="请村里处理", report_back_days=15))
    assert len(down_bodies(township, case_id)) == 1


def test_accusation_against_another_village_may_be_handed_back_to_the_accuser_s(
    village: Node, township: Node
) -> None:
    case_id = accuse(village, OTHER_VILLAGE)
    escalate(village, case_id)
    deliver_up(village, township, case_id)
    township.service.act(case_id, lambda c, a, t: cmd.hand_down(
        c, a, t, Rules(), instruction="请核实", report_back_days=15))
    (body,) = down_bodies(township, case_id)
    assert decode(body).payload.decision == "returned"  # type: ignore[union-attr]


def test_accusation_is_never_escalated_to_the_accused(village: Node) -> None:
    case_id = accuse(village, TOWNSHIP)  # the parent is the accused
    with pytest.raises(DomainError, match="accused unit 330681111000"):
        escalate(village, case_id)
    assert not [r for r in village.store.unsent() if r.schema_name == "case_escalated"]
    assert village.store.load_case(case_id).state.value == "REGISTERED"  # type: ignore[union-attr]


def test_accused_hub_refuses_a_dossier_about_itself(village: Node, township: Node) -> None:
    case_id = accuse(village, VILLAGE)
    escalate(village, case_id)
    row = next(r for r in village.store.unsent() if r.schema_name == "case_escalated")
    data = json.loads(row.body)
    data["payload"]["accused_node"] = TOWNSHIP  # as if a sender had not checked
    env = decode(json.dumps(data).encode())
    with pytest.raises(DomainError, match="accusation against this node"), township.store.atomic():
        on_case_escalated(township.service, env)
    assert township.store.load_case(case_id) is None


def test_cli_accusation_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["node", "init", "--code", VILLAGE, "--dir", str(tmp_path)]) == 0
    conf = ["--config", str(tmp_path / "fengqiao.toml"), "--lang", "en"]
    base = ["case", "new", "--type", "99", "--facts", "反映问题", "--applicant", "钱检举",
            "--json"]
    capsys.readouterr()
    assert main([*conf, *base, "--accusation", "--accused", VILLAGE]) == 0
    case_id = json.loads(capsys.readouterr().out)["case_id"]
    assert main([*conf, *base, "--accusation"]) == 2
    assert "--accused" in capsys.readouterr().err
    assert main([*conf, *base, "--accused", VILLAGE]) == 2
    assert "--accusation" in capsys.readouterr().err
    assert main([*conf, *base, "--accusation", "--accused", "12345"]) == 2
    capsys.readouterr()
    n = bootstrap(load_config(tmp_path / "fengqiao.toml"))
    try:
        data = n.store.load_events(case_id)[0].data
    finally:
        n.close()
    assert (data["accusation"], data["accused_node"]) == (True, VILLAGE)
