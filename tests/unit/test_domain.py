"""The mediation state machine and its guards (DOMAIN §3, §3.1, §5), plus a stateful property test.

Commands run at fixed Beijing times with `Rules()` (no holiday calendar: weekends only), so the
dates below are chosen by weekday: 2025-03-03 is a Monday.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from nodes.crypto import DataCipher, new_key
from nodes.domain import above
from nodes.domain import commands as cmd
from nodes.domain.case import Actor, Case, CaseEvent, DomainError, IllegalTransition, Rules
from nodes.domain.states import (
    FINAL_STATES,
    NOTE_ALLOWED,
    OPEN_STATES,
    OPENING,
    TRANSITIONS,
    Action,
    CaseState,
    is_note,
)
from nodes.i18n import render
from nodes.identity import IdentityHasher
from nodes.labels import action_label, state_label
from nodes.outbound import REPORTED_BACK
from nodes.service import CaseService, PartyInput
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import Tier
from protocol.envelope import decode
from protocol.reference import CaseSource, EscalationReason, ReferralTarget

SH = ZoneInfo("Asia/Shanghai")
VILLAGE = "330681111242"
CITY = "330600000000"
ACTOR = Actor(VILLAGE)
SYSTEM = Actor(VILLAGE, "system")
RULES = Rules()
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=SH)  # Monday
S = CaseState


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SH)


def new_case(*, tier: str = "village", source: CaseSource = CaseSource.APPLICATION,
             when: datetime = T0) -> Case:
    return cmd.open_case("C-1", ACTOR, when, tier=tier, source=source, dispute_type="02",
                         facts="邻里排水纠纷")


def accepted(when: datetime = T0, tier: str = "village") -> Case:
    case = new_case(when=when, tier=tier)
    cmd.consent(case, ACTOR, when)
    cmd.accept(case, ACTOR, when, RULES)
    return case


def mediating(when: datetime = T0, tier: str = "village") -> Case:
    case = accepted(when, tier)
    cmd.mediate(case, ACTOR, when, RULES)
    return case


def _escalated_here() -> Case:
    """A township's copy of a case a village escalated to it, accepted and in mediation."""
    case = cmd.open_case("C-2", Actor("330681111000"), T0, tier="township",
                         source=CaseSource.ESCALATION, dispute_type="02", facts="排水纠纷",
                         origin_node=VILLAGE, escalated_from=VILLAGE)
    cmd.consent(case, ACTOR, T0)
    cmd.accept(case, ACTOR, T0, RULES)
    return case


def agreed(effective: date, when: datetime | None = None) -> Case:
    when = when or at(effective)
    case = mediating(when)
    cmd.agree(case, ACTOR, when, RULES, form="oral", terms="赔偿500元", effective_date=effective)
    return case


def snapshot(case: Case) -> tuple[Any, ...]:
    return (case.state, case.seq, tuple(case.events), tuple(case.pending), case.mediation_consent,
            case.target, case.extended, dict(case.agreement or {}), case.jc_status,
            case.red_flag, dict(case.state_after), dict(case.facts))


def refused(case: Case, call: Callable[[], None], *, needle: str | None = None,
            illegal: bool = False) -> DomainError:
    """The call is refused with a DomainError and the case is left exactly as it was."""
    before = snapshot(case)
    with pytest.raises(DomainError) as info:
        call()
    assert isinstance(info.value, IllegalTransition) is illegal
    assert render(info.value, "zh")
    assert str(info.value)
    if needle is not None:
        assert needle in str(info.value)
    assert snapshot(case) == before
    return info.value


# --- opening ------------------------------------------------------------------------------------
def test_grid_report_opens_reported_other_sources_registered() -> None:
    assert new_case(source=CaseSource.GRID_REPORT).state is S.REPORTED
    for source in (CaseSource.APPLICATION, CaseSource.OWN_INITIATIVE, CaseSource.REFERRAL):
        case = new_case(source=source)
        assert case.state is S.REGISTERED
        assert case.seq == 1
        assert case.facts["source"] == source.value
        assert case.facts["origin_node"] == VILLAGE


def test_open_case_requires_facts_and_valid_grid_id() -> None:
    with pytest.raises(DomainError, match="facts"):
        cmd.open_case("C-1", ACTOR, T0, tier="village", source=CaseSource.APPLICATION,
                      dispute_type="02", facts="   ")
    with pytest.raises(DomainError, match="grid id"):
        cmd.open_case("C-1", ACTOR, T0, tier="village", source=CaseSource.GRID_REPORT,
                      dispute_type="02", facts="x", grid_id="330681111243001")
    ok = cmd.open_case("C-1", ACTOR, T0, tier="village", source=CaseSource.GRID_REPORT,
                       dispute_type="02", facts="x", grid_id="330681111242007")
    assert ok.facts["grid_id"] == "330681111242007"


def test_register_a_grid_report_then_reject_needs_a_reason() -> None:
    case = new_case(source=CaseSource.GRID_REPORT)
    cmd.register(case, ACTOR, T0)
    assert case.state is S.REGISTERED
    refused(case, lambda: cmd.reject(case, ACTOR, T0, " "), needle="reason")
    cmd.reject(case, ACTOR, T0, "已由人民法院受理")
    assert case.state is S.REJECTED
    assert case.events[-1].reason == "已由人民法院受理"


