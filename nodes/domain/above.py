"""件件有回音: what comes back to a copy of a case from the tiers it passed through.

- A decision from above (`CaseDecision` as a dict) reaches every tier the case passed through and
  the origin. A final outcome (resolved, referred out, rejected, closed) moves a copy that is
  still ESCALATED to SETTLED_ABOVE, from which the station does its follow-up visit (回访) and
  closes its file; anything else is recorded as a note, whatever state the copy is in.
- A report-back (反馈, `CaseReportBack` as a dict) comes up from the tier a hub handed the case down
  to. A final outcome moves the hub's HANDED_DOWN copy to SETTLED_BELOW; an interim report, or a
  later one, is recorded as a note.
- The lower tier sends its outcome back by itself when it decides (`report_back_to` names the hub
  waiting for it), and an interim report by hand (`report_up`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nodes.domain.case import Actor, Case, DomainError, Rules, local_date
from nodes.domain.clock_plan import follow_up_started
from nodes.domain.states import Action, CaseState
from protocol.messages import FINAL_OUTCOMES
from protocol.text import N_


def receive_decision(case: Case, actor: Actor, at: datetime, *,
                     decision: dict[str, Any], rules: Rules | None = None) -> None:
    """Record what a higher tier decided; a final outcome settles an escalated copy (with the
    rules, its follow-up visit gets its clock: `nodes.domain.clock_book`)."""
    final = decision.get("decision") in FINAL_OUTCOMES
    action = Action.SETTLE_ABOVE if final and case.state is CaseState.ESCALATED \
        else Action.DECISION_ABOVE
    clocks = {"clocks": follow_up_started(case, local_date(at), rules)} \
        if rules is not None and action is Action.SETTLE_ABOVE else {}
    case.record(action, actor, at, str(decision.get("instruction", "")), decision=decision,
                **clocks)


def receive_report_back(case: Case, actor: Actor, at: datetime, *,
                        report: dict[str, Any]) -> None:
    """Record the lower tier's report on a case this hub handed down; a final outcome settles
    the hand-down (and stops its report-back clock)."""
    final = report.get("outcome") in FINAL_OUTCOMES
    action = Action.REPORT_BACK if final and case.state is CaseState.HANDED_DOWN \
        else Action.REPORT_RECEIVED
    case.record(action, actor, at, str(report.get("text", "")), report=report)


def report_back_to(case: Case, upto: int | None = None) -> str | None:
    """The hub that handed this case down to us and still waits for its report-back (as of event
    `upto`, else now): the deciding node of the last hand-down received, unless the case went up
    again since (then the hub has it back). None if no hub waits."""
    for event in reversed(case.events):
        if upto is not None and event.seq > upto:
            continue
        if event.action is Action.ESCALATE:
            return None
        if event.action is Action.RETURN:
            decision = event.data.get("decision") or {}
            return str(decision.get("deciding_node")) or None
    return None


def report_up(case: Case, actor: Actor, at: datetime, *, text: str) -> None:
    """An interim report-back (阶段性反馈) sent by hand to the hub that handed the case down."""
    case.next_state(Action.REPORT_UP)
    if report_back_to(case) is None:
        raise DomainError("report_up_none",
                          N_("no tier above handed this case down: there is nobody to report to"))
    if not text.strip():
        raise DomainError("report_up_text", N_("an interim report needs its text"))
    case.record(Action.REPORT_UP, actor, at, text)
