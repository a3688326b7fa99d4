"""The guards the law puts on the mediation paths (人民调解法 Arts. 3, 23, 26-33; DOMAIN §3),
checked by `nodes.domain.commands` before it records anything.

- Voluntariness: a refusal that stands blocks acceptance and escalation (`nodes.domain.consent`);
  recorded escalation consent counts without the command's flag.
- Art. 33: an agreement is mediated again (changed, or replaced by a new one) once the court has
  refused judicial confirmation; Art. 32: a dispute over an agreement goes to the court.
- An agreement cannot take effect before the case was registered; a written one records the
  manner, place and time of performance; an agreed case closes only after a follow-up visit
  recorded the agreement as honoured (the committee follows up, Art. 31).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from nodes.domain.case import Case, DomainError, local_date
from nodes.domain.consent import ESCALATION, MEDIATION, party_list, standing
from nodes.domain.states import Action, CaseState
from protocol.reference import ReferralTarget
from protocol.text import N_

S = CaseState
AGREED_STATES = frozenset({S.AGREED, S.PERFORMING})
TIME_KEYS = ("due", "when")  # how a performance item names its date


def _refused(code: str, refused: Sequence[int | None], whole: str, each: str) -> DomainError:
    """The refusal error: `each` names the parties by number, `whole` when none is named."""
    numbers = party_list(refused)
    return DomainError(code, each, parties=numbers) if numbers else DomainError(code, whole)


def check_accept(case: Case) -> None:
    """受理 needs the parties' consent to mediation and no refusal standing."""
    now = standing(case.events, MEDIATION)
    if now.refused_by:
        raise _refused("accept_refused", now.refused_by,
                       N_("a party refused mediation; the case cannot be accepted"),
                       N_("party {parties} refused mediation; the case cannot be accepted"))
    if now.missing:
        raise DomainError("accept_consent_missing",
                          N_("consent to mediation is not yet recorded for party {parties}"),
                          parties=party_list(now.missing))
    if not now.complete:
        raise DomainError("accept_no_consent",
                          N_("the parties' consent to mediation must be recorded before "
                             "acceptance"))


def check_escalate(case: Case, consent_given: bool) -> None:
    """上报 is mediation at the next tier: blocked by a refusal of mediation or of escalation;
    the parties' consent is the command's flag or recorded escalation consent."""
    mediation = standing(case.events, MEDIATION)
    if mediation.refused_by:
        raise _refused("escalate_refused_mediation", mediation.refused_by,
                       N_("a party refused mediation; the case cannot be escalated"),
                       N_("party {parties} refused mediation; the case cannot be escalated"))
    escalation = standing(case.events, ESCALATION)
    if escalation.refused_by:
        raise _refused("escalate_refused", escalation.refused_by,
                       N_("a party refused escalation; the case cannot be escalated"),
                       N_("party {parties} refused escalation; the case cannot be escalated"))
    if not (consent_given or escalation.complete):
        raise DomainError("escalate_consent", N_("escalation needs the parties' consent"))


def check_mediate(case: Case) -> None:
    if case.state in AGREED_STATES and case.jc_status != "refused":
        raise DomainError("remediate_needs_jc_refused", N_(
            "an agreement is mediated again only after the court refused judicial confirmation; "
            "a dispute over its performance is a breach, or goes to the court"))


def check_refer_out(case: Case, target: ReferralTarget) -> None:
    if case.state in AGREED_STATES and target is not ReferralTarget.COURT:
        raise DomainError("refer_agreed_to_court",
                          N_("a dispute over an agreement goes to the court: refer it out to the "
                             "court"))


def performance_recorded(case: Case) -> bool:
    """A follow-up visit found the current agreement honoured."""
    honoured = False
    for event in case.events:
        if event.action is Action.AGREE:
            honoured = False
        elif event.action is Action.FOLLOW_UP:
            honoured = bool(event.data.get("honoured"))
    return honoured


def check_close(case: Case) -> None:
    if case.state in AGREED_STATES and not performance_recorded(case):
        raise DomainError("close_without_performance", N_(
            "an agreed case closes only after a follow-up visit recorded the agreement as "
            "honoured"))


def registered_on(case: Case) -> date:
    """The day the case was registered at this node (its first registration, else its report)."""
    first = next((e for e in case.events if e.action is Action.REGISTER), case.events[0])
    return local_date(first.at)


def check_agreement(case: Case, *, form: str, effective_date: date,
                    performance: Sequence[dict[str, Any]], manner: str, place: str) -> None:
    registered = registered_on(case)
    if effective_date < registered:
        raise DomainError("effective_before_registration", N_(
            "the agreement's effective date {date} is before the case was registered "
            "({registered})"), date=effective_date.isoformat(), registered=registered.isoformat())
    timed = any(item.get(key) for item in performance for key in TIME_KEYS)
    if form == "written" and not (manner.strip() and place.strip() and timed):
        raise DomainError("written_performance", N_(
            "a written agreement records the manner, place and time of performance (what is to "
            "be done, and by when)"))