def test_reject_straight_from_reported() -> None:
    case = new_case(source=CaseSource.GRID_REPORT)
    cmd.reject(case, ACTOR, T0, "属于治安案件")
    assert case.state is S.REJECTED


# --- consent and acceptance ---------------------------------------------------------------------
def test_accept_requires_recorded_consent() -> None:
    case = new_case()
    refused(case, lambda: cmd.accept(case, ACTOR, T0, RULES), needle="consent")
    cmd.consent(case, ACTOR, T0)
    cmd.accept(case, ACTOR, T0, RULES)
    assert case.state is S.ACCEPTED
    assert [e.action for e in case.events] == [Action.REGISTER, Action.CONSENT, Action.ACCEPT]


def test_recorded_refusal_blocks_accept() -> None:
    case = new_case()
    cmd.consent(case, ACTOR, T0, given=False, note="被申请人明确拒绝调解")
    err = refused(case, lambda: cmd.accept(case, ACTOR, T0, RULES), needle="refused")
    assert "拒绝" in render(err, "zh")


def test_consent_of_another_scope_does_not_count_for_mediation() -> None:
    case = new_case()
    cmd.consent(case, ACTOR, T0, scope="escalation", given=True)
    refused(case, lambda: cmd.accept(case, ACTOR, T0, RULES), needle="consent")


def test_accept_sets_the_target_duration() -> None:
    case = accepted(T0)
    assert case.target is not None
    assert case.target.start == date(2025, 3, 3)
    assert case.target.due == date(2025, 4, 2)  # 30 calendar days, a Wednesday
    assert case.target.start_event_seq == case.seq
    assert not case.is_overdue(date(2025, 4, 2))
    assert case.is_overdue(date(2025, 4, 3))


def test_accept_target_ending_on_saturday_moves_to_monday() -> None:
    case = accepted(at(date(2025, 3, 6)))  # +30 = Saturday 2025-04-05
    assert case.target is not None
    assert case.target.due == date(2025, 4, 7)


def test_accept_in_wrong_state_is_an_illegal_transition_before_the_consent_check() -> None:
    case = new_case(source=CaseSource.GRID_REPORT)  # REPORTED, and no consent
    err = refused(case, lambda: cmd.accept(case, ACTOR, T0, RULES), illegal=True)
    assert isinstance(err, IllegalTransition)
    assert err.state is S.REPORTED
    assert err.action is Action.ACCEPT


# --- termination and escalation -----------------------------------------------------------------
def test_terminate_requires_remedies_notified_and_a_reason() -> None:
    case = mediating()
    refused(case, lambda: cmd.terminate(case, ACTOR, T0, reason="双方分歧大",
                                        remedies_notified=False), needle="other routes")
    refused(case, lambda: cmd.terminate(case, ACTOR, T0, reason=" ", remedies_notified=True),
            needle="reason")
    cmd.terminate(case, ACTOR, T0, reason="双方分歧大", remedies_notified=True)
    assert case.state is S.TERMINATED
    assert case.events[-1].data["remedies_notified"] is True
    cmd.close(case, ACTOR, T0)
    assert case.state is S.CLOSED_UNRESOLVED


@pytest.mark.parametrize("build", [new_case, accepted, mediating], ids=["reg", "acc", "med"])
def test_escalate_requires_consent(build: Callable[[], Case]) -> None:
    case = build()
    refused(case, lambda: cmd.escalate(case, ACTOR, T0, reason=EscalationReason.NO_AGREEMENT,
                                       consent_given=False), needle="consent")
    cmd.escalate(case, ACTOR, T0, reason=EscalationReason.NO_AGREEMENT, consent_given=True)
    assert case.state is S.ESCALATED
    assert case.events[-1].data == {"escalation_reason": "no_agreement", "consent": True}


def test_escalate_from_terminated() -> None:
    case = mediating()
    cmd.terminate(case, ACTOR, T0, reason="未达成", remedies_notified=True)
    cmd.escalate(case, ACTOR, T0, reason=EscalationReason.CROSS_AREA, consent_given=True)
    assert case.state is S.ESCALATED


def test_escalate_refused_at_city_tier() -> None:
    case = mediating(tier="city")
    err = refused(case, lambda: cmd.escalate(case, ACTOR, T0, reason=EscalationReason.MAJOR_MATTER,
                                             consent_given=True), needle="city")
    assert "市级" in render(err, "zh")


DECISION = {"deciding_node": "330681111000", "instruction": "请继续调解", "decision": "returned"}


def _receive_return(case: Case, when: datetime, by: date) -> None:
    cmd.receive_return(case, ACTOR, when, decision=DECISION, report_back_by=by)


def test_returned_case_gets_the_report_back_date_then_mediates_again() -> None:
    case = mediating()
    cmd.escalate(case, ACTOR, T0, reason=EscalationReason.NO_AGREEMENT, consent_given=True)
    _receive_return(case, at(date(2025, 3, 10)), date(2025, 3, 24))
    assert case.state is S.RETURNED
    assert case.target is not None
    assert case.target.due == date(2025, 3, 24)
    assert case.events[-1].reason == "请继续调解"
    cmd.mediate(case, ACTOR, at(date(2025, 3, 11)), RULES)
    assert case.state is S.MEDIATING
    assert case.target is not None
    assert case.target.start >= date(2025, 3, 10)


