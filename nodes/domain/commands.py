"""One function per transition of DOMAIN §3.1, each with the guard the law puts on it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from nodes.domain import path_rules
from nodes.domain.case import JC_WINDOW_DAYS, Actor, Case, DomainError, Rules, local_date
from nodes.domain.clock_plan import acceptance_started, follow_up_start, follow_up_started
from nodes.domain.corrections import corrected_below
from nodes.domain.deadlines import SET_ABOVE, DayUnit, Deadline, compute_due, is_provisional
from nodes.domain.deadlines import extend as extend_deadline
from nodes.domain.states import Action, CaseState
from nodes.domain.tracks import track_for
from protocol.reference import CaseSource, EscalationReason, ReferralTarget
from protocol.text import N_

TARGET_BASIS = "人民调解 target duration per tier (configurable)"
HAND_DOWN_BASIS = "交办 report-back date set by this tier (case hand-down --days)"


def _need(condition: bool, code: str, message: str, **params: Any) -> None:
    if not condition:
        raise DomainError(code, message, **params)


def open_case(case_id: str, actor: Actor, at: datetime, *, tier: str, source: CaseSource,
              dispute_type: str, facts: str, people_involved: int = 2,
              grid_id: str | None = None, origin_node: str | None = None,
              escalated_from: str | None = None, extra: dict[str, Any] | None = None,
              rules: Rules | None = None) -> Case:
    """A grid worker's report opens REPORTED; every other source opens REGISTERED. With the
    rules, the wait for the acceptance decision gets its clock (`nodes.domain.clock_book`)."""
    _need(bool(facts.strip()), "facts_required", N_("the facts of the dispute are required"))
    _need(people_involved >= 1, "people_min", N_("people involved must be at least 1"))
    if grid_id is not None:
        well_formed = len(grid_id) == 15 and grid_id.isascii() and grid_id.isdigit()
        # A grid of the origin village (at a hub: the one the dossier names).
        _need(well_formed and grid_id[:12] == (origin_node or actor.node_id), "grid_id",
              N_("grid id {grid_id} must be this village's 12-digit code plus a 3-digit number"),
              grid_id=grid_id)
    case = Case(case_id)
    action = Action.REPORT if source is CaseSource.GRID_REPORT else Action.REGISTER
    if rules is not None:
        extra = {**(extra or {}), "clocks": acceptance_started(case, at, rules)}
        track = track_for(rules.tracks, dispute_type, people_involved)
        if track is not None:  # this tier's fast track for its kind of case
            extra.update(track=track.track, track_days=track.target_days)
    case.record(action, actor, at, "", tier=tier, source=source.value,
                 dispute_type=dispute_type, facts=facts, people_involved=people_involved,
                 grid_id=grid_id, origin_node=origin_node or actor.node_id,
                 escalated_from=escalated_from, **(extra or {}))
    return case


def register(case: Case, actor: Actor, at: datetime, rules: Rules | None = None) -> None:
    """Register a grid report (its wait for acceptance runs from the report), or a case handed
    down and registered here again (a new wait: with the rules, it gets its clock)."""
    clocks = {"clocks": acceptance_started(case, at, rules)} \
        if rules is not None and case.state is CaseState.HANDED_DOWN else {}
    case.record(Action.REGISTER, actor, at, "", **clocks)


def check_comes_back(case: Case, *, sender: str, origin_node: str, dispute_type: str,
                     facts: str, registered_at: datetime, facts_corrected: bool = False) -> None:
    """An escalation under the id of a case this node holds must be that case coming back: the
    same origin, brought by the child it came from (the one it was handed down to), with the
    same opening (type, facts, and the time the child registered it, kept in the history of the
    first dossier). Anything else is a second, different case under a used id (a child whose
    numbering went backwards, or a forged dossier): refused, never merged into this one."""
    known = case.facts
    differs = [name for name, same in (
        ("origin node", known.get("origin_node") == origin_node),
        ("sender", known.get("escalated_from") == sender),
        ("dispute type", known.get("dispute_type") == dispute_type),
        ("facts", facts_corrected or known.get("facts") == facts),  # corrected below (更正)
        ("registered at", _opened_below(case) in (None, registered_at))) if not same]
    _need(not differs, "case_id_taken",
          N_("case {case_id} is already held here as a different case ({differs} differ); "
             "refusing a second case under the same id"),
          case_id=case.case_id, differs=", ".join(differs))


def _opened_below(case: Case) -> datetime | None:
    """When the child registered the case, from the first dossier's history (None if unknown):
    the child's own first entry (since 2.1 the history also lists the tiers below the child)."""
    history = case.facts.get("history") or []
    sender = case.facts.get("escalated_from")
    own = [h for h in history if isinstance(h, dict) and h.get("node_id") == sender] \
        if isinstance(history, list) else []
    first = own[0] if own else None
    try:
        return datetime.fromisoformat(str(first["at"])) if isinstance(first, dict) else None
    except (KeyError, ValueError):
        return None


