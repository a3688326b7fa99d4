"""The printable documents of a case (issue 17): which exist in its state, and what each shows.

A document exists only once the event it puts on paper does: the application and registration
form once the case is registered, the agreement once a written one is recorded (an oral
agreement is recorded by the mediator, not signed), the termination notice once mediation ended
without agreement, the follow-up record once a visit is recorded, and the hand-down letter (交办函)
at a hub that handed the case down to the tier below. What a document shows is read from the
case's events, never typed again, so the paper says what the file says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from nodes.domain.case import Case, CaseEvent, local_date
from nodes.domain.paths import current_choice
from nodes.domain.roles import SYSTEM
from nodes.domain.states import Action, CaseState
from nodes.i18n import N_, t
from nodes.records import PartyRow
from protocol.areas import tier_of

# The routes a party still has when mediation ends without agreement (人民调解法 Art. 26).
OTHER_ROUTES = (
    N_("Apply for arbitration, where the law provides for it (for example labour disputes, "
       "or disputes over rural land contracts)."),
    N_("Ask the administrative organ concerned to deal with the dispute according to law."),
    N_("Bring a lawsuit before the people's court."),
)


def latest(case: Case, *actions: Action) -> CaseEvent | None:
    """The last event of one of these kinds, or None."""
    return next((e for e in reversed(case.events) if e.action in actions), None)


def first(case: Case, action: Action) -> CaseEvent | None:
    return next((e for e in case.events if e.action is action), None)


def day(when: date | str | None) -> str:
    """A date as documents write it (2026年03月05日), in the reader's language."""
    if not when:
        return ""
    d = date.fromisoformat(when) if isinstance(when, str) else when
    return t(N_("{year}-{month}-{day}"), year=str(d.year), month=f"{d.month:02d}",
             day=f"{d.day:02d}")


def event_day(event: CaseEvent | None) -> str:
    return day(local_date(event.at)) if event is not None else ""


def _ended(case: Case) -> CaseEvent | None:
    """The termination (or a party's refusal) that ended mediation, if it did."""
    event = latest(case, Action.TERMINATE, Action.REFUSE)
    if event is None or case.state_after.get(event.seq) is not CaseState.TERMINATED:
        return None
    return event


def _written(case: Case) -> bool:
    return case.agreement is not None and case.agreement.get("form") == "written"


@dataclass(frozen=True)
class Document:
    name: str  # in the URL: /cases/{case_id}/print/{name}
    title: str  # message id: the page's title and the paper's heading
    exists: Callable[[Case], bool]


DOCUMENTS: tuple[Document, ...] = (
    Document("application", N_("Application for mediation and registration form"),
             lambda c: first(c, Action.REGISTER) is not None),
    Document("agreement", N_("Mediation agreement"), _written),
    Document("termination", N_("Notice of termination of mediation"),
             lambda c: _ended(c) is not None),
    Document("follow_up", N_("Follow-up visit record"),
             lambda c: latest(c, Action.FOLLOW_UP) is not None),
    Document("hand_down", N_("Hand-down letter"),
             lambda c: bool(c.facts.get("escalated_from"))
             and latest(c, Action.HAND_DOWN) is not None),
)
BY_NAME: Mapping[str, Document] = {d.name: d for d in DOCUMENTS}


def available(case: Case) -> list[Document]:
    """The documents this case has in its present state, in the order a case makes them."""
    return [d for d in DOCUMENTS if d.exists(case)]


def mediator_of(case: Case) -> str:
    """The mediator the parties chose, else the person who last accepted, mediated or recorded
    the agreement ("" when nobody has yet: the paper leaves a line to fill in)."""
    chosen = current_choice(case).get("mediator")
    if chosen:
        return chosen
    for e in reversed(case.events):
        if e.action in (Action.AGREE, Action.MEDIATE, Action.ACCEPT) and e.actor_user \
                and e.actor_role != SYSTEM:
            return e.actor_user
    return ""


def context(case: Case, parties: list[PartyRow], issuer: str) -> dict[str, Any]:
    """What the document templates read (each takes the part it needs). `issuer`: this node's
    name, for the seal line."""
    registered, accepted = first(case, Action.REGISTER), latest(case, Action.ACCEPT)
    ended, handed = _ended(case), latest(case, Action.HAND_DOWN)
    agreement = case.agreement or {}
    lower = str(case.facts.get("escalated_from") or "")
    return {
        "case": case, "facts": case.facts, "parties": parties,
        "issuer": issuer, "mediator": mediator_of(case), "day": day,
        "registered": registered, "registered_on": event_day(registered),
        "registrar": (registered.actor_user or "") if registered else "",
        "accepted_on": event_day(accepted),
        "agreement": agreement, "agreed_on": event_day(latest(case, Action.AGREE)),
        "copies": len(parties) + 1, "ended": ended, "ended_on": event_day(ended),
        "routes": OTHER_ROUTES,
        "visits": [{"on": event_day(e), "by": e.actor_user or "", "honoured": e.data.get(
            "honoured"), "note": e.reason} for e in case.events if e.action is Action.FOLLOW_UP],
        "handed": handed, "handed_on": event_day(handed), "lower": lower,
        "lower_tier": tier_of(lower) if lower else "",
        "report_back_by": day(handed.data.get("report_back_by")) if handed else "",
    }