def test_hand_down_needs_a_lower_tier_and_an_instruction() -> None:
    own = accepted(tier="township")
    refused(own, lambda: cmd.hand_down(own, ACTOR, T0, RULES, instruction="请村调委会继续调解",
                                       report_back_days=15), needle="no lower tier")
    case = _escalated_here()
    refused(case, lambda: cmd.hand_down(case, ACTOR, T0, RULES, instruction=" ",
                                        report_back_days=15), needle="instruction")
    cmd.hand_down(case, ACTOR, T0, RULES, instruction="请村调委会继续调解", report_back_days=15)
    assert case.state is S.HANDED_DOWN
    assert case.events[-1].data["report_back_by"] == "2025-03-18"


# --- agreement ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("signed", "sealed"), [(False, False), (True, False), (False, True)])
def test_written_agreement_requires_signatures_and_seal(signed: bool, sealed: bool) -> None:
    case = mediating()
    refused(case, lambda: cmd.agree(case, ACTOR, T0, RULES, form="written", terms="赔偿500元",
                                    effective_date=T0.date(), signed_by_all=signed,
                                    sealed=sealed), needle="seal")


def test_written_agreement_signed_and_sealed_is_recorded() -> None:
    case = mediating()
    cmd.agree(case, ACTOR, T0, RULES, form="written", terms="赔偿500元", effective_date=T0.date(),
              signed_by_all=True, sealed=True, manner="现金一次付清", place="村调委会",
              performance=[{"by": "respondent", "what": "付款", "when": "2025-03-10"}])
    assert case.state is S.AGREED
    assert case.agreement is not None
    assert case.agreement["form"] == "written"
    assert case.agreement["effective_date"] == "2025-03-03"
    assert case.agreement["jc_due"] == "2025-04-02"


def test_oral_agreement_needs_no_signature() -> None:
    case = mediating()
    cmd.agree(case, ACTOR, T0, RULES, form="oral", terms="互相道歉", effective_date=T0.date())
    assert case.state is S.AGREED


def test_agreement_needs_terms() -> None:
    case = mediating()
    refused(case, lambda: cmd.agree(case, ACTOR, T0, RULES, form="oral", terms="  ",
                                    effective_date=T0.date()), needle="terms")


def test_future_effective_date_refused() -> None:
    case = mediating()
    refused(case, lambda: cmd.agree(case, ACTOR, T0, RULES, form="oral", terms="x",
                                    effective_date=T0.date() + timedelta(days=1)),
            needle="future")


def test_effective_date_is_judged_on_the_beijing_calendar() -> None:
    # 2025-03-03 17:00 UTC is already 2025-03-04 in Beijing, so the 4th is not in the future.
    late_utc = datetime(2025, 3, 3, 17, 0, tzinfo=UTC)
    case = mediating()
    cmd.agree(case, ACTOR, late_utc, RULES, form="oral", terms="x",
              effective_date=date(2025, 3, 4))
    assert case.state is S.AGREED


# --- judicial confirmation window ---------------------------------------------------------------
def test_jc_apply_on_day_30_ok() -> None:
    case = agreed(date(2025, 3, 3))
    day30 = date(2025, 4, 2)
    assert day30.weekday() < 5
    cmd.apply_jc(case, ACTOR, at(day30, 17))
    assert case.jc_status == "applied"
    assert case.state is S.AGREED  # a note, not a transition
    assert case.events[-1].data == {"window_ends": "2025-04-02"}


def test_jc_apply_on_day_31_refused() -> None:
    case = agreed(date(2025, 3, 3))
    refused(case, lambda: cmd.apply_jc(case, ACTOR, at(date(2025, 4, 3), 9)),
            needle="2025-04-02")


def test_jc_day_31_in_beijing_even_when_utc_is_still_day_30() -> None:
    case = agreed(date(2025, 3, 3))
    utc_evening = datetime(2025, 4, 2, 16, 30, tzinfo=UTC)  # 2025-04-03 00:30 in Beijing
    refused(case, lambda: cmd.apply_jc(case, ACTOR, utc_evening), needle="window")


def test_jc_window_ending_on_saturday_moves_to_monday() -> None:
    effective = date(2025, 3, 6)
    assert (effective + timedelta(days=30)).weekday() == 5  # Saturday 2025-04-05
    case = agreed(effective)
    assert case.agreement is not None
    assert case.agreement["jc_due"] == "2025-04-07"
    cmd.apply_jc(case, ACTOR, at(date(2025, 4, 7)))
    assert case.jc_status == "applied"
    late = agreed(effective)
    refused(late, lambda: cmd.apply_jc(late, ACTOR, at(date(2025, 4, 8))), needle="2025-04-07")


def test_jc_apply_allowed_while_performing_and_after_close() -> None:
    performing = agreed(date(2025, 3, 3))
    cmd.perform(performing, ACTOR, at(date(2025, 3, 4)))
    cmd.apply_jc(performing, ACTOR, at(date(2025, 3, 20)))
    closed = agreed(date(2025, 3, 3))
    # Issue 16: an agreed case closes only after a follow-up found it honoured.
    cmd.follow_up(closed, ACTOR, at(date(2025, 3, 4)), honoured=True)
    cmd.close(closed, ACTOR, at(date(2025, 3, 4)))
    cmd.apply_jc(closed, ACTOR, at(date(2025, 3, 20)))
    assert closed.state is S.CLOSED
    assert closed.jc_status == "applied"


