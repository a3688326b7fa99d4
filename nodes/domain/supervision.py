"""督办 (supervision) rules: who may issue an order on which case, where an order goes, and when a
second overdue one raises the level (挂牌督办). Pure functions; `nodes.supervision` applies them.

An order is issued by a supervisor (督查) at a county or city hub on a case whose origin is in
its area, and travels down hop by hop toward the case's origin: a case only ever moves along its
origin's chain of ancestors (`nodes.messaging.trust`), so the node holding it is on that path.
Each node on the way decides by its own copy of the case (`disposition`): no copy, or a copy it
handed down, passes the order on; a copy it escalated since answers at once that the case went
up; any other copy holds the order and must answer it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from nodes.domain.case import DomainError
from nodes.domain.roles import SUPERVISOR, roles_of
from nodes.domain.states import CaseState
from protocol.areas import AreaTree, Tier
from protocol.text import N_

Level = Literal["supervise", "listed_supervision"]  # 督办, 挂牌督办
LEVELS: tuple[Level, ...] = ("supervise", "listed_supervision")
ISSUING_TIERS = frozenset({Tier.COUNTY, Tier.CITY})
MAX_ANSWER_DAYS = 90  # an answer date further out is no supervision
Disposition = Literal["hold", "pass", "moved_up"]


def origin_of(case_id: str) -> str:
    """The origin node of a case id ("330681111242-2026-00001" -> "330681111242")."""
    return case_id.split("-")[0]


def check_issue(*, issuer: str, tier: Tier, role: str, case_id: str, tree: AreaTree,
                level: str, reason: str, respond_by: date, today: date) -> None:
    """Refuse an order that may not be issued, with the rule as one sentence."""
    if tier not in ISSUING_TIERS:
        raise DomainError("order_tier", N_(
            "supervision orders are issued by a county or city hub, not by this tier"))
    if SUPERVISOR not in roles_of(role):
        raise DomainError("order_role", N_("only a supervisor (督查) issues supervision orders"))
    origin = origin_of(case_id)
    if origin == issuer or not tree.is_under(origin, issuer):
        raise DomainError("order_outside", N_(
            "case {case} is not in this hub's area: an order goes only to the tiers below"),
            case=case_id)
    if level not in LEVELS:
        raise DomainError("order_level", N_("choose the level: supervision or listed supervision"))
    if not reason.strip():
        raise DomainError("order_reason", N_("write what is to be done"))
    if respond_by <= today:
        raise DomainError("order_past", N_(
            "the answer date {date} is not after today: give a later date"),
            date=respond_by.isoformat())
    if respond_by > today + timedelta(days=MAX_ANSWER_DAYS):
        raise DomainError("order_far", N_(
            "the answer date is at most {days} days away"), days=MAX_ANSWER_DAYS)


def check_not_held_here(state: CaseState | None) -> None:
    """A hub does not supervise itself: a case it holds is acted on from its own page."""
    if state is not None and disposition(state) == "hold":
        raise DomainError("order_held_here", N_(
            "this hub holds the case itself: act on it from its page instead"))


def disposition(state: CaseState | None) -> Disposition:
    """What a node does with an order by its own copy of the case (None: no copy)."""
    if state is None or state is CaseState.HANDED_DOWN:
        return "pass"
    if state is CaseState.ESCALATED:
        return "moved_up"
    return "hold"


def next_hop(tree: AreaTree, node_id: str, origin: str) -> str:
    """The child of `node_id` on the way down to `origin` (the origin itself, one level down)."""
    for code in (origin, *tree.ancestors(origin)):
        if tree.parent_of(code) == node_id:
            return code
    raise DomainError("order_no_way", N_(
        "no way down from {node} to the case's origin {origin}"), node=node_id, origin=origin)


def check_answer(text: str, answered: bool) -> None:
    if answered:
        raise DomainError("order_answered", N_("this order has been answered already"))
    if not text.strip():
        raise DomainError("order_answer_text", N_("write what was done (the answer's text)"))


def raises_level(level: str, overdue_on_case: int, raise_after: int) -> bool:
    """Whether an order left unanswered raises the level: the `raise_after`-th overdue order on
    a case (counting this one) turns supervision into listed supervision (挂牌督办)."""
    return level == "supervise" and raise_after > 0 and overdue_on_case >= raise_after
