"""件件有回音 (issue 16 items 1 and 2), on the in-memory transport: every decision comes down to
every tier the case passed through, readable and final; a hand-down's outcome reports back up.

A village, its township, county and city, each a node wired by the one root, share one in-memory
broker; `pump` publishes every outbox and drains every queue until the network is quiet.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hub.flow import flow_json
from hub.store import HubStore
from nodes.cli.case_render import show_json, show_text
from nodes.domain import above
from nodes.domain import commands as cmd
from nodes.domain.case import DomainError
from nodes.domain.states import Action, CaseState
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from nodes.service import PartyInput
from protocol.reference import CaseSource, EscalationReason, ReferralTarget
from tests.support.clock import FakeClock
from tests.support.nodes import build_node

CITY, COUNTY, TOWNSHIP, VILLAGE = "330600000000", "330681000000", "330681111000", "330681111242"
NAMES = {CITY: "示例市", COUNTY: "示例县", TOWNSHIP: "状元镇", VILLAGE: "状元村"}
TERMS = "李四拆除越界院墙，赔偿张三800元"


class Net:
    def __init__(self, folder: Path) -> None:
        self.broker, self.clock = MemoryBroker(), FakeClock()
        self.nodes: dict[str, Node] = {
            code: build_node(folder, code, broker=self.broker, clock=self.clock, name=name)
            for code, name in NAMES.items()}

    def pump(self) -> None:
        for _ in range(50):
            moved = sum(n.publish() for n in self.nodes.values())
            moved += sum(n.consume() for n in self.nodes.values())
            if not moved:
                return
        raise AssertionError("the network did not go quiet")

    def act(self, code: str, case_id: str, command: Any) -> None:
        self.nodes[code].service.act(case_id, command)
        self.pump()

    def state(self, code: str, case_id: str) -> CaseState | None:
        case = self.nodes[code].store.load_case(case_id)
        return None if case is None else case.state

    def show(self, code: str, case_id: str) -> str:
        node = self.nodes[code]
        case = node.store.load_case(case_id)
        assert case is not None
        return show_text(case, node.store.parties(case_id), date(2026, 3, 2), "zh")

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    network = Net(tmp_path)
    yield network
    network.close()


def escalated_case(net: Net, up_to: str = TOWNSHIP) -> str:
    """A village case mediated without agreement and escalated, hub by hub, up to `up_to`."""
    village = net.nodes[VILLAGE].service
    case = village.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                            facts="两家因院墙边界发生争执",
                            parties=[PartyInput("applicant", "张三"),
                                     PartyInput("respondent", "李四")])
    case_id = case.case_id

    def consent_accept(c: Any, a: Any, t: Any) -> None:
        cmd.consent(c, a, t, scope="mediation", given=True)
        cmd.accept(c, a, t, village.rules)
    net.act(VILLAGE, case_id, consent_accept)
    net.act(VILLAGE, case_id, lambda c, a, t: cmd.escalate(
        c, a, t, reason=EscalationReason.NO_AGREEMENT, consent_given=True))
    for hub in (TOWNSHIP, COUNTY, CITY):
        assert net.state(hub, case_id) is CaseState.REGISTERED
        if hub == up_to:
            break
        net.act(hub, case_id, lambda c, a, t: cmd.escalate(
            c, a, t, reason=EscalationReason.MAJOR_MATTER, consent_given=True))
    return case_id


def settle_by_agreement(net: Net, hub: str, case_id: str) -> None:
    rules = net.nodes[hub].service.rules

    def agree(c: Any, a: Any, t: Any) -> None:
        cmd.consent(c, a, t, scope="mediation", given=True)
        cmd.accept(c, a, t, rules)
        cmd.mediate(c, a, t, rules)
        cmd.agree(c, a, t, rules, form="oral", terms=TERMS, effective_date=t.date())
    net.act(hub, case_id, agree)


# --- item 1: outcomes come back readable and final ------------------------------------------
def test_county_agreement_reaches_township_and_village_readable_and_settled(net: Net) -> None:
    case_id = escalated_case(net, up_to=COUNTY)
    settle_by_agreement(net, COUNTY, case_id)

    assert net.state(COUNTY, case_id) is CaseState.AGREED
    for code in (TOWNSHIP, VILLAGE):  # every tier the case passed through, and the origin
        assert net.state(code, case_id) is CaseState.SETTLED_ABOVE
        text = net.show(code, case_id)
        # who decided (name, tier, code), the outcome, the terms, the date: in one line
        line = [x for x in text.splitlines() if x.startswith("上级处理")][-1]
        for part in ("示例县", "县（区）", COUNTY, "达成协议", TERMS, "2026-03-02"):
            assert part in line, (part, line)
    shown = show_json(net.nodes[VILLAGE].store.load_case(case_id),  # type: ignore[arg-type]
                      [], date(2026, 3, 2), "zh")
    # the township's escalation, the county's acceptance, the county's agreement
    assert [o["from"] for o in shown["outcomes"]] == ["above"] * 3
    assert TERMS in shown["outcomes"][-1]["line"]


def test_the_station_follows_up_and_closes_a_case_settled_above(net: Net) -> None:
    case_id = escalated_case(net, up_to=TOWNSHIP)
    settle_by_agreement(net, TOWNSHIP, case_id)
    assert net.state(VILLAGE, case_id) is CaseState.SETTLED_ABOVE
    net.act(VILLAGE, case_id, lambda c, a, t: cmd.follow_up(c, a, t, honoured=True,
                                                           note="回访确认已履行"))
    net.act(VILLAGE, case_id, lambda c, a, t: cmd.close(c, a, t, "上级调解成功，已回访"))
    assert net.state(VILLAGE, case_id) is CaseState.CLOSED
    net.act(TOWNSHIP, case_id, lambda c, a, t: cmd.perform(c, a, t))
    net.act(TOWNSHIP, case_id, lambda c, a, t: cmd.follow_up(c, a, t, honoured=True))
    net.act(TOWNSHIP, case_id, lambda c, a, t: cmd.close(c, a, t))
    # a decision arriving after the village closed its copy is still recorded, never refused
    village_case = net.nodes[VILLAGE].store.load_case(case_id)
    assert village_case is not None
    assert village_case.events[-1].action is Action.DECISION_ABOVE
    assert net.nodes[VILLAGE].store.quarantine_count() == 0

    # the city's flow counts the case settled once, at the township that settled it
    city_store = net.nodes[CITY].store
    assert isinstance(city_store, HubStore)
    tiers = {t["tier"]: t for t in flow_json(city_store, net.clock.now())["tiers"]}  # type: ignore
    assert tiers["township"]["settled"] == 1
    assert tiers["village"]["settled"] == 0
    assert tiers["village"]["open"] == 0


@pytest.mark.parametrize(("outcome", "line_part"), [
    ("referred", "移交"), ("rejected", "不予受理")])
def test_referral_and_rejection_above_settle_the_village_copy(net: Net, outcome: str,
                                                             line_part: str) -> None:
    case_id = escalated_case(net, up_to=TOWNSHIP)
    if outcome == "referred":
        net.act(TOWNSHIP, case_id, lambda c, a, t: cmd.refer_out(
            c, a, t, target=ReferralTarget.COURT, reason="涉及物权确认，需诉讼"))
    else:
        net.act(TOWNSHIP, case_id, lambda c, a, t: cmd.reject(c, a, t, "已向法院起诉"))
    assert net.state(VILLAGE, case_id) is CaseState.SETTLED_ABOVE
    line = [x for x in net.show(VILLAGE, case_id).splitlines() if x.startswith("上级处理")][-1]
    assert line_part in line
    assert "状元镇" in line
    if outcome == "referred":
        assert "人民法院" in line
        assert "需诉讼" in line


def test_terms_travel_sealed(net: Net) -> None:
    case_id = escalated_case(net, up_to=TOWNSHIP)
    settle_by_agreement(net, TOWNSHIP, case_id)
    decisions = [m.body for m in net.broker.published if m.exchange == "fengqiao.down"]
    assert decisions
    assert not any(TERMS.encode() in body for body in decisions)
    assert net.state(VILLAGE, case_id) is CaseState.SETTLED_ABOVE


# --- item 2: 交办 reports back ---------------------------------------------------------------
def handed_down(net: Net, days: int = 15) -> str:
    case_id = escalated_case(net, up_to=TOWNSHIP)
    rules = net.nodes[TOWNSHIP].service.rules
    net.act(TOWNSHIP, case_id, lambda c, a, t: cmd.hand_down(
        c, a, t, rules, instruction="请村调委会再次组织调解", report_back_days=days))
    assert net.state(TOWNSHIP, case_id) is CaseState.HANDED_DOWN
    assert net.state(VILLAGE, case_id) is CaseState.RETURNED
    return case_id


def test_the_village_outcome_reports_back_and_the_township_moves_on(net: Net) -> None:
    case_id = handed_down(net)
    net.act(VILLAGE, case_id, lambda c, a, t: above.report_up(c, a, t, text="已约双方周五到场"))
    assert net.state(TOWNSHIP, case_id) is CaseState.HANDED_DOWN  # an interim report: a note
    assert "阶段性反馈" in net.show(TOWNSHIP, case_id)

    rules = net.nodes[VILLAGE].service.rules
    net.act(VILLAGE, case_id, lambda c, a, t: cmd.mediate(c, a, t, rules))
    net.act(VILLAGE, case_id, lambda c, a, t: cmd.agree(
        c, a, t, rules, form="oral", terms=TERMS, effective_date=t.date()))
    assert net.state(TOWNSHIP, case_id) is CaseState.SETTLED_BELOW
    lines = [x for x in net.show(TOWNSHIP, case_id).splitlines() if x.startswith("下级反馈")]
    assert len(lines) == 2
    assert "状元村" in lines[1]
    assert TERMS in lines[1]
    assert "达成协议" in lines[1]
    township = net.nodes[TOWNSHIP].store.load_case(case_id)
    assert township is not None
    assert not township.is_overdue(date(2027, 1, 1))


def test_a_hand_down_without_report_back_is_overdue_where_it_was_handed_down(net: Net) -> None:
    case_id = handed_down(net, days=3)
    township = net.nodes[TOWNSHIP].store.load_case(case_id)
    assert township is not None
    assert township.target is not None
    assert not township.is_overdue(township.target.due)
    assert township.is_overdue(date.fromordinal(township.target.due.toordinal() + 1))


def test_an_interim_report_needs_a_hub_waiting_for_it(net: Net) -> None:
    case_id = escalated_case(net, up_to=TOWNSHIP)
    with pytest.raises(DomainError, match="nobody to report to"):
        net.act(TOWNSHIP, case_id, lambda c, a, t: above.report_up(c, a, t, text="在办"))


def test_a_termination_before_the_case_went_up_is_no_predecessor_of_the_report_back(
        net: Net) -> None:
    """The report-back stream names only what was sent in it: a village that terminated its own
    mediation before escalating sent no report-back then, so the first one it sends after the
    hand-down must not wait for it (found in the demo: report-backs held for ever)."""
    village = net.nodes[VILLAGE].service
    case_id = village.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts="排水沟纠纷",
                               parties=[PartyInput("applicant", "张三")]).case_id

    def to_terminated(c: Any, a: Any, t: Any) -> None:
        cmd.consent(c, a, t, scope="mediation", given=True)
        cmd.accept(c, a, t, village.rules)
        cmd.mediate(c, a, t, village.rules)
        cmd.terminate(c, a, t, reason="分歧大", remedies_notified=True)
        cmd.escalate(c, a, t, reason=EscalationReason.NO_AGREEMENT, consent_given=True)
    net.act(VILLAGE, case_id, to_terminated)
    rules = net.nodes[TOWNSHIP].service.rules
    net.act(TOWNSHIP, case_id, lambda c, a, t: cmd.hand_down(
        c, a, t, rules, instruction="再调解", report_back_days=15))
    net.act(VILLAGE, case_id, lambda c, a, t: cmd.mediate(c, a, t, village.rules))
    net.act(VILLAGE, case_id, lambda c, a, t: cmd.agree(
        c, a, t, village.rules, form="oral", terms=TERMS, effective_date=t.date()))
    assert net.nodes[TOWNSHIP].store.held_count() == 0
    assert net.state(TOWNSHIP, case_id) is CaseState.SETTLED_BELOW