def test_second_jc_apply_refused() -> None:
    case = agreed(date(2025, 3, 3))
    cmd.apply_jc(case, ACTOR, at(date(2025, 3, 10)))
    refused(case, lambda: cmd.apply_jc(case, ACTOR, at(date(2025, 3, 11))), needle="already")


def test_jc_result_requires_an_application() -> None:
    case = agreed(date(2025, 3, 3))
    refused(case, lambda: cmd.jc_result(case, ACTOR, at(date(2025, 3, 10)), confirmed=True),
            needle="pending")
    cmd.apply_jc(case, ACTOR, at(date(2025, 3, 10)))
    cmd.jc_result(case, ACTOR, at(date(2025, 3, 20)), confirmed=False)
    assert case.jc_status == "refused"
    # The result is recorded once; nothing is pending any more.
    refused(case, lambda: cmd.jc_result(case, ACTOR, at(date(2025, 3, 21)), confirmed=True),
            needle="pending")
    refused(case, lambda: cmd.apply_jc(case, ACTOR, at(date(2025, 3, 21))), needle="already")


def test_jc_confirmed() -> None:
    case = agreed(date(2025, 3, 3))
    cmd.apply_jc(case, ACTOR, at(date(2025, 3, 10)))
    cmd.jc_result(case, ACTOR, at(date(2025, 3, 20)), confirmed=True)
    assert case.jc_status == "confirmed"


# --- extension ----------------------------------------------------------------------------------
def test_extension_recomputes_target_once_only() -> None:
    case = mediating()
    assert case.target is not None
    assert case.target.due == date(2025, 4, 2)
    cmd.extend(case, ACTOR, T0, RULES, days=10, both_parties_consent=True)
    assert case.extended
    # Recounted from the original start: 40 days = Saturday 2025-04-12 -> Monday 2025-04-14.
    assert case.target.due == date(2025, 4, 14)
    assert case.target.extension_days == 10
    assert case.target.start == date(2025, 3, 3)
    refused(case, lambda: cmd.extend(case, ACTOR, T0, RULES, days=5, both_parties_consent=True),
            needle="only once")


def test_extension_needs_both_parties_consent() -> None:
    case = accepted()
    refused(case, lambda: cmd.extend(case, ACTOR, T0, RULES, days=10,
                                     both_parties_consent=False), needle="consent")
    assert not case.extended


@pytest.mark.parametrize("days", [0, -1, 31])
def test_extension_length_is_bounded_by_rules(days: int) -> None:
    case = accepted()
    refused(case, lambda: cmd.extend(case, ACTOR, T0, RULES, days=days,
                                     both_parties_consent=True), needle="1 to 30")


def test_extension_limit_comes_from_rules() -> None:
    case = accepted()
    cmd.extend(case, ACTOR, T0, Rules(max_extension_days=60), days=45, both_parties_consent=True)
    assert case.target is not None
    assert case.target.extension_days == 45


def test_extension_not_allowed_before_acceptance() -> None:
    case = new_case()
    refused(case, lambda: cmd.extend(case, ACTOR, T0, RULES, days=5, both_parties_consent=True),
            illegal=True)


# --- other guards -------------------------------------------------------------------------------
def test_red_flag_requires_police_report() -> None:
    case = new_case()
    refused(case, lambda: cmd.red_flag(case, ACTOR, T0, note="扬言报复", police_reported=False),
            needle="police")
    cmd.red_flag(case, ACTOR, T0, note="扬言报复", police_reported=True)
    assert case.red_flag
    assert case.state is S.REGISTERED


def test_breach_and_refer_out_need_reasons() -> None:
    case = agreed(date(2025, 3, 3))
    cmd.perform(case, ACTOR, at(date(2025, 3, 4)))
    refused(case, lambda: cmd.breach(case, ACTOR, T0, " "), needle="description")
    cmd.breach(case, ACTOR, at(date(2025, 3, 20)), "未按期付款")
    assert case.state is S.BREACHED
    refused(case, lambda: cmd.refer_out(case, ACTOR, T0, target=ReferralTarget.COURT,
                                        reason=""), needle="reason")
    cmd.refer_out(case, ACTOR, at(date(2025, 3, 21)), target=ReferralTarget.COURT,
                  reason="申请支付令")
    assert case.state is S.REFERRED_OUT


# --- every state, every action ------------------------------------------------------------------
def _returned() -> Case:
    case = mediating()
    cmd.escalate(case, ACTOR, T0, reason=EscalationReason.NO_AGREEMENT, consent_given=True)
    _receive_return(case, T0, date(2025, 3, 20))
    return case


def _handed_down() -> Case:
    case = _escalated_here()
    cmd.hand_down(case, ACTOR, T0, RULES, instruction="请继续调解", report_back_days=10)
    return case


def _settled_above() -> Case:
    case = mediating()
    cmd.escalate(case, ACTOR, T0, reason=EscalationReason.NO_AGREEMENT, consent_given=True)
    above.receive_decision(case, SYSTEM, T0, decision={
        "decision": "resolved", "deciding_node": "330681000000", "instruction": "赔偿800元"})
    return case


