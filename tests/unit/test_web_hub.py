"""The hub's pages (issue 17 item 4) on the in-memory broker: a village escalates and the
township's today page lists the arrival, red flags first; its case page shows what the dossier
brought; a hand-down from that page reaches the village and waits for its report-back (overdue
first) until the report comes up; the county's flow page lists the table and every station,
silent first; a village has no flow page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import fengqiao.bootstrap  # noqa: F401 - the composition root adds the hub's flow page
from demo.policy import decide
from nodes.domain import commands as cmd
from nodes.domain.case import Case
from nodes.domain.states import CaseState
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from nodes.service import PartyInput
from nodes.web.app import create_app
from protocol.reference import CaseSource, EscalationReason
from tests.support.clock import FakeClock
from tests.support.nodes import build_node
from tests.unit.web_support import Site

VILLAGE, TOWNSHIP, COUNTY, CITY = "330681111242", "330681111000", "330681000000", "330600000000"
NOTE = "欧阳娜娜扬言报复，已报派出所"
REASON = "双方分歧大，村里调解不成"


@dataclass
class Net:
    nodes: dict[str, Node]
    clock: FakeClock

    def pump(self) -> None:
        while sum(n.publish() for n in self.nodes.values()) + sum(
                n.consume() for n in self.nodes.values()):
            pass


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    broker, clock = MemoryBroker(), FakeClock()
    nodes = {code: build_node(tmp_path, code, broker=broker, clock=clock)
             for code in (VILLAGE, TOWNSHIP, COUNTY, CITY)}
    yield Net(nodes, clock)
    for node in nodes.values():
        node.close()


@pytest.fixture
def sites(net: Net) -> Iterator[dict[str, Site]]:
    """Each node's web app, an English-speaking user logged in (hub staff, or a mediator)."""
    out, clients = {}, []
    for code, node in net.nodes.items():
        client = TestClient(create_app(node), base_url="http://127.0.0.1")
        clients.append(client.__enter__())
        site = Site(node, client, net.clock)
        site.add_user("staff", "mediator" if code == VILLAGE else "hub_staff")
        assert site.login("staff") == 303
        site.english()
        out[code] = site
    yield out
    for client in clients:
        client.__exit__(None, None, None)


def new_case(node: Node) -> str:
    return node.service.new_case(
        source=CaseSource.APPLICATION, dispute_type="02", facts="两家因院墙边界发生争执",
        parties=[PartyInput("applicant", "欧阳娜娜", None, "13912345678"),
                 PartyInput("respondent", "李四")], people_involved=2).case_id


def escalate(node: Node, case_id: str, *, flag: bool = False) -> None:
    rules = node.service.rules

    def steps(case: Case, actor: Any, at: Any) -> None:
        if flag:
            cmd.red_flag(case, actor, at, note=NOTE, police_reported=True)
        cmd.consent(case, actor, at)
        cmd.accept(case, actor, at, rules)
        cmd.escalate(case, actor, at, reason=EscalationReason.NO_AGREEMENT, consent_given=True,
                     note=REASON)
    node.service.act(case_id, steps)


def seq_of(html: str) -> str:
    match = re.search(r'name="seq" value="(\d+)"', html)
    assert match
    return match.group(1)


def hand_down(site: Site, case_id: str, days: str) -> int:
    url = f"/cases/{case_id}"
    page = site.client.get(url).text
    assert "act/hand_down" in page
    answer = site.post(f"{url}/act/hand_down", {"seq": seq_of(page), "instruction": "请村里再调解一次",
                                                "days": days}, url)
    return answer.status_code


