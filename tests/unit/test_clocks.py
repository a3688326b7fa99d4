"""Every waiting case has a clock (issue 16 item 4; DOMAIN §5): one test per kind of clock, the
clocks of cases recorded before them, and the settings that set them.

Commands run at fixed Beijing times with rules whose calendar is the shipped 2026 arrangement,
so the dates below are real working days: 2026-03-02 is a Monday.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from nodes.calendar_loader import load_node_calendars
from nodes.config import ConfigError, load_config
from nodes.domain import above
from nodes.domain import commands as cmd
from nodes.domain.case import SHANGHAI, Actor, Case, CaseEvent, Rules
from nodes.domain.clock_book import (
    ACCEPTANCE_BASIS,
    DEFAULT_ACCEPTANCE_DAYS,
    FOLLOW_UP_BASIS,
    JC_BASIS,
    Clock,
    ClockKind,
)
from nodes.domain.clock_plan import clocks_of, update_clocks
from nodes.domain.states import Action, CaseState
from nodes.messaging.memory import MemoryBroker
from protocol.reference import CaseSource, EscalationReason
from tests.support.clock import FakeClock
from tests.support.nodes import build_node, write_config

S = CaseState
VILLAGE, TOWNSHIP = "330681111242", "330681111000"
ACTOR, SYSTEM = Actor(VILLAGE), Actor(VILLAGE, "system")
RULES = Rules(days=load_node_calendars(None), acceptance_days=5, follow_up_days=10)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # Monday
D = date.fromisoformat


def on(day: str, hour: int = 10) -> datetime:
    d = D(day)
    return datetime(d.year, d.month, d.day, hour, tzinfo=SHANGHAI)


def opened(source: CaseSource = CaseSource.APPLICATION, rules: Rules | None = RULES,
           **kw: object) -> Case:
    return cmd.open_case(f"{VILLAGE}-2026-00001", ACTOR, T0, tier="village", source=source,
                         dispute_type="02", facts="院墙", rules=rules, **kw)  # type: ignore[arg-type]


def clock(case: Case, name: str, rules: Rules | None = RULES) -> Clock:
    (found,) = [c for c in clocks_of(case, rules) if c.name == name]
    return found


def accepted() -> Case:
    case = opened()
    cmd.consent(case, ACTOR, T0)
    cmd.accept(case, ACTOR, T0, RULES)
    return case


def agreed(performance: list[dict[str, str]]) -> Case:
    case = accepted()
    cmd.mediate(case, ACTOR, T0, RULES)
    cmd.agree(case, ACTOR, on("2026-03-04"), RULES, form="oral", terms="赔偿800元",
              effective_date=D("2026-03-04"), performance=performance)
    return case


# --- acceptance -------------------------------------------------------------------------------
def test_registration_starts_the_acceptance_clock_with_its_basis() -> None:
    case = opened()
    c = clock(case, "acceptance")
    assert (c.kind, c.running, c.derived) == (ClockKind.ACCEPTANCE, True, False)
    assert c.deadline.legal_basis == ACCEPTANCE_BASIS  # names the setting, not a law
    assert c.deadline.amount == 5
    assert c.due == D("2026-03-07") + timedelta(days=2)  # Sat 7th -> Mon 9th
    assert not case.is_overdue(D("2026-03-09"))
    assert case.is_overdue(D("2026-03-10"))


def _accept(case: Case) -> None:
    cmd.consent(case, ACTOR, T0)
    cmd.accept(case, ACTOR, T0, RULES)


def _reject(case: Case) -> None:
    cmd.reject(case, ACTOR, T0, "已起诉")


def _escalate(case: Case) -> None:
    cmd.escalate(case, ACTOR, T0, reason=EscalationReason.CROSS_AREA, consent_given=True)


@pytest.mark.parametrize("decide", [_accept, _reject, _escalate])
def test_an_acceptance_decision_stops_the_clock(decide: Callable[[Case], None]) -> None:
    case = opened()
    decide(case)
    assert not clock(case, "acceptance").running
    assert not clock(case, "acceptance").is_overdue(D("2026-12-31"))


def test_a_grid_report_waits_for_acceptance_from_the_report() -> None:
    case = opened(CaseSource.GRID_REPORT)
    assert case.state is S.REPORTED
    assert clock(case, "acceptance").running
    cmd.register(case, ACTOR, on("2026-03-05"))
    c = clock(case, "acceptance")
    assert c.running
    assert c.deadline.start == D("2026-03-02")  # registering the report does not restart it


def test_an_arrival_at_a_hub_has_an_acceptance_clock(tmp_path: Path) -> None:
    broker, clock_ = MemoryBroker(), FakeClock(T0)
    village = build_node(tmp_path, VILLAGE, broker=broker, clock=clock_)
    township = build_node(tmp_path, TOWNSHIP, broker=broker, clock=clock_,
                          acceptance_days=3)
    try:
        from nodes.service import PartyInput

        case_id = village.service.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                                           facts="跨村纠纷", parties=[PartyInput("applicant", "甲")]
                                           ).case_id
        village.service.act(case_id, lambda c, a, t: cmd.escalate(
            c, a, t, reason=EscalationReason.CROSS_AREA, consent_given=True))
        village.publish()
        clock_.advance(hours=2)
        township.consume()
        case = township.store.load_case(case_id)
        assert case is not None
        assert case.state is S.REGISTERED
        c = clock(case, "acceptance", township.service.rules)
        assert (c.running, c.derived, c.deadline.amount) == (True, False, 3)
        assert c.due == D("2026-03-05")
        assert case.is_overdue(D("2026-03-06"))
    finally:
        village.close()
        township.close()


def test_a_case_coming_back_up_waits_for_acceptance_again() -> None:
    case = cmd.open_case(f"{VILLAGE}-2026-00001", Actor(TOWNSHIP, "system"), T0, tier="township",
                         source=CaseSource.ESCALATION, dispute_type="02", facts="院墙",
                         origin_node=VILLAGE, escalated_from=VILLAGE, rules=RULES)
    cmd.hand_down(case, Actor(TOWNSHIP), T0, RULES, instruction="请继续调解", report_back_days=10)
    assert clock(case, "target").kind is ClockKind.REPORT_BACK
    later = on("2026-03-20")
    cmd.re_register(case, Actor(TOWNSHIP, "system"), later, reason="调解不成",
                    arrival={"escalated_from": VILLAGE}, origin_node=VILLAGE,
                    dispute_type="02", facts="院墙", registered_at=T0, rules=RULES)
    c = clock(case, "acceptance")
    assert c.running
    assert c.deadline.start == D("2026-03-20")
    assert not clock(case, "target").running


# --- mediation target and report-back -----------------------------------------------------------
def test_the_mediation_target_runs_while_this_tier_mediates() -> None:
    case = accepted()
    c = clock(case, "target")
    assert (c.kind, c.running) == (ClockKind.MEDIATION, True)
    assert c.due == D("2026-04-01")
    assert case.is_overdue(D("2026-04-02"))


def test_a_hand_down_runs_the_hubs_report_back_clock() -> None:
    case = cmd.open_case(f"{VILLAGE}-2026-00001", Actor(TOWNSHIP, "system"), T0, tier="township",
                         source=CaseSource.ESCALATION, dispute_type="02", facts="院墙",
                         origin_node=VILLAGE, escalated_from=VILLAGE, rules=RULES)
    cmd.hand_down(case, Actor(TOWNSHIP), T0, RULES, instruction="请继续调解", report_back_days=10)
    c = clock(case, "target")
    assert (c.kind, c.running, c.due) == (ClockKind.REPORT_BACK, True, D("2026-03-12"))
    above.receive_report_back(case, Actor(TOWNSHIP, "system"), on("2026-03-11"),
                              report={"outcome": "resolved", "text": "已调解"})
    assert not clock(case, "target").running


def test_a_hand_down_recorded_before_it_carried_a_target_still_has_its_clock() -> None:
    """An older file: the hand-down event had only `report_back_by` and its note."""
    base = opened(CaseSource.ESCALATION, escalated_from=VILLAGE)
    events = [*base.events, CaseEvent(base.case_id, 2, Action.HAND_DOWN, T0, TOWNSHIP, "hub_staff",
                                      "请继续调解", {"report_back_by": "2026-03-16",
                                                "calendar_note": "no calendar for 2026: "
                                                                 "weekends only"})]
    case = Case.replay(base.case_id, events)
    c = clock(case, "target")
    assert (c.kind, c.due, c.running) == (ClockKind.REPORT_BACK, D("2026-03-16"), True)
    assert c.deadline.fixed
    assert c.deadline.provisional


def test_the_date_the_tier_above_set_is_a_fixed_report_back_clock() -> None:
    case = opened()
    cmd.escalate(case, ACTOR, T0, reason=EscalationReason.CROSS_AREA, consent_given=True)
    cmd.receive_return(case, SYSTEM, on("2026-03-03"),
                       decision={"deciding_node": TOWNSHIP, "instruction": "继续调解"},
                       report_back_by=D("2026-03-13"))
    c = clock(case, "target")
    assert (c.kind, c.due, c.running) == (ClockKind.REPORT_BACK, D("2026-03-13"), True)
    assert c.deadline.fixed


# --- agreement: judicial confirmation, performance, follow-up -----------------------------------
def test_the_judicial_confirmation_window_closes_but_is_never_overdue() -> None:
    case = agreed([])
    c = clock(case, "jc")
    assert (c.kind, c.running, c.deadline.legal_basis) == (ClockKind.JC_WINDOW, True, JC_BASIS)
    assert c.due == D("2026-04-03")
    assert c.due_within(D("2026-03-30"), 7)  # closing soon: listed
    assert not c.is_overdue(D("2026-05-01"))
    assert not c.due_within(D("2026-05-01"), 7)  # closed: not listed any more
    cmd.apply_jc(case, ACTOR, on("2026-03-10"))
    assert not clock(case, "jc").running


def test_performance_dates_are_fixed_clocks_stopped_by_an_honoured_follow_up() -> None:
    case = agreed([{"what": "赔偿800元", "due": "2026-03-20"},
                   {"what": "拆除院墙", "due": "2026-03-25"}])
    cmd.perform(case, ACTOR, on("2026-03-05"))
    first = clock(case, "perform.1")
    assert (first.kind, first.due, first.detail) == (ClockKind.PERFORMANCE, D("2026-03-20"),
                                                     "赔偿800元")
    assert first.deadline.fixed  # the parties' date: never recomputed
    assert [c.name for c in clocks_of(case, RULES) if c.is_overdue(D("2026-03-21"))] == [
        "perform.1"]
    cmd.follow_up(case, ACTOR, on("2026-03-26"), honoured=True)
    assert not any(c.running for c in clocks_of(case, RULES) if c.kind is not ClockKind.JC_WINDOW)


def test_the_follow_up_visit_is_due_after_the_last_performance_date() -> None:
    case = agreed([{"what": "赔偿800元", "due": "2026-03-20"}])
    c = clock(case, "follow_up")
    assert (c.kind, c.derived, c.deadline.legal_basis) == (ClockKind.FOLLOW_UP, False,
                                                           FOLLOW_UP_BASIS)
    assert c.deadline.start == D("2026-03-20")
    assert c.due == D("2026-03-30")  # 10 days (the rules' follow_up_days)
    assert case.is_overdue(D("2026-03-31"))
    cmd.follow_up(case, ACTOR, on("2026-03-28"), honoured=False)
    assert not clock(case, "follow_up").running


def test_a_case_settled_above_waits_for_its_follow_up_visit() -> None:
    case = opened()
    cmd.escalate(case, ACTOR, T0, reason=EscalationReason.CROSS_AREA, consent_given=True)
    above.receive_decision(case, SYSTEM, on("2026-03-10"),
                           decision={"deciding_node": TOWNSHIP, "decision": "resolved",
                                     "instruction": "已达成协议"})
    assert case.state is S.SETTLED_ABOVE
    c = clock(case, "follow_up")
    assert (c.running, c.derived, c.due) == (True, True, D("2026-03-20"))  # planned from rules
    event = update_clocks(case, SYSTEM, on("2026-03-11"), RULES)
    assert event is not None
    assert event.data["set"] == ["follow_up"]
    assert not clock(case, "follow_up").derived  # recorded now
    assert update_clocks(case, SYSTEM, on("2026-03-11"), RULES) is None


def test_a_decision_received_with_the_rules_records_the_follow_up_clock() -> None:
    case = opened()
    cmd.escalate(case, ACTOR, T0, reason=EscalationReason.CROSS_AREA, consent_given=True)
    above.receive_decision(case, SYSTEM, on("2026-03-10"), rules=RULES,
                           decision={"deciding_node": TOWNSHIP, "decision": "resolved"})
    c = clock(case, "follow_up")
    assert (c.running, c.derived, c.due) == (True, False, D("2026-03-20"))
    assert update_clocks(case, SYSTEM, on("2026-03-11"), RULES) is None
    cmd.follow_up(case, ACTOR, on("2026-03-19"), honoured=True)
    assert not clock(case, "follow_up").running


# --- cases recorded before the clocks ---------------------------------------------------------
def test_a_case_recorded_without_clocks_gets_them_planned_then_recorded() -> None:
    case = opened(rules=None)  # as an older version recorded it: no acceptance clock
    assert case.clocks() == []
    assert not case.is_overdue(D("2026-06-01"))
    planned = clock(case, "acceptance")
    assert (planned.derived, planned.running, planned.due) == (True, True, D("2026-03-09"))
    event = update_clocks(case, SYSTEM, on("2026-06-01"), RULES)
    assert event is not None
    assert event.action is Action.CLOCKS
    assert "set from this node's settings: acceptance" in event.data["note"]
    assert case.is_overdue(D("2026-06-01"))
    replayed = Case.replay(case.case_id, case.events)
    assert replayed.clocks() == case.clocks()


def test_old_deadline_records_read_their_flags_from_the_note() -> None:
    case = accepted()
    data = dict(case.events[-1].data["target"])
    del data["provisional"], data["fixed"]
    data["calendar_note"] = "no calendar for 2026: weekends only"
    events = [*case.events[:-1], CaseEvent(case.case_id, case.seq, Action.ACCEPT, T0, VILLAGE,
                                           "mediator", "", {"target": data})]
    old = Case.replay(case.case_id, events)
    assert old.target is not None
    assert old.target.provisional
    assert not old.target.fixed


# --- settings ------------------------------------------------------------------------------------
def test_acceptance_and_follow_up_days_are_settings_with_defaults(tmp_path: Path) -> None:
    path = write_config(tmp_path, VILLAGE)
    config = load_config(path)
    assert config.acceptance_days == DEFAULT_ACCEPTANCE_DAYS
    bad = path.with_name("bad.toml")
    text = path.read_text(encoding="utf-8")
    assert f"acceptance_days = {DEFAULT_ACCEPTANCE_DAYS}" in text
    bad.write_text(text.replace(f"acceptance_days = {DEFAULT_ACCEPTANCE_DAYS}",
                                "acceptance_days = 0"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert "acceptance_days" in str(info.value)
    assert len(str(info.value).splitlines()) == 1