def _settled_below() -> Case:
    case = _handed_down()
    above.receive_report_back(case, SYSTEM, T0, report={
        "outcome": "resolved", "reporting_node": "330681111242", "text": "赔偿800元"})
    return case


def _then(build: Callable[[], Case], step: Callable[[Case], None]) -> Callable[[], Case]:
    def make() -> Case:
        case = build()
        step(case)
        return case
    return make


def _performing() -> Case:
    case = agreed(T0.date(), T0)
    cmd.perform(case, ACTOR, T0)
    return case


def _honoured() -> Case:
    """Agreed, and a follow-up visit found it honoured (what closing an agreed case needs)."""
    case = agreed(T0.date(), T0)
    cmd.follow_up(case, ACTOR, T0, honoured=True)
    return case


def _terminated() -> Case:
    case = mediating()
    cmd.terminate(case, ACTOR, T0, reason="r", remedies_notified=True)
    return case


BUILDERS: dict[CaseState, Callable[[], Case]] = {
    S.REPORTED: lambda: new_case(source=CaseSource.GRID_REPORT),
    S.REGISTERED: new_case,
    S.REJECTED: _then(new_case, lambda c: cmd.reject(c, ACTOR, T0, "r")),
    S.ACCEPTED: accepted,
    S.REFERRED_OUT: _then(new_case, lambda c: cmd.refer_out(c, ACTOR, T0,
                                                           target=ReferralTarget.POLICE,
                                                           reason="r")),
    S.MEDIATING: mediating,
    S.AGREED: lambda: agreed(T0.date(), T0),
    S.PERFORMING: _performing,
    S.BREACHED: _then(_performing, lambda c: cmd.breach(c, ACTOR, T0, "r")),
    S.CLOSED: _then(_honoured, lambda c: cmd.close(c, ACTOR, T0)),
    S.TERMINATED: _terminated,
    S.CLOSED_UNRESOLVED: _then(_terminated, lambda c: cmd.close(c, ACTOR, T0)),
    S.ESCALATED: _then(mediating, lambda c: cmd.escalate(
        c, ACTOR, T0, reason=EscalationReason.NO_AGREEMENT, consent_given=True)),
    S.RETURNED: _returned,
    S.HANDED_DOWN: _handed_down,
    S.SETTLED_ABOVE: _settled_above,
    S.SETTLED_BELOW: _settled_below,
}


def test_builders_cover_every_state() -> None:
    assert set(BUILDERS) == set(CaseState)
    for state, build in BUILDERS.items():
        assert build().state is state


def _allowed(state: CaseState, action: Action) -> CaseState | None:
    if action in NOTE_ALLOWED:
        return state if state in NOTE_ALLOWED[action] else None
    return TRANSITIONS.get(action, {}).get(state)


@pytest.mark.parametrize("state", list(CaseState), ids=str)
def test_every_action_from_every_state(state: CaseState) -> None:
    case = BUILDERS[state]()
    for action in Action:
        expected = _allowed(state, action)
        if expected is not None:
            assert case.next_state(action) is expected
            continue
        with pytest.raises(IllegalTransition) as info:
            case.next_state(action)
        err = info.value
        assert err.state is state
        assert err.action is action
        assert state_label(state, "zh") in render(err, "zh")
        assert action_label(action, "zh") in render(err, "zh")
        assert state.value in str(err)
        assert action.value in str(err)
        assert str(err) == str(err)


def test_new_case_only_opens_with_report_or_register() -> None:
    case = Case("C-9")
    for action in Action:
        if action in OPENING:
            assert case.next_state(action) is OPENING[action]
        else:
            with pytest.raises(IllegalTransition) as info:
                case.next_state(action)
            assert "新案件" in render(info.value, "zh")
            assert "a new case" in str(info.value)
            assert action.value in str(info.value)


def test_final_states_have_no_outgoing_transitions() -> None:
    for state in FINAL_STATES:
        for action, table in TRANSITIONS.items():
            assert state not in table, (state, action)
    assert not FINAL_STATES & OPEN_STATES
    assert all(target in CaseState for table in TRANSITIONS.values() for target in table.values())


@pytest.mark.parametrize(
    ("state", "call", "action"),
    [
        (S.REGISTERED, lambda c: cmd.perform(c, ACTOR, T0), Action.PERFORM),
        (S.MEDIATING, lambda c: cmd.apply_jc(c, ACTOR, T0), Action.JC_APPLY),
        (S.MEDIATING, lambda c: cmd.jc_result(c, ACTOR, T0, confirmed=True), Action.JC_RESULT),
        (S.MEDIATING, lambda c: cmd.follow_up(c, ACTOR, T0, honoured=True), Action.FOLLOW_UP),
        (S.CLOSED, lambda c: cmd.mediate(c, ACTOR, T0, RULES), Action.MEDIATE),
        (S.REJECTED, lambda c: cmd.consent(c, ACTOR, T0), Action.CONSENT),
        (S.ESCALATED, lambda c: cmd.escalate(c, ACTOR, T0, reason=EscalationReason.RED_FLAG,
                                             consent_given=True), Action.ESCALATE),
        (S.REFERRED_OUT, lambda c: cmd.close(c, ACTOR, T0), Action.CLOSE),
        (S.AGREED, lambda c: cmd.terminate(c, ACTOR, T0, reason="r", remedies_notified=True),
         Action.TERMINATE),
        (S.CLOSED_UNRESOLVED, lambda c: cmd.red_flag(c, ACTOR, T0, note="n",
                                                     police_reported=True), Action.RED_FLAG),
    ],
)
def test_commands_raise_illegal_transition_naming_state_and_action(
    state: CaseState, call: Callable[[Case], None], action: Action
) -> None:
    case = BUILDERS[state]()
    err = refused(case, lambda: call(case), illegal=True)
    assert isinstance(err, IllegalTransition)
    assert err.state is state
    assert err.action is action
    assert state_label(state, "zh") in render(err, "zh")
    assert action_label(action, "zh") in render(err, "zh")
    assert state.value in str(err)
    assert action.value in str(err)