def section(html: str, heading_id: str) -> str:
    """The HTML of one section of the today page (from its heading to the next section)."""
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_arrivals_from_below_red_flags_first_with_the_dossier(net: Net,
                                                               sites: dict[str, Site]) -> None:
    village = net.nodes[VILLAGE]
    plain, flagged = new_case(village), new_case(village)
    escalate(village, plain)  # arrives first ...
    net.pump()
    net.clock.advance(hours=1)
    escalate(village, flagged, flag=True)  # ... but the red flag is listed first
    net.pump()
    township = sites[TOWNSHIP]
    today = section(township.client.get("/").text, "arr-h")
    assert flagged in today
    assert plain in today
    assert today.index(flagged) < today.index(plain)
    assert today.count('class="flag"') == 1
    assert f'href="/cases/{flagged}"' in today
    assert "no agreement" in today.lower() or REASON in today
    page = township.client.get(f"/cases/{flagged}").text
    dossier = page[page.index('id="dossier-h"'):]
    assert NOTE in dossier  # the red flag's note, brought sealed by the dossier
    assert REASON in dossier  # why it came up
    assert VILLAGE in dossier  # where from, and the village's own history
    assert dossier.count("<tr>") >= 4  # register, red flag, consent, accept, escalate (+ head)
    for step in ("accept", "hand_down", "refer_out", "reject", "escalate"):
        assert f"act/{step}" in page
    at_village = sites[VILLAGE].client.get(f"/cases/{flagged}").text
    assert NOTE in at_village  # the village sees its own flag's note, but nothing came from below
    assert "From below" not in at_village
    assert "<title>" in page
    assert NOTE not in page[page.index("<title>"):page.index("</title>")]


def test_a_hand_down_waits_for_its_report_back_overdue_first(net: Net,
                                                             sites: dict[str, Site]) -> None:
    village, township = net.nodes[VILLAGE], sites[TOWNSHIP]
    later, sooner = new_case(village), new_case(village)
    escalate(village, later)
    escalate(village, sooner)
    net.pump()
    assert hand_down(township, later, "30") == 303
    assert hand_down(township, sooner, "2") == 303
    assert township.node.store.load_case(sooner).state is CaseState.HANDED_DOWN  # type: ignore[union-attr]
    net.pump()
    assert village.store.load_case(sooner).state is CaseState.RETURNED  # type: ignore[union-attr]
    net.clock.advance(days=5)
    waiting = section(township.client.get("/").text, "wait-h")
    assert waiting.index(sooner) < waiting.index(later)
    assert waiting.count("late-mark") == 1  # only the 2-day one is overdue
    assert "请村里再调解一次" in waiting
    decide(village, sooner, CaseState.RETURNED)  # the village settles it as instructed
    net.pump()
    assert township.node.store.load_case(sooner).state is CaseState.SETTLED_BELOW  # type: ignore[union-attr]
    html = township.client.get("/").text
    assert sooner not in section(html, "wait-h")
    assert sooner in section(html, "back-h")
    assert "closed: 协议已履行（示例）" in section(html, "back-h")  # the report-back line


def test_the_flow_page_lists_the_table_and_every_station_silent_first(
        net: Net, sites: dict[str, Site]) -> None:
    village = net.nodes[VILLAGE]
    escalate(village, new_case(village))
    village.heartbeat()
    net.pump()
    net.clock.advance(minutes=10)  # the village has been silent since
    net.nodes[TOWNSHIP].heartbeat()
    net.pump()
    county = sites[COUNTY]
    answer = county.client.get("/flow")
    assert answer.status_code == 200
    html = answer.text
    assert "local resolution rate" in html
    assert "Village" in html or "village" in html
    stations = html[html.index('class="stations"'):]
    assert stations.index(VILLAGE) < stations.index(TOWNSHIP)  # silent first
    assert "SILENT" in stations
    assert 'href="/flow"' in county.client.get("/").text
    assert 'href="/flow"' in sites[TOWNSHIP].client.get("/").text
    assert sites[TOWNSHIP].client.get("/flow").status_code == 200
    assert sites[VILLAGE].client.get("/flow").status_code == 404
    assert 'href="/flow"' not in sites[VILLAGE].client.get("/").text
