"""The mediation paths the law allows (issue 16 item 5; 人民调解法, DOMAIN §3), in the domain.

Each path is tested where the law puts it: consent and refusal per party, a party ending the
mediation, escalation consent, the paths after a refused judicial confirmation (Art. 33), the court
route and breach from an agreed case (Art. 32), the agreement's dates and performance terms, the
follow-up that finds a breach, the parties' choices, and what a grid worker may record.
Builders come from `test_domain` (2025-03-03, a Monday, is T0).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from nodes.domain import commands as cmd
from nodes.domain import paths
from nodes.domain.case import Actor, Case, IllegalTransition
from nodes.domain.consent import ESCALATION, MEDIATION, standing
from nodes.domain.path_rules import performance_recorded
from nodes.domain.roles import may
from nodes.domain.states import TRANSITIONS, Action, CaseState
from nodes.i18n import render
from nodes.outbound import outbox_rows_for
from protocol.areas import Tier
from protocol.envelope import decode
from protocol.reference import CaseSource, EscalationReason, ReferralTarget
from tests.unit.test_domain import (
    ACTOR,
    RULES,
    T0,
    VILLAGE,
    accepted,
    agreed,
    at,
    mediating,
    new_case,
    refused,
)

S = CaseState
NO_AGREEMENT = EscalationReason.NO_AGREEMENT


def party_says(case: Case, party: int, given: bool, scope: str = MEDIATION) -> None:
    """Party number `party` of two consents or refuses (as a note)."""
    cmd.consent(case, ACTOR, T0, scope=scope, given=given, party=party, parties=2)


def state_of(case: Case) -> CaseState | None:
    """The state now (a call, so a type checker does not keep an earlier assert's narrowing)."""
    return case.state


def escalate(case: Case, consent_given: bool = False) -> None:
    cmd.escalate(case, ACTOR, T0, reason=NO_AGREEMENT, consent_given=consent_given)


# --- consent and refusal per party ----------------------------------------------------------
def test_consent_is_recorded_per_party_by_number_never_by_name() -> None:
    case = new_case()
    party_says(case, 1, True)
    assert case.events[-1].data == {"scope": "mediation", "given": True, "party": 1, "parties": 2}
    refused(case, lambda: cmd.accept(case, ACTOR, T0, RULES), needle="party 2")
    party_says(case, 2, True)
    cmd.accept(case, ACTOR, T0, RULES)
    assert case.state is S.ACCEPTED
    assert case.mediation_consent is True


def test_a_party_number_outside_the_case_is_refused() -> None:
    case = new_case()
    bad: list[tuple[int, int | None]] = [(3, 2), (0, 2), (1, None)]
    for party, parties in bad:
        def record(p: int = party, n: int | None = parties) -> None:
            cmd.consent(case, ACTOR, T0, party=p, parties=n)
        refused(case, record, needle="not one of the case's parties")


def test_one_partys_refusal_blocks_acceptance_and_a_whole_case_consent_does_not_lift_it() -> None:
    case = new_case()
    party_says(case, 1, True)
    party_says(case, 2, False)
    cmd.consent(case, ACTOR, T0)  # "the parties consent": does not speak over party 2
    err = refused(case, lambda: cmd.accept(case, ACTOR, T0, RULES), needle="party 2 refused")
    assert "2" in render(err, "zh")
    assert case.mediation_consent is False
    party_says(case, 2, True)  # party 2 changes its mind, on its own record
    cmd.accept(case, ACTOR, T0, RULES)
    assert case.state is S.ACCEPTED


def test_accept_with_consent_never_overrides_a_recorded_refusal() -> None:
    legacy = new_case()  # a whole-case refusal note, as files from before hold them
    cmd.consent(legacy, ACTOR, T0, given=False)
    refused(legacy, lambda: paths.accept_with_consent(legacy, ACTOR, T0, RULES),
            needle="refused mediation")
    case = new_case()
    party_says(case, 2, False)
    refused(case, lambda: paths.accept_with_consent(case, ACTOR, T0, RULES), needle="party 2")
    fresh = new_case()
    paths.accept_with_consent(fresh, ACTOR, T0, RULES)
    assert [e.action for e in fresh.events][-2:] == [Action.CONSENT, Action.ACCEPT]


def test_a_whole_case_refusal_stands_until_every_party_consents_after_it() -> None:
    case = new_case()
    party_says(case, 1, True)
    cmd.consent(case, ACTOR, T0, given=False)  # names no one: party 1's earlier consent lapses
    assert standing(case.events, MEDIATION).refused_by == [None]
    party_says(case, 1, True)
    refused(case, lambda: cmd.accept(case, ACTOR, T0, RULES), needle="refused")
    party_says(case, 2, True)
    assert standing(case.events, MEDIATION).complete
    cmd.accept(case, ACTOR, T0, RULES)


# --- a refusal ends the case: closed as not mediated, or the mediation terminated ----------
def test_refusal_before_acceptance_closes_the_case_as_not_mediated() -> None:
    case = new_case()
    refused(case, lambda: paths.refuse(case, ACTOR, T0, party=2, parties=2,
                                       remedies_notified=False), needle="other routes")
    paths.record_consent(case, ACTOR, T0, given=False, party=2, parties=2, note="不愿调解",
                         remedies_notified=True)
    assert case.state is S.CLOSED_UNRESOLVED
    refuse, close = case.events[-2:]
    assert (refuse.action, refuse.reason) == (Action.REFUSE, "不愿调解")
    assert refuse.data == {"remedies_notified": True, "party": 2, "parties": 2}
    assert close.action is Action.CLOSE
    assert close.data == {"not_mediated": True}
    refused(case, lambda: paths.accept_with_consent(case, ACTOR, T0, RULES), illegal=True)


@pytest.mark.parametrize("build", [accepted, mediating], ids=["accepted", "mediating"])
def test_a_party_ends_the_mediation_at_any_time_and_agree_is_refused_after(
        build: Callable[[], Case]) -> None:
    case = build()
    paths.record_consent(case, ACTOR, T0, given=False, party=1, parties=2,
                         remedies_notified=True)
    assert case.state is S.TERMINATED
    assert case.events[-1].data["remedies_notified"] is True
    err = refused(case, lambda: cmd.agree(case, ACTOR, T0, RULES, form="oral", terms="x",
                                          effective_date=T0.date()), illegal=True)
    assert isinstance(err, IllegalTransition)
    # The refusal stands: no escalation, even with the flag, until that party consents again.
    refused(case, lambda: escalate(case, True), needle="party 1 refused mediation")
    paths.record_consent(case, ACTOR, T0, given=True, party=1, parties=2)
    escalate(case, True)
    assert state_of(case) is S.ESCALATED


def test_refusal_of_mediation_after_it_ended_is_a_note() -> None:
    case = mediating()
    cmd.terminate(case, ACTOR, T0, reason="分歧大", remedies_notified=True)
    paths.record_consent(case, ACTOR, T0, given=False, party=2, parties=2)
    assert case.state is S.TERMINATED
    assert case.events[-1].action is Action.CONSENT
    refused(case, lambda: escalate(case, True), needle="party 2 refused mediation")


# --- escalation consent ------------------------------------------------------------------------
def test_recorded_escalation_refusal_blocks_escalate_even_with_the_flag() -> None:
    case = mediating()
    party_says(case, 2, False, ESCALATION)
    err = refused(case, lambda: escalate(case, True), needle="party 2 refused escalation")
    assert err.code == "escalate_refused"
    assert case.state is S.MEDIATING  # the note blocks escalation, it does not end anything


def test_recorded_escalation_consent_counts_without_the_flag() -> None:
    case = mediating()
    refused(case, lambda: escalate(case), needle="consent")
    party_says(case, 1, True, ESCALATION)
    refused(case, lambda: escalate(case), needle="consent")  # party 2 has not said yet
    party_says(case, 2, True, ESCALATION)
    escalate(case)
    assert case.state is S.ESCALATED
    whole = mediating()
    cmd.consent(whole, ACTOR, T0, scope=ESCALATION)
    escalate(whole)
    assert whole.state is S.ESCALATED


# --- after judicial confirmation is refused (Art. 33) ----------------------------------------
@pytest.mark.parametrize("perform", [False, True], ids=["agreed", "performing"])
def test_refused_confirmation_opens_remediation_and_a_new_agreement(perform: bool) -> None:
    case = agreed(date(2025, 3, 3))
    if perform:
        cmd.perform(case, ACTOR, at(date(2025, 3, 4)))
    refused(case, lambda: cmd.mediate(case, ACTOR, at(date(2025, 3, 5)), RULES),
            needle="refused judicial confirmation")
    cmd.apply_jc(case, ACTOR, at(date(2025, 3, 5)))
    cmd.jc_result(case, ACTOR, at(date(2025, 3, 12)), confirmed=False)
    cmd.mediate(case, ACTOR, at(date(2025, 3, 13)), RULES)  # change it, or reach a new one
    assert case.state is S.MEDIATING
    assert case.target is not None
    assert case.target.start == date(2025, 3, 13)
    cmd.agree(case, ACTOR, at(date(2025, 3, 20)), RULES, form="oral", terms="改为分期赔偿",
              effective_date=date(2025, 3, 20))
    assert case.jc_status is None  # the new agreement has its own window
    assert case.agreement is not None
    assert case.agreement["jc_due"] == "2025-04-21"  # 30 days from 03-20 is a Saturday
    cmd.apply_jc(case, ACTOR, at(date(2025, 3, 21)))
    assert case.jc_status == "applied"


def test_refused_confirmation_then_suing_is_the_court_route() -> None:
    case = agreed(date(2025, 3, 3))
    cmd.apply_jc(case, ACTOR, at(date(2025, 3, 5)))
    cmd.jc_result(case, ACTOR, at(date(2025, 3, 12)), confirmed=False)
    cmd.refer_out(case, ACTOR, at(date(2025, 3, 13)), target=ReferralTarget.COURT,
                  reason="当事人起诉")
    assert case.state is S.REFERRED_OUT


# --- the court route and breach from an agreed case (Art. 32) --------------------------------
@pytest.mark.parametrize("perform", [False, True], ids=["agreed", "performing"])
def test_agreed_or_performing_case_goes_to_the_court_and_only_there(perform: bool) -> None:
    case = agreed(date(2025, 3, 3))
    if perform:
        cmd.perform(case, ACTOR, at(date(2025, 3, 4)))
    refused(case, lambda: cmd.refer_out(case, ACTOR, T0, target=ReferralTarget.ARBITRATION,
                                        reason="r"), needle="court")
    cmd.refer_out(case, ACTOR, at(date(2025, 3, 6)), target=ReferralTarget.COURT,
                  reason="就协议履行发生争议")
    assert case.state is S.REFERRED_OUT


def test_breach_straight_from_agreed_and_jc_apply_in_breached_inside_the_window() -> None:
    case = agreed(date(2025, 3, 3))
    cmd.breach(case, ACTOR, at(date(2025, 3, 10)), "拒不付款")
    assert case.state is S.BREACHED
    cmd.apply_jc(case, ACTOR, at(date(2025, 4, 2)))  # day 30
    assert case.jc_status == "applied"
    late = agreed(date(2025, 3, 3))
    cmd.breach(late, ACTOR, at(date(2025, 3, 10)), "拒不付款")
    refused(late, lambda: cmd.apply_jc(late, ACTOR, at(date(2025, 4, 3))), needle="2025-04-02")


# --- the agreement's dates and performance terms --------------------------------------------
def test_effective_date_cannot_precede_registration() -> None:
    case = mediating(at(date(2025, 3, 5)))
    refused(case, lambda: cmd.agree(case, ACTOR, at(date(2025, 3, 6)), RULES, form="oral",
                                    terms="x", effective_date=date(2025, 3, 4)),
            needle="before the case was registered (2025-03-05)")
    cmd.agree(case, ACTOR, at(date(2025, 3, 6)), RULES, form="oral", terms="x",
              effective_date=date(2025, 3, 5))
    assert case.state is S.AGREED


@pytest.mark.parametrize(("manner", "place", "items"), [
    ("", "村委会", [{"what": "付款", "due": "2025-03-10"}]),
    ("现金", " ", [{"what": "付款", "due": "2025-03-10"}]),
    ("现金", "村委会", []),
    ("现金", "村委会", [{"what": "付款"}]),
])
def test_written_agreement_needs_manner_place_and_time(manner: str, place: str,
                                                       items: list[dict[str, str]]) -> None:
    case = mediating()
    refused(case, lambda: cmd.agree(case, ACTOR, T0, RULES, form="written", terms="赔偿",
                                    effective_date=T0.date(), signed_by_all=True, sealed=True,
                                    manner=manner, place=place, performance=items),
            needle="manner, place and time")


def test_written_agreement_records_manner_place_and_time() -> None:
    case = mediating()
    cmd.agree(case, ACTOR, T0, RULES, form="written", terms="赔偿800元", effective_date=T0.date(),
              signed_by_all=True, sealed=True, manner=" 银行转账 ", place="村调委会",
              performance=[{"what": "赔偿800元", "due": "2025-03-20"}])
    assert case.agreement is not None
    assert (case.agreement["manner"], case.agreement["place"]) == ("银行转账", "村调委会")
    assert case.agreement["performance"] == [{"what": "赔偿800元", "due": "2025-03-20"}]


# --- follow-up, breach and closing ---------------------------------------------------------
@pytest.mark.parametrize("perform", [False, True], ids=["agreed", "performing"])
def test_follow_up_not_honoured_leads_to_the_breach_path(perform: bool) -> None:
    case = agreed(T0.date(), T0)
    if perform:
        cmd.perform(case, ACTOR, T0)
    refused(case, lambda: paths.follow_up(case, ACTOR, T0, honoured=False), needle="say what was not done")
    paths.follow_up(case, ACTOR, at(date(2025, 3, 20)), honoured=False, note="只付了一半")
    assert [e.action for e in case.events[-2:]] == [Action.FOLLOW_UP, Action.BREACH]
    assert case.state is S.BREACHED
    assert case.events[-1].reason == "只付了一半"
    cmd.mediate(case, ACTOR, at(date(2025, 3, 21)), RULES)  # the breach's remedies are open
    assert state_of(case) is S.MEDIATING


def test_follow_up_not_honoured_in_breached_is_only_a_note() -> None:
    case = agreed(T0.date(), T0)
    cmd.breach(case, ACTOR, T0, "未付款")
    paths.follow_up(case, ACTOR, T0, honoured=False)
    assert case.state is S.BREACHED
    assert case.events[-1].action is Action.FOLLOW_UP


@pytest.mark.parametrize("perform", [False, True], ids=["agreed", "performing"])
def test_an_agreed_case_closes_only_with_a_performance_record(perform: bool) -> None:
    case = agreed(T0.date(), T0)
    if perform:
        cmd.perform(case, ACTOR, T0)
    refused(case, lambda: cmd.close(case, ACTOR, T0), needle="honoured")
    paths.follow_up(case, ACTOR, T0, honoured=True)
    assert performance_recorded(case)
    cmd.close(case, ACTOR, T0)
    assert case.state is S.CLOSED


def test_a_new_agreement_needs_its_own_performance_record() -> None:
    case = agreed(T0.date(), T0)
    paths.follow_up(case, ACTOR, T0, honoured=True)
    cmd.apply_jc(case, ACTOR, T0)
    cmd.jc_result(case, ACTOR, T0 + timedelta(days=1), confirmed=False)
    cmd.mediate(case, ACTOR, T0 + timedelta(days=1), RULES)
    cmd.agree(case, ACTOR, T0 + timedelta(days=2), RULES, form="oral", terms="新协议",
              effective_date=T0.date() + timedelta(days=2))
    assert not performance_recorded(case)
    refused(case, lambda: cmd.close(case, ACTOR, T0 + timedelta(days=2)), needle="honoured")


# --- the parties' choices ----------------------------------------------------------------------
def test_choice_of_mediator_and_session_is_recorded() -> None:
    case = new_case()
    refused(case, lambda: paths.choose(case, ACTOR, T0), needle="the mediator the parties chose")
    refused(case, lambda: paths.choose(case, ACTOR, T0, session="secret"), needle="public")
    paths.choose(case, ACTOR, T0, mediator="王调解员", session="private", note="涉及家事")
    assert case.state is S.REGISTERED  # a note
    assert case.events[-1].data == {"mediator": "王调解员", "session": "private"}
    paths.choose(case, ACTOR, T0, session="public")  # changed later; the mediator stays
    assert paths.current_choice(case) == {"mediator": "王调解员", "session": "public"}


# --- who acts ------------------------------------------------------------------------------------
def test_grid_worker_reports_and_follows_up_but_does_not_accept_or_decide() -> None:
    grid = Actor(VILLAGE, "grid_worker", "赵网格")
    case = cmd.open_case("C-9", grid, T0, tier="village", source=CaseSource.GRID_REPORT,
                         dispute_type="02", facts="排水沟纠纷")
    assert (case.events[0].actor_role, case.events[0].actor_user) == ("grid_worker", "赵网格")
    cmd.red_flag(case, grid, T0, note="扬言报复", police_reported=True)
    err = refused(case, lambda: cmd.register(case, grid, T0), needle="grid worker")
    assert err.code == "role_may_not"
    cmd.register(case, Actor(VILLAGE, "mediator", "王调解"), T0)
    cmd.consent(case, ACTOR, T0)
    refused(case, lambda: cmd.accept(case, grid, T0, RULES), needle="needs a mediator")
    both = Actor(VILLAGE, "grid_worker,mediator", "赵网格")
    cmd.accept(case, both, T0, RULES)
    assert case.events[-1].actor_role == "grid_worker,mediator"


def test_grid_worker_may_follow_up_and_record_the_breach_it_finds() -> None:
    case = agreed(T0.date(), T0)
    paths.follow_up(case, Actor(VILLAGE, "grid_worker", "赵网格"), T0, honoured=False,
                    note="未拆除院墙")
    assert case.state is S.BREACHED
    assert {e.actor_user for e in case.events[-2:]} == {"赵网格"}
    assert may("grid_worker", Action.FOLLOW_UP)
    assert not may("grid_worker", Action.AGREE)
    assert all(may(role, Action.AGREE) for role in ("mediator", "station_head", "hub_staff",
                                                    "system", "grid_worker,station_head"))


def test_the_acting_user_is_kept_on_every_event_and_through_replay() -> None:
    user = Actor(VILLAGE, "station_head", "李主任")
    case = cmd.open_case("C-8", user, T0, tier="village", source=CaseSource.APPLICATION,
                         dispute_type="02", facts="x")
    paths.accept_with_consent(case, user, T0, RULES)
    assert [e.actor_user for e in case.events] == ["李主任"] * 3
    again = Case.replay(case.case_id, case.events)
    assert again.events == case.events


# --- the tables -----------------------------------------------------------------------------------
def test_the_new_edges_are_in_the_state_machine() -> None:
    assert TRANSITIONS[Action.MEDIATE][S.AGREED] is S.MEDIATING
    assert TRANSITIONS[Action.MEDIATE][S.PERFORMING] is S.MEDIATING
    assert TRANSITIONS[Action.BREACH][S.AGREED] is S.BREACHED
    assert TRANSITIONS[Action.REFER_OUT][S.AGREED] is S.REFERRED_OUT
    assert TRANSITIONS[Action.REFER_OUT][S.PERFORMING] is S.REFERRED_OUT
    assert set(TRANSITIONS[Action.REFUSE]) == {S.REPORTED, S.REGISTERED, S.ACCEPTED,
                                               S.MEDIATING, S.RETURNED}
    assert set(TRANSITIONS[Action.REFUSE].values()) == {S.TERMINATED}


# --- what the tier below hears ----------------------------------------------------------------
def test_a_refusal_at_a_hub_tells_the_tier_below_with_the_routes_notified() -> None:
    township = "330681111000"
    case = cmd.open_case("C-7", Actor(township, "system"), T0, tier="township",
                         source=CaseSource.ESCALATION, dispute_type="02", facts="排水纠纷",
                         origin_node=VILLAGE, escalated_from=VILLAGE)
    paths.refuse(case, Actor(township, "hub_staff", "周干部"), T0, party=1, parties=2,
                 remedies_notified=True)
    rows = outbox_rows_for(case, case.events[1:], township, Tier.TOWNSHIP, [], seal=None)
    decisions = [decode(r.body).payload for r in rows if r.schema_name == "case_decision"]
    assert [(d.decision, d.remedies_notified) for d in decisions] == [  # type: ignore[union-attr]
        ("terminated", True), ("closed_unresolved", True)]
    assert not any("周干部".encode() in r.body for r in rows)  # staff names stay home