# --- replay and sequence numbers ----------------------------------------------------------------
def _long_history() -> Case:
    case = new_case(source=CaseSource.GRID_REPORT)
    cmd.register(case, ACTOR, T0)
    cmd.red_flag(case, ACTOR, T0, note="n", police_reported=True)
    cmd.consent(case, ACTOR, T0)
    cmd.accept(case, ACTOR, T0, RULES)
    cmd.mediate(case, ACTOR, T0, RULES)
    cmd.extend(case, ACTOR, T0, RULES, days=7, both_parties_consent=True)
    cmd.escalate(case, ACTOR, T0, reason=EscalationReason.NO_AGREEMENT, consent_given=True)
    _receive_return(case, at(date(2025, 3, 5)), date(2025, 3, 19))
    cmd.mediate(case, ACTOR, at(date(2025, 3, 5)), RULES)
    cmd.agree(case, ACTOR, at(date(2025, 3, 6)), RULES, form="oral", terms="t",
              effective_date=date(2025, 3, 6))
    cmd.apply_jc(case, ACTOR, at(date(2025, 3, 7)))
    cmd.jc_result(case, ACTOR, at(date(2025, 3, 17)), confirmed=True)
    cmd.perform(case, ACTOR, at(date(2025, 3, 18)))
    cmd.follow_up(case, ACTOR, at(date(2025, 4, 1)), honoured=True)
    cmd.close(case, ACTOR, at(date(2025, 4, 2)))
    return case


def test_replay_rebuilds_the_same_case() -> None:
    case = _long_history()
    assert case.state is S.CLOSED
    again = Case.replay(case.case_id, case.events)
    assert again.state is case.state
    assert again.seq == case.seq
    assert again.target == case.target
    assert again.target is not None
    assert again.target.start == date(2025, 3, 5)  # the fresh target after the return
    assert again.extended
    assert again.red_flag
    assert again.mediation_consent is True
    assert again.agreement == case.agreement
    assert again.jc_status == "confirmed"
    assert again.state_after == case.state_after
    assert again.facts == case.facts
    assert again.pending == []


def test_seq_numbers_are_consecutive_from_one() -> None:
    case = _long_history()
    assert [e.seq for e in case.events] == list(range(1, len(case.events) + 1))
    assert case.pending == case.events
    assert all(e.case_id == case.case_id for e in case.events)


def test_replay_refuses_a_gap_or_an_illegal_event() -> None:
    events = _long_history().events
    with pytest.raises(ValueError, match="seq"):
        Case.replay("C-1", [events[0], events[2]])
    bad = CaseEvent("C-1", 2, Action.AGREE, T0, VILLAGE, "mediator")
    with pytest.raises(IllegalTransition):
        Case.replay("C-1", [events[0], bad])


# --- stateful property test through the domain and CaseService ----------------------------------
@dataclass
class FakeClock:
    current: datetime

    def now(self) -> datetime:
        return self.current


PARTY = PartyInput("applicant", "张三", "330681199001011237", "13800000000", "状元村1号")
Command = Callable[[Case, Actor, datetime], None]

def _weight(case: Case, action: Action) -> int:
    """How often the stateful test picks an allowed action: forward moves most, dead ends least."""
    assert case.state is not None
    useful_notes = {
        Action.CONSENT: case.mediation_consent is not True,
        Action.JC_APPLY: case.jc_status is None,
        Action.JC_RESULT: case.jc_status == "applied",
        Action.EXTEND: not case.extended,
    }
    if _allowed(case.state, action) in FINAL_STATES:
        return 1
    if is_note(action):
        return 3 if useful_notes.get(action) else 1
    if action is Action.ACCEPT and case.mediation_consent is not True:
        return 1
    if action is Action.HAND_DOWN and not case.facts.get("escalated_from"):
        return 1
    return 3 if action is Action.ESCALATE else 6


def _agree(written: bool, signed: bool, sealed: bool, offset: int, terms: str) -> Command:
    def command(case: Case, actor: Actor, t: datetime) -> None:
        effective = t.astimezone(SH).date() + timedelta(days=offset)
        cmd.agree(case, actor, t, RULES, form="written" if written else "oral", terms=terms,
                  effective_date=effective, signed_by_all=signed, sealed=sealed,
                  manner="现金", place="村委会",  # what a written one records (issue 16)
                  performance=[{"what": "付款", "due": effective.isoformat()}])
    return command


