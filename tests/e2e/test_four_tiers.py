"""A village, a township, a county and a city, each its own `fengqiao` service process on a real
RabbitMQ. A case is escalated step by step to the city, settled there, and every decision comes
back down; staff work through the command line exactly as they would at their desks.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nodes.messaging.amqp_admin import AmqpAdmin
from protocol.areas import tier_of
from protocol.topology import node_queue, node_queue_name
from tests.support.program import FENGQIAO
from tests.support.sql import rows
from tests.support.wait import wait_until

pytestmark = pytest.mark.broker

# A branch of the tree used by no other test (台州 codes; sample data).
CITY, COUNTY, TOWNSHIP, VILLAGE = "331000000000", "331002000000", "331002101000", "331002101201"
WAIT_S = 60.0


def cli(config: Path, *args: str) -> Any:
    done = subprocess.run([*FENGQIAO, "--config", str(config), *args, "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_for(what: str, check: Callable[[], Any]) -> Any:
    return wait_until(check, what, WAIT_S, every=0.2)


def case_at(config: Path, case_id: str) -> dict[str, Any] | None:
    done = subprocess.run([*FENGQIAO, "--config", str(config), "case", "show", case_id, "--json"],
                          capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout) if done.returncode == 0 else None


@pytest.fixture
def network(tmp_path: Path, amqp_url: str) -> Iterator[Network]:
    configs: dict[str, Path] = {}
    for code in (CITY, COUNTY, TOWNSHIP, VILLAGE):
        folder = tmp_path / code
        subprocess.run([*FENGQIAO, "node", "init", "--code", code, "--dir", str(folder),
                        "--broker-url", amqp_url, "--identity-key", "e2e-shared-identity-key-0001"],
                       check=True, capture_output=True, timeout=60)
        configs[code] = folder / "fengqiao.toml"
        # The test broker has one shared user (guest), not one per node as `deploy apply` makes,
        # so the validated user id cannot name the sender here (tests/integration covers that).
        text = configs[code].read_text(encoding="utf-8")
        assert "require_user_id = true" in text  # what `node init` writes
        configs[code].write_text(text.replace("require_user_id = true", "require_user_id = false"),
                                 encoding="utf-8")
    # The network's public keys, gathered and given to every node as an operator does.
    subprocess.run([*FENGQIAO, "deploy", "keys",
                    *(str(path.parent / "public-keys.json") for path in configs.values()),
                    "--out", str(tmp_path / "keys.json"), "--configs",
                    *(str(path) for path in configs.values())],
                   check=True, capture_output=True, timeout=60)
    for path in configs.values():
        shutil.copy(tmp_path / "keys.json", path.parent / "keys.json")
    transport = AmqpAdmin(amqp_url)  # the topology, as deploy/ would load it
    transport.declare([node_queue(code, tier_of(code)) for code in configs])
    for code in configs:
        transport.purge(node_queue_name(code))
    services = Services(configs, tmp_path)
    try:
        for code in configs:
            services.start(code)
        yield Network(configs, services)
        services.stop_all()
    finally:
        services.kill_all()
        transport.close()


class Services:
    """Each node's `fengqiao node run` / `hub run` process, with its log file; one can be
    stopped and started again (its sweep runs at start)."""

    def __init__(self, configs: dict[str, Path], folder: Path) -> None:
        self.configs, self.folder = configs, folder
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, code: str) -> None:
        log = (self.folder / f"{code}.log").open("a")
        self.procs[code] = subprocess.Popen(
            [*FENGQIAO, "node" if code == VILLAGE else "hub", "run", "--no-web", "--config",
             str(self.configs[code])], stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "FENGQIAO_LOG_LEVEL": "INFO"})
        log.close()  # the child has its own handle

    def stop(self, code: str) -> None:
        proc = self.procs[code]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=45) == 0, (self.folder / f"{code}.log").read_text()

    def stop_all(self) -> None:
        for code in list(self.procs):
            self.stop(code)

    def kill_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()


class Network(dict[str, Path]):
    """Each node's config by its code, and the services running them."""

    def __init__(self, configs: dict[str, Path], services: Services) -> None:
        super().__init__(configs)
        self.services = services