def re_register(case: Case, actor: Actor, at: datetime, *, reason: str,
                arrival: dict[str, Any], origin_node: str, dispute_type: str, facts: str,
                registered_at: datetime, rules: Rules | None = None) -> None:
    """A case this hub handed down comes back up again: registered here once more, with where it
    came from and why (ESCALATED at tier N is REGISTERED at tier N+1). It must be the same case
    (`check_comes_back`; `arrival["escalated_from"]` is the sender). With the rules, its new wait
    for acceptance gets its clock."""
    corrected = corrected_below(arrival.get("history"))
    check_comes_back(case, sender=str(arrival.get("escalated_from")), origin_node=origin_node,
                     dispute_type=dispute_type, facts=facts, registered_at=registered_at,
                     facts_corrected=corrected is not None)
    if rules is not None:
        arrival = {**arrival, "clocks": acceptance_started(case, at, rules)}
    case.record(Action.REGISTER, actor, at, reason, **arrival)
    if facts != case.facts.get("facts"):  # corrected below since it was last here
        case.record(Action.CORRECT, actor, at, corrected or "", facts=facts)


def reject(case: Case, actor: Actor, at: datetime, reason: str) -> None:
    """不予受理: e.g. already before a court or police; the reason is required."""
    _need(bool(reason.strip()), "reject_reason", N_("a rejection needs a reason"))
    case.record(Action.REJECT, actor, at, reason)


def consent(case: Case, actor: Actor, at: datetime, *, scope: str = "mediation",
            given: bool = True, note: str = "", party: int | None = None,
            parties: int | None = None) -> None:
    """Record consent or explicit refusal (mediation is voluntary): of party number `party` of
    `parties`, or of the parties as a whole (`nodes.domain.consent`)."""
    _need(party is None or (parties is not None and 1 <= party <= parties), "consent_party",
          N_("party {party} is not one of the case's parties"), party=party)
    each = {} if party is None else {"party": party, "parties": parties}
    case.record(Action.CONSENT, actor, at, note, scope=scope, given=given, **each)


def accept(case: Case, actor: Actor, at: datetime, rules: Rules) -> None:
    """受理: only with the parties' consent on record; starts this tier's target duration."""
    case.next_state(Action.ACCEPT)
    path_rules.check_accept(case)
    case.record(Action.ACCEPT, actor, at, target=case._target_from(at, TARGET_BASIS, rules))


def mediate(case: Case, actor: Actor, at: datetime, rules: Rules) -> None:
    case.next_state(Action.MEDIATE)
    path_rules.check_mediate(case)
    data: dict[str, Any] = {}
    # Re-mediating an agreement (breached, or refused judicial confirmation) starts a fresh
    # target. A returned case keeps the report-back date the tier above set (it is that tier's
    # instruction, not ours to move).
    if case.state in (CaseState.BREACHED, CaseState.AGREED, CaseState.PERFORMING):
        data["target"] = case._target_from(at, TARGET_BASIS, rules)
    case.record(Action.MEDIATE, actor, at, **data)


