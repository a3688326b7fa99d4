"""The steps a case page offers, each a small form: its fields and the command it runs (the same
`nodes.domain` commands the command line's `case ACTION` runs, `nodes.cli.case_transitions`).

A step is offered only when the case's state allows its action and the user's role may record
it; the law's other guards (consent, a written agreement's terms, the remedies told) are the
commands' own, and a refusal comes back as their sentence beside the form, nothing written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Literal

from nodes.domain import commands as cmd
from nodes.domain import paths
from nodes.domain.case import Case, DomainError
from nodes.domain.roles import may, records
from nodes.domain.states import Action
from nodes.i18n import N_
from nodes.service import CaseService, Command
from nodes.web.assign_step import ASSIGN_STEP
from nodes.web.path_steps import PATH_STEPS
from nodes.web.step_kit import Field, FieldProblem, Step, Values
from nodes.web.step_kit import check as _check
from nodes.web.step_kit import date_of as _date
from nodes.web.step_kit import days as _days
from protocol.reference import EscalationReason, ReferralTarget

__all__ = ["BY_ACTION", "STEPS", "FieldProblem", "Step", "allowed", "missing", "offered"]


def _agree(v: Values, s: CaseService, today: date) -> Command:
    performance = []
    if v.get("perform_what"):
        performance.append({"what": v["perform_what"],
                            "due": _date(v, "perform_due", today).isoformat()})
    effective = _date(v, "effective_date", today)
    form: Literal["oral", "written"] = "written" if v.get("form") == "written" else "oral"
    return lambda case, actor, at: cmd.agree(
        case, actor, at, s.rules, form=form, terms=v.get("terms", ""), effective_date=effective,
        performance=performance, signed_by_all=_check(v, "signed"), sealed=_check(v, "sealed"),
        manner=v.get("manner", ""), place=v.get("place", ""))


def _accept(v: Values, s: CaseService, today: date) -> Command:
    if _check(v, "consent"):
        return lambda case, actor, at: paths.accept_with_consent(case, actor, at, s.rules)
    return lambda case, actor, at: cmd.accept(case, actor, at, s.rules)


def _escalate(v: Values, s: CaseService, today: date) -> Command:
    reason = v.get("reason", "")
    if reason not in {r.value for r in EscalationReason}:
        raise FieldProblem("reason", N_("choose a reason"))
    return lambda case, actor, at: cmd.escalate(case, actor, at, reason=EscalationReason(reason),
                                                consent_given=_check(v, "consent"),
                                                note=v.get("note", ""))


def _refer(v: Values, s: CaseService, today: date) -> Command:
    to = v.get("to", "")
    if to not in {r.value for r in ReferralTarget}:
        raise FieldProblem("to", N_("choose where the case goes"))
    return lambda case, actor, at: cmd.refer_out(case, actor, at, target=ReferralTarget(to),
                                                 reason=v.get("reason", ""))


def _hand_down(v: Values, s: CaseService, today: date) -> Command:
    days = _days(v, "days")
    return lambda case, actor, at: cmd.hand_down(case, actor, at, s.rules,
                                                 instruction=v.get("instruction", ""),
                                                 report_back_days=days)


NOTE = Field("note", N_("Note"), "textarea")
REASON = Field("reason", N_("Reason"), "textarea", required=True)
STEPS: tuple[Step, ...] = (
    Step(Action.REGISTER, (), lambda v, s, d: lambda c, a, at: cmd.register(c, a, at, s.rules)),
    Step(Action.ACCEPT, (Field("consent", N_("The parties consent to mediation"), "check"),),
         _accept),
    Step(Action.MEDIATE, (), lambda v, s, d: lambda c, a, at: cmd.mediate(c, a, at, s.rules)),
    Step(Action.AGREE, (
        Field("form", N_("Form"), "select", True, (("written", ""), ("oral", "")),
              labels="word"),
        Field("terms", N_("Terms"), "textarea", required=True),
        Field("perform_what", N_("What is to be done")),
        Field("perform_due", N_("By when"), "date"),
        Field("manner", N_("Manner of performance")),
        Field("place", N_("Place of performance")),
        Field("effective_date", N_("Date it took effect (empty: today)"), "date"),
        Field("signed", N_("Signed by all parties and the mediator"), "check"),
        Field("sealed", N_("Committee seal affixed"), "check")), _agree),
    Step(Action.PERFORM, (), lambda v, s, d: lambda c, a, at: cmd.perform(c, a, at)),
    Step(Action.FOLLOW_UP, (Field("honoured", N_("Was the agreement honoured?"), "select", True,
                                  (("yes", N_("yes, honoured")),
                                   ("no", N_("no, not honoured")))), NOTE),
         lambda v, s, d: lambda c, a, at: paths.follow_up(
             c, a, at, honoured=v.get("honoured") == "yes", note=v.get("note", ""))),
    Step(Action.CLOSE, (NOTE,), lambda v, s, d: lambda c, a, at: cmd.close(
        c, a, at, v.get("note", ""))),
    Step(Action.TERMINATE, (REASON, Field("remedies_notified", N_(
        "The parties were told their other routes"), "check")),
         lambda v, s, d: lambda c, a, at: cmd.terminate(
             c, a, at, reason=v.get("reason", ""), remedies_notified=_check(v, "remedies_notified"))),
    Step(Action.ESCALATE, (
        Field("reason", N_("Why"), "select", True,
              tuple((r.value, "") for r in EscalationReason), labels="ref"),
        Field("consent", N_("The parties consent to escalation"), "check"), NOTE), _escalate),
    Step(Action.HAND_DOWN, (Field("instruction", N_("Instruction"), "textarea", True),
                            Field("days", N_("Report back within (days)"), "days", True,
                                  default="15")), _hand_down),
    Step(Action.REFER_OUT, (Field("to", N_("To"), "select", True,
                                  tuple((r.value, "") for r in ReferralTarget), labels="ref"),
                      REASON),
         _refer),
    Step(Action.REJECT, (REASON,), lambda v, s, d: lambda c, a, at: cmd.reject(
        c, a, at, v.get("reason", ""))),
    Step(Action.RED_FLAG, (Field("note", N_("What happened"), "textarea", True),
                           Field("police_reported", N_("The police have been told"), "check")),
         lambda v, s, d: lambda c, a, at: cmd.red_flag(
             c, a, at, note=v.get("note", ""), police_reported=_check(v, "police_reported"))),
    *PATH_STEPS,
    ASSIGN_STEP,  # 包案
)
BY_ACTION: Mapping[str, Step] = {s.action.value: s for s in STEPS}


def allowed(case: Case, action: Action) -> bool:
    try:
        case.next_state(action)
    except DomainError:
        return False
    return True


def offered(case: Case, role: str) -> Sequence[Step]:
    """The steps this case's state allows and this role may record."""
    if not records(role):
        return ()
    return [s for s in STEPS if allowed(case, s.action) and may(role, s.action)
            and (s.action is not Action.HAND_DOWN or case.facts.get("escalated_from"))
            and (s.when is None or s.when(case))]


def missing(step: Step, values: Values) -> str | None:
    """The first required field left empty (a checkbox is never required)."""
    for f in step.fields:
        if f.required and f.kind != "check" and not values.get(f.name, "").strip():
            return f.name
    return None
