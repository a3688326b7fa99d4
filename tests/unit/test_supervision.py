"""督办 issued and answered (issue 18 item 2), on the in-memory transport: a city supervisor's
order travels down hop by hop to the node holding the case, follows the case, is answered, and
the answer travels back up; refusals write nothing; unanswered orders are overdue at both ends,
and the second overdue one on a case raises the level to listed supervision."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from nodes.domain import commands as cmd
from nodes.domain.case import DomainError, local_date
from nodes.domain.states import CaseState
from nodes.service import PartyInput
from nodes.store import supervision as orders
from nodes.supervision import Supervision
from protocol.reference import CaseSource, EscalationReason
from tests.unit.test_outcomes import CITY, COUNTY, TOWNSHIP, VILLAGE, Net, escalated_case, net

__all__ = ["net"]
REASON = "张三反映调解超期，请加快办理并报告进展"


def sup(net: Net, code: str) -> Supervision:
    found = net.nodes[code].supervision
    assert found is not None
    return found


def village_case(net: Net) -> str:
    case = net.nodes[VILLAGE].service.new_case(
        source=CaseSource.APPLICATION, dispute_type="02", facts="两家因院墙边界发生争执",
        parties=[PartyInput("applicant", "张三"), PartyInput("respondent", "李四")])
    net.pump()
    return case.case_id


def in_days(net: Net, days: int) -> date:
    return local_date(net.clock.now()) + timedelta(days=days)


def outbox_size(net: Net, code: str) -> int:
    return int(net.nodes[code].store._one("SELECT COUNT(*) FROM outbox")[0])


def test_city_order_goes_down_three_hops_and_the_answer_comes_back(net: Net) -> None:
    case_id = village_case(net)
    issued = sup(net, CITY).issue(case_id, reason=REASON, respond_by=in_days(net, 10),
                                  user="督查甲")
    net.pump()
    assert issued.target_node == VILLAGE  # where the city last heard of it
    for code in (COUNTY, TOWNSHIP):  # passed on, each to its child toward the village
        (passed,) = orders.orders(net.nodes[code].store)
        assert (passed.part, passed.order_id) == ("passed", issued.order_id)
    (held,) = orders.orders(net.nodes[VILLAGE].store)
    assert (held.part, held.reason, held.issuing_node) == ("held", REASON, CITY)
    assert held.respond_by == in_days(net, 10)

    sup(net, VILLAGE).answer(held.order_id, text="已约双方当事人本周再次调解", user="王芳")
    net.pump()
    back = orders.order(net.nodes[CITY].store, issued.order_id)
    assert back is not None
    assert (back.answer, back.answer_state, back.answering_node) == (
        "已约双方当事人本周再次调解", CaseState.REGISTERED.value, VILLAGE)
    for code in (COUNTY, TOWNSHIP):  # the tiers between saw it pass too
        seen = orders.order(net.nodes[code].store, issued.order_id)
        assert seen is not None
        assert seen.answered_at is not None


def test_the_order_stops_at_the_tier_holding_the_case(net: Net) -> None:
    case_id = escalated_case(net, up_to=TOWNSHIP)
    sup(net, COUNTY).issue(case_id, reason=REASON, respond_by=in_days(net, 5))
    net.pump()
    (held,) = orders.orders(net.nodes[TOWNSHIP].store)
    assert held.part == "held"
    assert orders.orders(net.nodes[VILLAGE].store) == []


def test_a_case_gone_up_meanwhile_is_answered_at_once(net: Net) -> None:
    case_id = escalated_case(net, up_to=TOWNSHIP)
    issued = sup(net, CITY).issue(case_id, reason=REASON, respond_by=in_days(net, 5))
    net.nodes[TOWNSHIP].service.act(case_id, lambda c, a, t: cmd.escalate(
        c, a, t, reason=EscalationReason.MAJOR_MATTER, consent_given=True))
    net.pump()  # the order reaches the township after its copy went up to the county
    back = orders.order(net.nodes[CITY].store, issued.order_id)
    assert back is not None
    assert (back.automatic, back.answer_state, back.answering_node) == (
        True, CaseState.ESCALATED.value, TOWNSHIP)


@pytest.mark.parametrize(("code", "role", "days", "case", "rule"), [
    (TOWNSHIP, "supervisor", 5, "mine", "order_tier"),
    (CITY, "hub_staff", 5, "mine", "order_role"),
    (CITY, "supervisor", 0, "mine", "order_past"),
    (CITY, "supervisor", 5, "330781001001-2026-00001", "order_outside"),
])
def test_refused_orders_write_and_send_nothing(net: Net, code: str, role: str, days: int,
                                               case: str, rule: str) -> None:
    case_id = village_case(net) if case == "mine" else case
    before = outbox_size(net, code)
    with pytest.raises(DomainError) as refused:
        sup(net, code).issue(case_id, reason=REASON, respond_by=in_days(net, days), role=role)
    assert refused.value.code == rule
    assert orders.orders(net.nodes[code].store) == []
    assert outbox_size(net, code) == before


def test_a_hub_does_not_supervise_a_case_it_holds(net: Net) -> None:
    case_id = escalated_case(net, up_to=COUNTY)
    with pytest.raises(DomainError) as refused:
        sup(net, COUNTY).issue(case_id, reason=REASON, respond_by=in_days(net, 5))
    assert refused.value.code == "order_held_here"


def test_reason_and_answer_are_sealed_at_rest(net: Net) -> None:
    case_id = village_case(net)
    issued = sup(net, CITY).issue(case_id, reason=REASON, respond_by=in_days(net, 5))
    net.pump()
    sup(net, VILLAGE).answer(issued.order_id, text="已约双方当事人再次调解")
    net.pump()
    for code in (CITY, VILLAGE):
        raw = net.nodes[code].store._all("SELECT reason, answer FROM supervision")
        assert all("张三" not in str(value) and "调解" not in str(value)
                   for row in raw for value in row)


def test_answers_are_given_once_and_only_by_the_holder(net: Net) -> None:
    case_id = village_case(net)
    issued = sup(net, CITY).issue(case_id, reason=REASON, respond_by=in_days(net, 5))
    net.pump()
    with pytest.raises(DomainError) as empty:
        sup(net, VILLAGE).answer(issued.order_id, text="  ")
    assert empty.value.code == "order_answer_text"
    with pytest.raises(DomainError):  # the township passed it on: it has nothing to answer
        sup(net, TOWNSHIP).answer(issued.order_id, text="已督促")
    sup(net, VILLAGE).answer(issued.order_id, text="已办")
    with pytest.raises(DomainError) as twice:
        sup(net, VILLAGE).answer(issued.order_id, text="又办")
    assert twice.value.code == "order_answered"


def test_overdue_at_both_ends_and_the_second_overdue_raises_the_level(net: Net) -> None:
    case_id = village_case(net)
    first = sup(net, CITY).issue(case_id, reason=REASON, respond_by=in_days(net, 3))
    net.pump()
    net.clock.advance(days=4)
    today = local_date(net.clock.now())
    for code in (CITY, VILLAGE):
        (row,) = orders.orders(net.nodes[code].store)
        assert row.overdue(today)
        assert sup(net, code).sweep().overdue == 1
        assert sup(net, code).sweep().overdue == 0  # marked once
    assert len(orders.orders(net.nodes[CITY].store)) == 1  # the first overdue raises nothing

    second = sup(net, CITY).issue(case_id, reason="再次督办", respond_by=in_days(net, 2))
    net.pump()
    net.clock.advance(days=3)
    counts = sup(net, CITY).sweep()
    assert (counts.overdue, counts.raised) == (1, 1)
    raised = [o for o in orders.orders(net.nodes[CITY].store, part="issued")
              if o.order_id not in (first.order_id, second.order_id)]
    assert [(o.level, o.raised_from) for o in raised] == [
        ("listed_supervision", second.order_id)]
    net.pump()
    listed = orders.order(net.nodes[VILLAGE].store, raised[0].order_id)
    assert listed is not None
    assert listed.level == "listed_supervision"
    assert sup(net, CITY).sweep().raised == 0  # a listed order is open: not raised again


def test_housekeeping_sweeps_the_orders(net: Net) -> None:
    case_id = village_case(net)
    sup(net, CITY).issue(case_id, reason=REASON, respond_by=in_days(net, 1))
    net.pump()
    net.clock.advance(days=2)
    net.nodes[VILLAGE].housekeep()
    (row,) = orders.orders(net.nodes[VILLAGE].store)
    assert row.overdue_seen_at is not None


def test_a_listed_order_is_listed_at_every_tier_above_its_issuer(net: Net) -> None:
    """挂牌督办 is visible to every tier above: a county's listed order reaches the city's list
    (from the county's report: codes and dates, no reason) until it is answered."""
    case_id = village_case(net)
    issued = sup(net, COUNTY).issue(case_id, reason=REASON, respond_by=in_days(net, 5),
                                    level="listed_supervision")
    ordinary = sup(net, COUNTY).issue(case_id, reason="普通督办", respond_by=in_days(net, 5))
    net.pump()
    for code in (CITY, COUNTY):
        listed = net.nodes[code].store.listed_orders()
        assert [(o["order_id"], o["issuing_node"], o["ended_at"]) for o in listed] == [
            (issued.order_id, COUNTY, None)]  # the ordinary order is not listed
        assert REASON not in str(listed)
    assert net.nodes[TOWNSHIP].store.listed_orders() == []  # below the issuer: not its list
    assert ordinary.level == "supervise"
    sup(net, VILLAGE).answer(issued.order_id, text="已办")
    net.pump()
    assert net.nodes[CITY].store.listed_orders() == []
    (ended,) = net.nodes[CITY].store.listed_orders(open_only=False)
    assert ended["ended_at"] is not None
    city_reports = net.nodes[CITY].store._all("SELECT event FROM reports WHERE case_id = ?",
                                              [case_id])
    assert all(e not in ("order_listed", "order_listed_ended") for (e,) in city_reports)


def test_an_unanswered_order_is_on_every_tier_s_overdue_list(net: Net) -> None:
    """The answer to an order is one of the holder's clocks in the deadline sweep: past its date
    it is reported up and listed at township, county and city; answered, it drops off."""
    case_id = village_case(net)
    net.nodes[VILLAGE].service.act(case_id, lambda c, a, t: cmd.reject(
        c, a, t, reason="不属于人民调解范围"))  # closed here: no case clock runs any more
    net.pump()
    issued = sup(net, CITY).issue(case_id, reason=REASON, respond_by=in_days(net, 2))
    net.pump()
    net.clock.advance(days=3)
    net.nodes[VILLAGE].housekeep()
    net.pump()
    today = local_date(net.clock.now())
    for code in (TOWNSHIP, COUNTY, CITY):
        rows = [r for r in net.nodes[code].store.deadlines_reported(today)
                if r["case_id"] == case_id]
        assert [(r["clock_kind"], r["due"]) for r in rows] == [
            ("supervision_answer", issued.respond_by.isoformat())], code
    net.clock.advance(hours=1)
    sup(net, VILLAGE).answer(issued.order_id, text="已说明不予受理的理由")
    net.nodes[VILLAGE].housekeep()
    net.pump()
    assert not [r for r in net.nodes[CITY].store.deadlines_reported(today)
                if r["case_id"] == case_id]