def _return(days: int) -> Command:
    def command(case: Case, actor: Actor, t: datetime) -> None:
        by = t.astimezone(SH).date() + timedelta(days=days)
        cmd.receive_return(case, actor, t, decision=DECISION, report_back_by=by)
    return command


def _settle_above(case: Case, actor: Actor, t: datetime) -> None:
    case.next_state(Action.SETTLE_ABOVE)  # a non-final decision or another state: a note instead
    above.receive_decision(case, actor, t, decision={**DECISION, "decision": "resolved"})


def _report_back(case: Case, actor: Actor, t: datetime) -> None:
    case.next_state(Action.REPORT_BACK)
    above.receive_report_back(case, actor, t, report={"outcome": "resolved", "text": "已履行"})


MOSTLY = st.sampled_from([True, True, True, False])
COMMANDS: dict[Action, st.SearchStrategy[Command]] = {
    Action.REGISTER: st.just(cmd.register),
    Action.REJECT: st.builds(partial, st.just(cmd.reject), reason=st.sampled_from(["", "已诉讼"])),
    Action.ACCEPT: st.just(partial(cmd.accept, rules=RULES)),
    Action.MEDIATE: st.just(partial(cmd.mediate, rules=RULES)),
    Action.AGREE: st.builds(_agree, MOSTLY, MOSTLY, MOSTLY, st.integers(-3, 1),
                            st.sampled_from(["赔偿500元", "赔偿500元", ""])),
    Action.PERFORM: st.just(cmd.perform),
    Action.BREACH: st.builds(partial, st.just(cmd.breach), reason=st.sampled_from(["", "未付款"])),
    Action.CLOSE: st.just(cmd.close),
    Action.TERMINATE: st.builds(partial, st.just(cmd.terminate), reason=st.just("分歧大"),
                                remedies_notified=MOSTLY),
    Action.ESCALATE: st.builds(partial, st.just(cmd.escalate),
                               reason=st.sampled_from(EscalationReason), consent_given=MOSTLY),
    Action.REFER_OUT: st.builds(partial, st.just(cmd.refer_out),
                                target=st.sampled_from(ReferralTarget), reason=st.just("移交")),
    Action.RETURN: st.builds(_return, st.integers(1, 30)),
    Action.HAND_DOWN: st.builds(partial, st.just(cmd.hand_down), rules=st.just(RULES),
                                instruction=st.just("请继续调解"),
                                report_back_days=st.integers(0, 20)),
    Action.CONSENT: st.builds(partial, st.just(cmd.consent), given=MOSTLY,
                              scope=st.sampled_from(["mediation", "mediation", "escalation"])),
    Action.EXTEND: st.builds(partial, st.just(cmd.extend), rules=st.just(RULES),
                             days=st.integers(0, 40), both_parties_consent=MOSTLY),
    Action.JC_APPLY: st.just(cmd.apply_jc),
    Action.JC_RESULT: st.builds(partial, st.just(cmd.jc_result), confirmed=st.booleans()),
    Action.FOLLOW_UP: st.builds(partial, st.just(cmd.follow_up), honoured=st.booleans()),
    Action.RED_FLAG: st.builds(partial, st.just(cmd.red_flag), note=st.just("扬言报复"),
                               police_reported=MOSTLY),
    Action.DECISION_ABOVE: st.just(partial(cmd.decision_above,
                                           decision={"instruction": "已受理"})),
    Action.SETTLE_ABOVE: st.just(_settle_above),
    Action.REPORT_BACK: st.just(_report_back),
    Action.REPORT_UP: st.builds(partial, st.just(above.report_up),
                                text=st.sampled_from(["已走访双方", ""])),
    Action.REPORT_RECEIVED: st.just(partial(above.receive_report_back,
                                            report={"outcome": "interim", "text": "在办"})),
}


