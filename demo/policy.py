"""What the demo's mediators and hub staff decide. Deterministic per case and tier (a hash, not a
random stream), so the embedded run and the RabbitMQ run reach the same figures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from nodes.domain import commands as c
from nodes.domain.case import Actor, Case, local_date
from nodes.domain.states import CaseState
from nodes.node import Node
from protocol.reference import EscalationReason, ReferralTarget

# Shares each tier settles, refers out, hands down; the rest goes up (with consent).
POLICY: dict[str, dict[str, float]] = {
    "village": {"settle": 0.62, "refer": 0.05, "hand_down": 0.0},
    "township": {"settle": 0.45, "refer": 0.05, "hand_down": 0.15},
    "county": {"settle": 0.60, "refer": 0.10, "hand_down": 0.0},
    "city": {"settle": 0.80, "refer": 0.20, "hand_down": 0.0},
}


def share(case_id: str, tier: str) -> float:
    digest = hashlib.sha256(f"{case_id}|{tier}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _settle(node: Node) -> Callable[[Case, Actor, datetime], None]:
    rules = node.service.rules

    def run(case: Case, actor: Actor, at: datetime) -> None:
        if case.state is CaseState.REGISTERED:
            c.consent(case, actor, at)
            c.accept(case, actor, at, rules)
        c.mediate(case, actor, at, rules)
        c.agree(case, actor, at, rules, form="oral", terms="双方达成和解（示例）",
                effective_date=local_date(at))
        c.perform(case, actor, at)
        c.follow_up(case, actor, at, honoured=True)  # closing an agreed case needs this record
        c.close(case, actor, at, "协议已履行（示例）")
    return run


def _escalate(node: Node) -> Callable[[Case, Actor, datetime], None]:
    """Group cases go up at once; others after a mediation that ended without agreement."""
    rules = node.service.rules

    def run(case: Case, actor: Actor, at: datetime) -> None:
        group = int(case.facts.get("people_involved", 2)) >= 5
        if not group and case.state is CaseState.REGISTERED:
            c.consent(case, actor, at)
            c.accept(case, actor, at, rules)
            c.mediate(case, actor, at, rules)
            c.terminate(case, actor, at, reason="未达成协议（示例）", remedies_notified=True)
        c.consent(case, actor, at, scope="escalation")
        c.escalate(case, actor, at, consent_given=True, note="当事人同意上报（示例）",
                   reason=EscalationReason.GROUP_CASE if group else EscalationReason.NO_AGREEMENT)
    return run


def decide(node: Node, case_id: str, state: CaseState) -> None:
    """One staff decision on an open case at this node, in one transaction."""
    tier = node.config.tier.value
    policy, u = POLICY[tier], share(case_id, tier)
    service = node.service
    if state is CaseState.RETURNED:  # handed back down to us: settle it here, as instructed
        service.act(case_id, _settle(node))
        return
    if u < policy["settle"]:
        service.act(case_id, _settle(node))
    elif u < policy["settle"] + policy["refer"]:
        service.act(case_id, lambda k, a, t: c.refer_out(
            k, a, t, target=ReferralTarget.COURT, reason="转人民法院诉讼（示例）"))
    elif u < policy["settle"] + policy["refer"] + policy["hand_down"] and \
            not any(e.action.value == "hand_down" for e in node.store.load_events(case_id)):
        service.act(case_id, lambda k, a, t: c.hand_down(
            k, a, t, service.rules, instruction="请村调委会继续调解并反馈（示例）",
            report_back_days=15))
    elif tier == "city":
        service.act(case_id, lambda k, a, t: c.refer_out(
            k, a, t, target=ReferralTarget.COURT, reason="转诉讼（示例）"))
    else:
        service.act(case_id, _escalate(node))


def work_open_cases(node: Node) -> int:
    """Decide every case waiting at this node; returns how many were decided."""
    waiting = [(r["case_id"], CaseState(r["state"])) for r in node.store.case_rows()
               if r["state"] in ("REGISTERED", "RETURNED")]
    for case_id, state in waiting:
        decide(node, case_id, state)
    return len(waiting)