def test_case_escalated_to_city_and_decided_there(network: dict[str, Path]) -> None:
    village, township, county, city = (network[c] for c in (VILLAGE, TOWNSHIP, COUNTY, CITY))
    case_id = cli(village, "case", "new", "--type", "07", "--facts", "两村山林边界争议",
                  "--applicant", "王某甲:33010619900101123X:13800000001",
                  "--respondent", "李某乙::13900000002", "--people", "3")["case_id"]
    for step in (["accept", "--consent"], ["mediate"],
                 ["terminate", "--reason", "未达成协议", "--remedies-notified"],
                 ["escalate", "--reason", "cross_area", "--consent"]):
        cli(village, "case", step[0], case_id, *step[1:])

    for here in (township, county):  # each hub registers it, then passes it up with consent
        wait_for("registration", lambda here=here: (case_at(here, case_id) or {}).get("state")
                 == "REGISTERED")
        cli(here, "case", "escalate", case_id, "--reason", "major_matter", "--consent")

    wait_for("city registration", lambda: (case_at(city, case_id) or {}).get("state")
             == "REGISTERED")
    for step in (["accept", "--consent"], ["mediate"],
                 ["agree", "--form", "oral", "--terms", "按原界桩划界"], ["perform"],
                 ["follow-up", "--honoured"], ["close"]):  # closing needs the visit (issue 16)
        cli(city, "case", step[0], case_id, *step[1:])

    def village_heard_city_closed() -> bool:
        shown = case_at(village, case_id) or {}
        return any(e.get("action") == "decision_above" and "closed" in json.dumps(e)
                   and CITY in json.dumps(e) for e in shown.get("events", []))
    wait_for("the city's decision at the village", village_heard_city_closed)

    # Every tier the case passed through, and the origin, knows it was settled above, and reads
    # who settled it, how and when (件件有回音).
    states = {code: case_at(path, case_id)["state"] for code, path in network.items()}
    assert states == {VILLAGE: "SETTLED_ABOVE", TOWNSHIP: "SETTLED_ABOVE",
                      COUNTY: "SETTLED_ABOVE", CITY: "CLOSED"}
    lines = [o["line"] for o in case_at(village, case_id)["outcomes"]]  # type: ignore[index]
    assert any(CITY in line and "按原界桩划界" in line for line in lines), lines
    cli(village, "case", "follow-up", case_id, "--honoured", "--note", "回访：已按界桩划界")
    cli(village, "case", "close", case_id, "--note", "市级调解成功，回访确认")
    assert case_at(village, case_id)["state"] == "CLOSED"  # type: ignore[index]

    # The city's own parties table holds the dossier's parties; nothing else was duplicated.
    city_db = network[CITY].parent / "fengqiao.db"
    assert rows(city_db, "SELECT count(*) FROM parties WHERE case_id = ?", (case_id,))[0][0] == 2
    reports = " ".join(str(r) for r in rows(city_db, "SELECT * FROM reports"))
    for personal in ("王某甲", "33010619900101123X", "13800000001", "李某乙"):
        assert personal not in reports

    def flow() -> dict[str, Any] | None:
        tiers = {t["tier"]: t for t in cli(city, "hub", "flow")["tiers"]}
        return tiers if tiers["city"]["settled"] == 1 else None
    tiers = wait_for("the city's flow table", flow)
    assert [tiers[t]["registered"] for t in ("village", "township", "county", "city")] \
        == [1, 1, 1, 1]
    # settled once, at the city: the village's own closing after the follow-up does not count
    assert [tiers[t]["settled"] for t in ("village", "township", "county", "city")] \
        == [0, 0, 0, 1]
    assert [tiers[t]["escalated"] for t in ("village", "township", "county", "city")] \
        == [1, 1, 1, 0]
    assert tiers["city"]["local_resolution_rate"] == 1.0
    assert tiers["township"]["transit_mean_s"] is not None


def test_hand_down_reports_back(network: dict[str, Path]) -> None:
    """The township hands a case back down with an instruction; the village mediates it again,
    sends an interim report, then agrees: the township's copy shows both and is settled below."""
    village, township = network[VILLAGE], network[TOWNSHIP]
    case_id = cli(village, "case", "new", "--type", "02", "--facts", "宅基地排水沟纠纷",
                  "--applicant", "赵某甲", "--respondent", "钱某乙")["case_id"]
    for step in (["accept", "--consent"], ["escalate", "--reason", "no_agreement", "--consent"]):
        cli(village, "case", step[0], case_id, *step[1:])
    wait_for("registration at the township",
             lambda: (case_at(township, case_id) or {}).get("state") == "REGISTERED")
    cli(township, "case", "hand-down", case_id, "--instruction", "请村调委会组织现场勘查后调解",
        "--days", "15")
    wait_for("the hand-down at the village",
             lambda: (case_at(village, case_id) or {}).get("state") == "RETURNED")
    cli(village, "case", "report-up", case_id, "--text", "已约双方现场勘查")
    wait_for("the interim report at the township", lambda: any(
        e["action"] == "report_received" for e in (case_at(township, case_id) or {})
        .get("events", [])))
    cli(village, "case", "mediate", case_id)
    cli(village, "case", "agree", case_id, "--form", "oral", "--terms", "共同出资疏通排水沟")
    shown = wait_for("the report-back at the township", lambda: (
        s if (s := case_at(township, case_id) or {}).get("state") == "SETTLED_BELOW" else None))
    assert any("共同出资疏通排水沟" in o["line"] and VILLAGE in o["line"]
               for o in shown["outcomes"])


