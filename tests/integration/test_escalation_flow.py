"""Whole chains of nodes on a real RabbitMQ, each node a NodeRuntime (relay and consumer threads)
in this process: a case escalated village -> township -> county -> city and settled there, every
decision travelling back down to the village; and a township handing a case back down (交办).

Area codes are invented under city 3397 (see test_relay.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from fengqiao.bootstrap import bootstrap
from hub.flow import flow_table, stations
from hub.store import HubStore
from nodes.domain import commands as c
from nodes.domain.case import local_date
from nodes.domain.states import Action
from nodes.messaging.amqp import AmqpTransport
from nodes.messaging.runtime import NodeRuntime
from nodes.node import Node
from nodes.service import PartyInput
from protocol.areas import Tier
from protocol.reference import CaseSource, EscalationReason
from protocol.topology import node_queue, node_queue_name
from tests.support.amqp import delete_queues
from tests.support.nodes import node_config
from tests.support.wait import wait_until

pytestmark = pytest.mark.broker

WAIT_S = 30.0
CITY = "339700000000"


def wait_for(check: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    return wait_until(check, what, timeout, every=0.05)


class Chain:
    """Configs, runtimes and a staff handle (own store connection) per node."""

    def __init__(self, url: str, tmp_path: Path, nodes: list[tuple[str, Tier]],
                 sinks: Sequence[tuple[str, Tier]] = ()) -> None:
        self.url = url
        self.configs = {code: node_config(tmp_path, code, tier=tier, broker_url=url)
                        for code, tier in nodes}
        self.queues = [node_queue_name(code) for code, _ in (*nodes, *sinks)]
        delete_queues(url, self.queues)
        self.staff: dict[str, Node] = {code: bootstrap(cfg) for code, cfg in self.configs.items()}
        # Declared (and empty) before anything runs: nothing published is unroutable or stale.
        transport = AmqpTransport(url)
        try:
            transport.declare([node.queue for node in self.staff.values()]
                              + [node_queue(code, tier) for code, tier in sinks])
        finally:
            transport.close()
        self.runtimes = [NodeRuntime(cfg, partial(bootstrap, cfg))
                         for cfg in self.configs.values()]

    def start(self) -> None:
        for runtime in self.runtimes:
            runtime.start()
        for runtime in self.runtimes:
            assert runtime.ready.wait(WAIT_S), f"{runtime.config.node_id} did not declare"

    def stop(self) -> None:
        for runtime in self.runtimes:
            runtime.stop(timeout=WAIT_S)

    def close(self) -> None:
        self.stop()
        for node in self.staff.values():
            node.close()
        delete_queues(self.url, self.queues)

    def state(self, code: str, case_id: str) -> str | None:
        case = self.staff[code].store.load_case(case_id)
        return case.state.value if case and case.state else None

    def act(self, code: str, case_id: str, command: Callable[..., None]) -> None:
        self.staff[code].service.act(case_id, command)

    def decisions(self, code: str, case_id: str) -> list[tuple[str, str]]:
        return [(e.data["decision"]["deciding_tier"], e.data["decision"]["decision"])
                for e in self.staff[code].store.load_events(case_id)
                if e.action in (Action.DECISION_ABOVE, Action.SETTLE_ABOVE)]


def escalate(reason: EscalationReason) -> Callable[..., None]:
    return lambda case, actor, at: c.escalate(case, actor, at, reason=reason, consent_given=True)


def new_case(node: Node) -> str:
    return node.service.new_case(
        source=CaseSource.APPLICATION, dispute_type="08", facts="征地补偿款分配纠纷（测试）",
        parties=[PartyInput("applicant", "钱某", id_number="330681197001011238"),
                 PartyInput("respondent", "孙某", phone="13700000002")],
        people_involved=6).case_id


@pytest.fixture
def chain(amqp_url: str, tmp_path: Path) -> Iterator[Chain]:
    county, township, village = "339731000000", "339731101000", "339731101201"
    network = Chain(amqp_url, tmp_path, [(village, Tier.VILLAGE), (township, Tier.TOWNSHIP),
                                         (county, Tier.COUNTY), (CITY, Tier.CITY)])
    try:
        yield network
    finally:
        network.close()


def test_case_climbs_to_city_and_decisions_come_back_down(chain: Chain) -> None:
    village, township, county = "339731101201", "339731101000", "339731000000"
    chain.start()
    case_id = new_case(chain.staff[village])
    chain.act(village, case_id, escalate(EscalationReason.GROUP_CASE))

    wait_for(lambda: chain.state(township, case_id) == "REGISTERED", "township registration")
    chain.act(township, case_id, escalate(EscalationReason.MAJOR_MATTER))
    wait_for(lambda: chain.state(county, case_id) == "REGISTERED", "county registration")
    chain.act(county, case_id, escalate(EscalationReason.MAJOR_MATTER))
    wait_for(lambda: chain.state(CITY, case_id) == "REGISTERED", "city registration")

    rules = chain.staff[CITY].service.rules
    for step in (
        lambda k, a, t: c.consent(k, a, t),
        lambda k, a, t: c.accept(k, a, t, rules),
        lambda k, a, t: c.mediate(k, a, t, rules),
        lambda k, a, t: c.agree(k, a, t, rules, form="oral", terms="按人口平均分配补偿款",
                                effective_date=local_date(t)),
        lambda k, a, t: c.perform(k, a, t),
        lambda k, a, t: c.follow_up(k, a, t, honoured=True),  # closing needs it (issue 16)
        lambda k, a, t: c.close(k, a, t, "协议已履行"),
    ):
        chain.act(CITY, case_id, step)

    wait_for(lambda: ("city", "closed") in chain.decisions(village, case_id),
             "the city's closing decision at the village")
    city_store = chain.staff[CITY].store
    assert isinstance(city_store, HubStore)

    def flow_settled() -> bool:
        tiers = {row.tier: row for row in flow_table(city_store)}
        return all(tiers[t].registered == 1 for t in ("village", "township", "county", "city")) \
            and tiers["city"].settled == 1 and tiers["county"].escalated == 1
    wait_for(flow_settled, "the city's flow table")
    wait_for(lambda: len(stations(city_store, chain.staff[CITY].service.clock.now(), CITY)) == 3,
             "heartbeats of the three nodes below the city")
    wait_for(lambda: all(n.store.outbox_depth() == 0 for n in chain.staff.values()),
             "empty outboxes")
    chain.stop()
    for runtime in chain.runtimes:
        assert not any(thread.is_alive() for thread in runtime.threads)

    from_city = [("city", "accepted"), ("city", "resolved"), ("city", "closed")]
    # every copy below the city was settled above by the city's agreement (issue 16)
    assert (chain.state(village, case_id), chain.decisions(village, case_id)) == \
        ("SETTLED_ABOVE", [("township", "escalated"), ("county", "escalated"), *from_city])
    assert (chain.state(township, case_id), chain.decisions(township, case_id)) == \
        ("SETTLED_ABOVE", [("county", "escalated"), *from_city])
    assert (chain.state(county, case_id), chain.decisions(county, case_id)) == \
        ("SETTLED_ABOVE", from_city)
    assert chain.state(CITY, case_id) == "CLOSED"
    for code in (township, county, CITY):
        row = next(r for r in chain.staff[code].store.case_rows() if r["case_id"] == case_id)
        assert row["origin_node"] == village
        assert row["people_involved"] == 6
        assert [p.name for p in chain.staff[code].store.parties(case_id)] == ["钱某", "孙某"]
    assert chain.staff[CITY].store.case_rows()[0]["escalated_from"] == county

    tiers = {row.tier: row for row in flow_table(city_store)}
    assert [(t, tiers[t].registered, tiers[t].settled, tiers[t].escalated)
            for t in ("village", "township", "county", "city")] == \
        [("village", 1, 0, 1), ("township", 1, 0, 1), ("county", 1, 0, 1), ("city", 1, 1, 0)]
    assert tiers["city"].local_resolution_rate == 1.0
    assert tiers["city"].open == 0
    assert {s.node_id for s in stations(city_store, chain.staff[CITY].service.clock.now(),
                                        CITY)} == set(chain.configs) - {CITY}
    for node in chain.staff.values():
        assert node.store.quarantine_count() == 0


@pytest.fixture
def pair(amqp_url: str, tmp_path: Path) -> Iterator[Chain]:
    township, village = "339732101000", "339732101201"
    # The county's queue only takes the reports, so none of them goes unroutable.
    network = Chain(amqp_url, tmp_path, [(village, Tier.VILLAGE), (township, Tier.TOWNSHIP)],
                    sinks=[("339732000000", Tier.COUNTY)])
    try:
        yield network
    finally:
        network.close()


def test_township_hands_case_down_and_village_reports_back(pair: Chain) -> None:
    village, township = "339732101201", "339732101000"
    pair.start()
    case_id = new_case(pair.staff[village])
    pair.act(village, case_id, escalate(EscalationReason.CROSS_AREA))
    wait_for(lambda: pair.state(township, case_id) == "REGISTERED", "township registration")

    rules = pair.staff[township].service.rules
    pair.act(township, case_id, lambda k, a, t: c.hand_down(
        k, a, t, rules, instruction="请村调委会会同土地所继续调解并按期反馈",
        report_back_days=15))
    assert pair.state(township, case_id) == "HANDED_DOWN"
    handed = pair.staff[township].store.load_events(case_id)[-1]
    report_back_by = date.fromisoformat(handed.data["report_back_by"])

    wait_for(lambda: pair.state(village, case_id) == "RETURNED", "the village's RETURNED case")
    case = pair.staff[village].store.load_case(case_id)
    assert case is not None
    assert case.target is not None
    assert case.target.due == report_back_by
    row = pair.staff[village].store.case_rows()[0]
    assert row["target_due"] == report_back_by.isoformat()
    returned = case.events[-1]
    assert returned.action is Action.RETURN
    assert returned.reason == "请村调委会会同土地所继续调解并按期反馈"
    assert returned.data["decision"]["deciding_node"] == township
    assert case_id in pair.staff[village].store.overdue_case_ids(report_back_by.replace(
        year=report_back_by.year + 1))

    # Mediation at the village fails again: the same case goes back up and is registered anew.
    vrules = pair.staff[village].service.rules
    pair.act(village, case_id, lambda k, a, t: c.mediate(k, a, t, vrules))
    pair.act(village, case_id, escalate(EscalationReason.NO_AGREEMENT))
    wait_for(lambda: pair.state(township, case_id) == "REGISTERED"
             and len(pair.staff[township].store.load_events(case_id)) == 3,
             "the second registration at the township")
    actions = [e.action for e in pair.staff[township].store.load_events(case_id)]
    assert actions == [Action.REGISTER, Action.HAND_DOWN, Action.REGISTER]
    assert len(pair.staff[township].store.parties(case_id)) == 2
    pair.stop()
    for runtime in pair.runtimes:
        assert not any(thread.is_alive() for thread in runtime.threads)
    for node in pair.staff.values():
        assert node.store.quarantine_count() == 0