class CaseMachine(RuleBasedStateMachine):
    """Runs every command both on an in-memory Case and through CaseService on a SQLite file."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="fq-domain-"))
        # Durability is tested in test_store.py; skip fsync here to keep the run short.
        self.store = SqliteStore(self.dir / "node.db", synchronous="OFF",
                                 cipher=DataCipher(new_key()))
        self.clock = FakeClock(T0)
        self.case: Case | None = None
        self.node = VILLAGE
        self.service: CaseService | None = None

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @initialize(tier=st.sampled_from([Tier.VILLAGE, Tier.CITY]), grid=st.booleans())
    def open(self, tier: Tier, grid: bool) -> None:
        self.node = VILLAGE if tier is Tier.VILLAGE else CITY
        self.service = CaseService(self.store, self.clock, node_id=self.node, tier=tier,
                                   rules=RULES,
                                   hasher=IdentityHasher("unit-test-salt", "test"),
                                   seal=None)  # rows in the clear: these tests read them
        source = CaseSource.GRID_REPORT if grid else CaseSource.APPLICATION
        stored = self.service.new_case(source=source, dispute_type="02", facts="排水沟堵塞",
                                       parties=[PARTY])
        self.case = cmd.open_case(stored.case_id, Actor(self.node), T0, tier=tier.value,
                                  source=source, dispute_type="02", facts="排水沟堵塞",
                                  people_involved=1, rules=RULES)
        assert self.case.events == stored.events

    def _counts(self) -> tuple[int, int, int]:
        db = self.store._db
        return (db.execute("SELECT count(*) FROM case_events").fetchone()[0],
                db.execute("SELECT count(*) FROM outbox").fetchone()[0],
                db.execute("SELECT count(*) FROM parties").fetchone()[0])

    def _run(self, action: Action, command: Command) -> None:
        assert self.case is not None
        assert self.service is not None
        prev_state = self.case.state
        assert prev_state is not None
        before = snapshot(self.case)
        now = self.clock.now()
        domain_error: DomainError | None = None
        try:
            command(self.case, Actor(self.node), now)
        except DomainError as exc:
            domain_error = exc
        counts = self._counts()
        service_error: DomainError | None = None
        try:
            self.service.act(self.case.case_id, command)
        except DomainError as exc:
            service_error = exc
        # The service and the plain domain object agree on every command.
        assert type(service_error) is type(domain_error)
        expected = _allowed(prev_state, action)
        if domain_error is None:
            # (a) the new state is exactly what the tables allow from the previous one
            assert expected is not None, f"{action} succeeded from {prev_state}"
            assert self.case.state is expected
            assert self.case.seq == before[1] + 1
            assert self.case.events[-1].action is action
            assert self.case.pending[-1] is self.case.events[-1]
            assert len(self.case.pending) == len(before[3]) + 1
        else:
            # a failed command changes nothing, in memory or on disk
            assert str(service_error) == str(domain_error)
            assert snapshot(self.case) == before
            assert self._counts() == counts
            if isinstance(domain_error, IllegalTransition):
                assert expected is None
                assert domain_error.state is prev_state
                assert domain_error.action is action
        if expected is None:
            assert domain_error is not None, f"{action} from {prev_state} should be refused"
        event(f"{action.value}: {'refused' if domain_error else 'ok'}")
        event(f"reached {self.case.state}")

    # --- rules --------------------------------------------------------------------------------
    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        """Mostly an action the tables allow here (so cases get deep), sometimes any action."""
        assert self.case is not None
        assert self.case.state is not None
        state = self.case.state
        allowed = [a for a in COMMANDS if _allowed(state, a) is not None]
        # Moves that keep the case open come first and most often, notes and endings less, so
        # the long paths get explored (and Hypothesis' simplest choice is a forward move).
        weighted = sorted((a for a in allowed for _ in range(_weight(self.case, a))),
                          key=lambda a: -_weight(self.case, a))  # type: ignore[arg-type]
        anything = data.draw(st.integers(0, 9), label="anything") >= 8 or not weighted
        action = data.draw(st.sampled_from(list(COMMANDS) if anything else weighted),
                           label="action")
        command = data.draw(COMMANDS[action], label="command")
        days = data.draw(st.sampled_from([0, 0, 0, 0, 1, 2, 7, 29, 31]), label="days later")
        self.clock.current += timedelta(days=days, hours=data.draw(st.integers(0, 3)))
        self._run(action, command)

    # --- invariants ---------------------------------------------------------------------------
    @invariant()
    def state_is_known_and_final_states_are_final(self) -> None:
        if self.case is None:
            return
        assert isinstance(self.case.state, CaseState)
        assert set(self.case.state_after.values()) <= set(CaseState)
        assert [e.seq for e in self.case.events] == list(range(1, self.case.seq + 1))
        if self.case.state in FINAL_STATES:
            for action in Action:
                if not is_note(action):
                    with pytest.raises(IllegalTransition):
                        self.case.next_state(action)

    @invariant()
    def store_matches_the_events(self) -> None:
        if self.case is None:
            return
        case = self.case
        stored = self.store.load_events(case.case_id)
        assert stored == case.events
        replayed = Case.replay(case.case_id, stored)
        assert (replayed.state, replayed.seq) == (case.state, case.seq)
        assert replayed.target == case.target
        row = self.store.case_rows()[0]
        assert (row["state"], row["last_seq"]) == (str(case.state), case.seq)

        reports: list[int] = []
        escalations: list[int] = []
        for message_id, seq, schema in self.store._db.execute(
                "SELECT message_id, seq, schema_name FROM outbox ORDER BY id").fetchall():
            body = self.store.outbox_body(message_id)  # a dossier is sealed at rest
            assert body is not None
            env = decode(body)
            assert str(env.message_id) == message_id
            assert env.seq == seq
            assert env.case_id == case.case_id
            assert env.sender == self.node
            assert env.schema_name == schema
            event = case.events[seq - 1]
            if schema == "lifecycle_report":
                reports.append(seq)
                assert env.payload.event == event.action.value  # type: ignore[union-attr]
                assert env.payload.state_to == case.state_after[seq].value  # type: ignore
                assert "张三" not in body.decode("utf-8")
            elif schema == "case_report_back":  # the outcome of a hand-down, sent back up
                assert event.action in (*REPORTED_BACK, Action.REPORT_UP)
                assert above.report_back_to(Case.replay(case.case_id, case.events[:seq]))
            else:
                assert schema == "case_escalated"
                assert event.action is Action.ESCALATE
                escalations.append(seq)
        # Transitions, and a red flag raised here (it reaches every tier above at once).
        assert reports == [e.seq for e in case.events
                           if not is_note(e.action) or e.action is Action.RED_FLAG]
        assert escalations == [e.seq for e in case.events if e.action is Action.ESCALATE]


CaseMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestCaseMachine = CaseMachine.TestCase