def test_a_red_flag_reaches_every_tier_at_once(network: dict[str, Path]) -> None:
    """A red flag raised at the village is listed at the township, county and city before the
    case goes anywhere, and the report that carried it names nobody."""
    village = network[VILLAGE]
    case_id = cli(village, "case", "new", "--type", "01", "--facts", "邻里纠纷，一方扬言报复",
                  "--applicant", "孙某甲", "--respondent", "周某乙")["case_id"]
    cli(village, "case", "red-flag", case_id, "--police-reported", "--note", "扬言报复，已报派出所")
    assert [r["case_id"] for r in cli(village, "case", "list", "--red-flag")] == [case_id]
    for hub in (TOWNSHIP, COUNTY, CITY):
        wait_for(f"the red flag at {hub}", lambda hub=hub: case_id in {
            r["case_id"] for r in cli(network[hub], "case", "list", "--red-flag")})
    city_db = network[CITY].parent / "fengqiao.db"
    reports = " ".join(str(r) for r in rows(city_db, "SELECT * FROM reports WHERE case_id = ?",
                                            (case_id,)))
    for personal in ("孙某甲", "周某乙", "扬言报复"):
        assert personal not in reports


def test_a_city_order_reaches_the_village_and_the_answer_the_city(
        network: dict[str, Path]) -> None:
    """督办 (issue 18): a city supervisor orders the village three hops down, the village
    answers, the city sees the answer; the tiers between passed both on."""
    village, city = network[VILLAGE], network[CITY]
    case_id = cli(village, "case", "new", "--type", "02", "--facts", "相邻通行纠纷",
                  "--applicant", "吴某甲", "--respondent", "郑某乙")["case_id"]
    wait_for("the case's report at the city", lambda: case_id in {
        r[0] for r in rows(city.parent / "fengqiao.db", "SELECT case_id FROM reports", ())})
    issued = cli(city, "--user", "督查甲", "order", "issue", case_id, "--reason",
                 "当事人反映久拖未办，请于七日内调处并反馈", "--days", "7")
    assert (issued["status"], issued["part"]) == ("waiting", "issued")
    held = wait_for("the order at the village", lambda: [
        o for o in cli(village, "order", "list") if o["order_id"] == issued["order_id"]])
    assert held[0]["part"] == "held"
    for hub in (COUNTY, TOWNSHIP):
        assert [o["part"] for o in cli(network[hub], "order", "list")] == ["passed"]
    cli(village, "--user", "王芳", "order", "answer", issued["order_id"], "--text",
        "已约双方当事人周五到村委会调解")
    answered = wait_for("the answer at the city", lambda: (
        o if (o := cli(city, "order", "show", issued["order_id"]))["status"] == "answered"
        else None))
    assert answered["answering_node"] == VILLAGE
    assert answered["answer"] == "已约双方当事人周五到村委会调解"


def test_a_second_order_left_unanswered_raises_the_level(network: Network) -> None:
    """Two orders on one case, both left unanswered past their date: the city's sweep (at its
    start) raises the second overdue one to listed supervision (挂牌督办), which travels down to
    the village. The dates are moved into the past in the city's file while it is stopped: time
    travel, as the processes run on the real clock."""
    village, city = network[VILLAGE], network[CITY]
    case_id = cli(village, "case", "new", "--type", "02", "--facts", "相邻采光纠纷",
                  "--applicant", "冯某甲", "--respondent", "陈某乙")["case_id"]
    firsts = [cli(city, "order", "issue", case_id, "--reason", reason, "--days", "3")
              for reason in ("请调处并反馈", "再次督办：请调处并反馈")]
    wait_for("both orders at the village", lambda: len(cli(village, "order", "list")) == 2)
    network.services.stop(CITY)
    db = city.parent / "fengqiao.db"
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.execute("UPDATE supervision SET respond_by = '2000-01-01'")
    finally:
        conn.close()
    network.services.start(CITY)
    listed = wait_for("the listed order at the village", lambda: [
        o for o in cli(village, "order", "list") if o["level"] == "listed_supervision"])
    raised = cli(city, "order", "show", listed[0]["order_id"])
    assert raised["raised_from"] in {o["order_id"] for o in firsts}
    assert raised["part"] == "issued"