def extend(case: Case, actor: Actor, at: datetime, rules: Rules, *, days: int,
           both_parties_consent: bool) -> None:
    """Extend the target duration once, with both parties' consent."""
    case.next_state(Action.EXTEND)
    _need(both_parties_consent, "extend_consent", N_("an extension needs both parties' consent"))
    _need(not case.extended, "extend_once", N_("the target duration can be extended only once"))
    _need(1 <= days <= rules.max_extension_days, "extend_days",
          N_("an extension must be 1 to {max} days"), max=rules.max_extension_days)
    assert case.target is not None  # noqa: S101 - invariant
    new_target = extend_deadline(case.target, days, rules.days)
    case.record(Action.EXTEND, actor, at, target=new_target.to_dict())


def agree(case: Case, actor: Actor, at: datetime, rules: Rules, *,
          form: Literal["oral", "written"], terms: str, effective_date: date,
          performance: list[dict[str, str]] | None = None, signed_by_all: bool = False,
          sealed: bool = False, manner: str = "", place: str = "") -> None:
    """调解协议: a written one takes effect only once signed by all and sealed, and records the
    manner, place and time of performance."""
    case.next_state(Action.AGREE)
    _need(bool(terms.strip()), "terms_required", N_("the agreement's terms are required"))
    if form == "written":
        _need(signed_by_all and sealed, "written_unsigned",
              N_("a written agreement takes effect only when all parties and the mediator have "
                 "signed and the committee seal is affixed"))
    _need(effective_date <= local_date(at), "effective_future",
          N_("the agreement's effective date cannot be in the future"))
    path_rules.check_agreement(case, form=form, effective_date=effective_date,
                               performance=performance or [], manner=manner, place=place)
    jc_due, note = compute_due(effective_date, JC_WINDOW_DAYS, DayUnit.CALENDAR, rules.days)
    how = {k: v.strip() for k, v in (("manner", manner), ("place", place)) if v.strip()}
    visit = follow_up_started(case, follow_up_start(effective_date, performance or []), rules)
    case.record(Action.AGREE, actor, at, form=form, terms=terms,
                 effective_date=effective_date.isoformat(), performance=performance or [],
                 jc_due=jc_due.isoformat(), jc_calendar=note, clocks=visit, **how)


def perform(case: Case, actor: Actor, at: datetime) -> None:
    case.record(Action.PERFORM, actor, at)


def breach(case: Case, actor: Actor, at: datetime, reason: str) -> None:
    _need(bool(reason.strip()), "breach_reason", N_("a breach needs a description"))
    case.record(Action.BREACH, actor, at, reason)


def terminate(case: Case, actor: Actor, at: datetime, *, reason: str,
              remedies_notified: bool) -> None:
    """终止调解: the parties must be told their other routes (arbitration, organ, court)."""
    case.next_state(Action.TERMINATE)
    _need(remedies_notified, "terminate_remedies",
          N_("termination requires telling the parties their other routes "
             "(arbitration, administrative, court)"))
    _need(bool(reason.strip()), "terminate_reason", N_("a termination needs a reason"))
    case.record(Action.TERMINATE, actor, at, reason, remedies_notified=True)


def escalate(case: Case, actor: Actor, at: datetime, *, reason: EscalationReason,
             consent_given: bool, note: str = "") -> None:
    """上报: needs the parties' consent and a reason; the city is the top tier."""
    case.next_state(Action.ESCALATE)
    _need(case.tier != "city", "escalate_city", N_("the city tier cannot escalate further"))
    path_rules.check_escalate(case, consent_given)
    case.record(Action.ESCALATE, actor, at, note, escalation_reason=reason.value, consent=True)


def refer_out(case: Case, actor: Actor, at: datetime, *, target: ReferralTarget,
              reason: str) -> None:
    _need(bool(reason.strip()), "refer_reason", N_("a referral needs a reason"))
    case.next_state(Action.REFER_OUT)
    path_rules.check_refer_out(case, target)
    case.record(Action.REFER_OUT, actor, at, reason, referred_to=target.value)


def close(case: Case, actor: Actor, at: datetime, note: str = "") -> None:
    case.next_state(Action.CLOSE)
    path_rules.check_close(case)
    case.record(Action.CLOSE, actor, at, note)


