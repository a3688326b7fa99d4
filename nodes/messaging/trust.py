"""Who may send what to a node: the checks every message passes after its signature and before
its effect (DESIGN §3). The hub trusts the broker's user and the routing key, never a payload
field on its own."""

from __future__ import annotations

from dataclasses import dataclass

from nodes.messaging.delivery import Delivery
from protocol.areas import AreaTree
from protocol.bundle import MIXED, SCHEMA_HEADER, declared_schema
from protocol.envelope import Envelope
from protocol.messages import (
    CaseDecision,
    CaseEscalated,
    CaseReportBack,
    Heartbeat,
    LifecycleReport,
    SupervisionAnswer,
    SupervisionOrder,
)
from protocol.routing import node_key
from protocol.topology import EXCHANGE_DOWN, EXCHANGE_REPORT, EXCHANGE_UP

EXPECTED_EXCHANGE = {
    "case_escalated": EXCHANGE_UP, "case_report_back": EXCHANGE_UP,
    "case_decision": EXCHANGE_DOWN,
    "supervision_order": EXCHANGE_DOWN, "supervision_answer": EXCHANGE_UP,
    "lifecycle_report": EXCHANGE_REPORT, "heartbeat": EXCHANGE_REPORT,
}


@dataclass(frozen=True)
class Trust:
    """Who may send what to this node, and how far the broker's user id is trusted."""

    node_id: str
    tree: AreaTree
    require_user_id: bool = False
    shared_users: frozenset[str] = frozenset({"guest"})

    def check(self, env: Envelope, delivery: Delivery) -> str | None:
        """None if acceptable, else the quarantine reason."""
        user = delivery.user_id
        if user is not None and user != env.sender and user not in self.shared_users:
            return f"forged sender: broker user {user!r} published as {env.sender}"
        if user is None and self.require_user_id:
            return "no validated user id on the message"
        if user in self.shared_users and self.require_user_id:
            return f"shared broker user {user!r} is not accepted here"
        kind = env.schema_name
        declared = declared_schema(delivery.headers)
        if declared is not None and declared not in (MIXED, kind):  # paced by it, unchecked
            return f"the {SCHEMA_HEADER} header says {declared[:40]!r}, but the envelope is {kind}"
        if delivery.exchange and delivery.exchange != EXPECTED_EXCHANGE[kind]:
            return f"{kind} arrived on {delivery.exchange}, expected {EXPECTED_EXCHANGE[kind]}"
        expected_key = node_key(self.node_id) if kind in ("case_decision", "supervision_order") \
            else node_key(env.sender)
        if delivery.routing_key and delivery.routing_key != expected_key:
            return f"routing key {delivery.routing_key} does not belong to sender {env.sender}"
        parent = self.tree.parent_of(self.node_id)
        if kind in ("case_escalated", "case_report_back", "supervision_answer") \
                and self.tree.parent_of(env.sender) != self.node_id:
            return f"{env.sender} is not a child of {self.node_id}"
        if kind in ("case_decision", "supervision_order") and env.sender != parent:
            return f"{env.sender} is not the parent of {self.node_id}"
        if kind in ("lifecycle_report", "heartbeat") and env.sender != self.node_id \
                and not self.tree.is_under(env.sender, self.node_id):
            return f"{env.sender} is not in the subtree of {self.node_id}"
        return self._payload_check(env) or self._supervision_check(env)

    def _supervision_check(self, env: Envelope) -> str | None:
        """An order goes down toward its case's origin, from a tier above; an answer goes up
        from the case's chain to a tier at or above this one (`nodes.supervision`)."""
        payload = env.payload
        if not isinstance(payload, SupervisionOrder | SupervisionAnswer):
            return None
        if env.case_id is None:
            return f"{payload.type} without a case_id"
        origin = env.case_id.split("-")[0]
        if isinstance(payload, SupervisionOrder):
            if not self.tree.is_under(self.node_id, payload.issuing_node):
                return f"order issued by {payload.issuing_node}, not a tier above {self.node_id}"
            if origin != self.node_id and not self.tree.is_under(origin, self.node_id):
                return f"case {env.case_id} is not in the subtree of {self.node_id}"
            return None
        if payload.issuing_node != self.node_id \
                and not self.tree.is_under(self.node_id, payload.issuing_node):
            return f"answer for {payload.issuing_node}, which is not {self.node_id} or above it"
        if payload.answering_node != env.sender \
                and not self.tree.is_under(payload.answering_node, env.sender):
            return f"answer by {payload.answering_node}, not in the subtree of {env.sender}"
        if origin != env.sender and not self.tree.is_under(origin, env.sender):
            return f"case {env.case_id} is not in the subtree of {env.sender}"
        return None

    def _payload_check(self, env: Envelope) -> str | None:
        """Payload fields a handler relies on must agree with the (checked) sender: the hub trusts
        the broker's user and the routing key, never a payload field on its own (DESIGN §3)."""
        payload = env.payload
        if isinstance(payload, LifecycleReport | Heartbeat) and payload.node_id != env.sender:
            return f"{payload.type} is about {payload.node_id} but was sent by {env.sender}"
        if isinstance(payload, CaseEscalated | CaseDecision | CaseReportBack | LifecycleReport):
            if env.case_id is None:  # the handlers need one (they assert it: a requeue loop)
                return f"{payload.type} without a case_id"
            origin = payload.origin_node
            if not env.case_id.startswith(origin + "-"):
                return f"case {env.case_id} was not opened at its origin node {origin}"
            # A case travels along its origin's chain of ancestors only: an escalation or a report
            # comes from the origin or a tier above it, a decision goes down toward the origin.
            holder = self.node_id if isinstance(payload, CaseDecision) else env.sender
            if origin != holder and not self.tree.is_under(origin, holder):
                return f"origin node {origin} is not in the subtree of {holder}"
        return None