def apply_jc(case: Case, actor: Actor, at: datetime) -> None:
    """司法确认 application: only within the 30-day window after the agreement took effect."""
    case.next_state(Action.JC_APPLY)
    # A case closed after it was settled above has no agreement of its own here.
    _need(case.agreement is not None, "jc_no_agreement",
          N_("there is no agreement on this case to confirm"))
    assert case.agreement is not None  # noqa: S101 - for the type checker
    _need(case.jc_status is None, "jc_twice", N_("judicial confirmation was already applied for"))
    window = case.book.deadlines.get("jc")  # as recomputed if a calendar came since
    due = window.due if window else date.fromisoformat(case.agreement["jc_due"])
    _need(local_date(at) <= due, "jc_window",
          N_("the judicial-confirmation window closed on {due}"), due=due.isoformat())
    case.record(Action.JC_APPLY, actor, at, window_ends=due.isoformat())


def jc_result(case: Case, actor: Actor, at: datetime, *, confirmed: bool) -> None:
    case.next_state(Action.JC_RESULT)
    _need(case.jc_status == "applied", "jc_none", N_("no judicial confirmation is pending"))
    case.record(Action.JC_RESULT, actor, at, confirmed=confirmed)


def follow_up(case: Case, actor: Actor, at: datetime, *, honoured: bool, note: str = "") -> None:
    """回访: whether the agreement was honoured."""
    case.record(Action.FOLLOW_UP, actor, at, note, honoured=honoured)


def red_flag(case: Case, actor: Actor, at: datetime, *, note: str,
             police_reported: bool) -> None:
    """Risk of a criminal or public-order case: report to police at once and record it."""
    case.next_state(Action.RED_FLAG)
    _need(police_reported, "red_flag_police",
          N_("a red-flag case must be reported to the police at once; record that it was"))
    case.record(Action.RED_FLAG, actor, at, note, police_reported=True)


def hand_down(case: Case, actor: Actor, at: datetime, rules: Rules, *, instruction: str,
              report_back_days: int) -> None:
    """交办: a hub returns the case to the tier below with an instruction and a report-back date."""
    case.next_state(Action.HAND_DOWN)
    _need(bool(case.facts.get("escalated_from")), "hand_down_own",
          N_("this case was registered here, there is no lower tier to hand it to"))
    _need(bool(instruction.strip()), "hand_down_instruction", N_("a hand-down needs an instruction"))
    _need(1 <= report_back_days <= 365, "hand_down_days", N_("report-back days must be 1 to 365"))
    due, note = compute_due(local_date(at), report_back_days, DayUnit.CALENDAR, rules.days)
    # The report-back date is this hub's clock on the case now: overdue here if it passes
    # without the lower tier's outcome (`nodes.domain.above.receive_report_back` stops it).
    target = Deadline(legal_basis=HAND_DOWN_BASIS, unit=DayUnit.CALENDAR, amount=report_back_days,
                      start=local_date(at), start_event_seq=case.seq + 1, due=due,
                      calendar_note=note,
                      provisional=is_provisional(local_date(at), due, rules.days))
    case.record(Action.HAND_DOWN, actor, at, instruction, report_back_by=due.isoformat(),
                 calendar_note=note, target=target.to_dict())


def receive_return(case: Case, actor: Actor, at: datetime, *, decision: dict[str, Any],
                   report_back_by: date) -> None:
    """The tier above handed this case back to us: mediate again and report back by the date."""
    today = local_date(at)
    target = Deadline(legal_basis=f"交办 report-back set by {decision['deciding_node']}",
                      unit=DayUnit.CALENDAR, amount=max(1, (report_back_by - today).days),
                      start=today, start_event_seq=case.seq + 1, due=report_back_by,
                      calendar_note=SET_ABOVE, fixed=True)
    case.record(Action.RETURN, actor, at, decision.get("instruction", ""), decision=decision,
                 target=target.to_dict())


def decision_above(case: Case, actor: Actor, at: datetime, *, decision: dict[str, Any]) -> None:
    """Record what a higher tier did with a case this node escalated (the village's copy)."""
    case.record(Action.DECISION_ABOVE, actor, at, decision.get("instruction", ""),
                 decision=decision)
