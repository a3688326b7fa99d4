"""督办 across tiers (issue 18): a supervisor at a county or city hub issues an order on a case in
its area; the order travels down hop by hop to the node holding the case; that node answers (办理
情况反馈); the answer travels up hop by hop to the issuer. An order unanswered past its date is
overdue at both ends, and the `raise_after`-th overdue order on a case raises the level to listed
supervision (挂牌督办) with a new order (`sweep`). The rules are `nodes.domain.supervision`.

Each step writes this node's row of the order (`nodes.store.supervision`) and the message it
causes in one transaction, so a crash leaves both or neither (DESIGN §4 rule 1); a received one
runs inside the consumer's transaction with its inbox row (rule 2). Orders and answers go one hop
at a time, signed by the node that sends them, so each receiver checks its own parent or child as
for every other message; the reason and the answer travel sealed to the next hop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

import structlog

from nodes.clock import Clock
from nodes.domain import supervision as rules
from nodes.domain.case import DomainError, local_date
from nodes.domain.states import CaseState
from nodes.outbound import Seal, down_key, escalation_key, message_row, report_key
from nodes.store import supervision as orders
from nodes.store.sqlite_store import SqliteStore
from nodes.store.supervision import HELD, ISSUED, PASSED, OrderRow
from protocol.areas import AreaTree, Tier
from protocol.envelope import Envelope, make_envelope
from protocol.messages import LifecycleReport, SupervisionAnswer, SupervisionOrder
from protocol.text import N_
from protocol.topology import EXCHANGE_DOWN, EXCHANGE_REPORT, EXCHANGE_UP

log = structlog.get_logger("fengqiao.supervision")
RAISE_AFTER = 2  # the second overdue order on a case raises the level (configurable per node)
RAISED_DAYS = 7  # the answer date of an order raised to listed supervision, from the day raised
SYSTEM = "system"
# Lifecycle reports of a listed order (挂牌督办), so every tier above its issuer lists it
# (`hub.store.HubStore.listed_orders`); they move no case.
ORDER_LISTED, ORDER_LISTED_ENDED = "order_listed", "order_listed_ended"
ORDER_EVENTS = frozenset({ORDER_LISTED, ORDER_LISTED_ENDED})
LISTED = "listed_supervision"
UNKNOWN_TYPE = "99"  # the dispute type when this hub never heard the case's (其他)


class OrderNotFound(DomainError):
    def __init__(self, order_id: str) -> None:
        super().__init__("order_not_found", N_("no supervision order {order} at this node"),
                         order=order_id)


@dataclass(frozen=True)
class SweepCounts:
    """What one sweep found: orders overdue for the first time, and levels raised."""

    overdue: int = 0
    raised: int = 0


class Supervision:
    def __init__(self, store: SqliteStore, clock: Clock, *, node_id: str, tier: Tier,
                 tree: AreaTree, seal: Seal | None, name: str = "",
                 raise_after: int = RAISE_AFTER) -> None:
        self.store, self.clock, self.node_id, self.tier, self.tree = (
            store, clock, node_id, tier, tree)
        self.seal, self.name, self.raise_after = seal, name, raise_after

    # -- issuing -------------------------------------------------------------------------------

    def issue(self, case_id: str, *, reason: str, respond_by: date, level: str = "supervise",
              user: str | None = None, role: str = "supervisor",
              raised_from: str | None = None) -> OrderRow:
        """Issue an order on a case in this hub's area; refused with the rule, nothing written."""
        now = self.clock.now()
        rules.check_issue(issuer=self.node_id, tier=self.tier, role=role, case_id=case_id,
                          tree=self.tree, level=level, reason=reason, respond_by=respond_by,
                          today=local_date(now))
        with self.store.atomic():
            rules.check_not_held_here(self._state(case_id))
            year = local_date(now).year
            order_id = f"{self.node_id}-{year}-D{orders.issued_count(self.store, self.node_id, year) + 1:05d}"
            hop = rules.next_hop(self.tree, self.node_id, rules.origin_of(case_id))
            payload = SupervisionOrder(
                issuing_node=self.node_id, issuing_name=self.name, target_node=self._holder(case_id),
                level=cast(rules.Level, level), reason=reason.strip(), respond_by=respond_by, issued_at=now,
                order_id=order_id, raised_from=raised_from or "")
            orders.add(self.store, order_id=order_id, case_id=case_id, part=ISSUED,
                       issuing_node=self.node_id, issuing_name=self.name,
                       target_node=payload.target_node, level=level, reason=payload.reason,
                       respond_by=respond_by, issued_at=now, recorded_at=now, issued_by=user,
                       raised_from=raised_from)
            self._send_down(case_id, payload, hop)
            if level == LISTED:
                self._report_listed(case_id, order_id, respond_by, ORDER_LISTED)
        log.info("supervision.issued", order_id=order_id, case_id=case_id, level=level,
                 next_hop=hop, account=user)
        found = orders.order(self.store, order_id)
        assert found is not None  # noqa: S101 - written above
        return found

    def _holder(self, case_id: str) -> str:
        """Where the case is as this hub last heard (its subtree's reports); else its origin."""
        return self.store.holder_of(case_id) or rules.origin_of(case_id)

    # -- receiving an order --------------------------------------------------------------------

    def on_order(self, env: Envelope) -> None:
        """An order from the parent: hold it, pass it down, or answer that the case went up."""
        order, case_id, now = env.payload_as(SupervisionOrder), env.case, self.clock.now()
        order_id = order.order_id or f"{order.issuing_node}-m{env.message_id.hex[:20]}"
        state = self._state(case_id)
        origin = rules.origin_of(case_id)
        if state is None and origin == self.node_id:
            raise DomainError("order_case_unknown", N_(
                "supervision order {order} is about case {case}, which this node does not have"),
                order=order_id, case=case_id)
        where = rules.disposition(state)
        hop = rules.next_hop(self.tree, self.node_id, origin) if where == "pass" else self.node_id
        if not orders.add(self.store, order_id=order_id, case_id=case_id,
                          part=PASSED if where == "pass" else HELD,
                          issuing_node=order.issuing_node, issuing_name=order.issuing_name,
                          target_node=hop, level=order.level, reason=order.reason,
                          respond_by=order.respond_by, issued_at=order.issued_at,
                          recorded_at=now, raised_from=order.raised_from or None):
            return  # already here (the same order sent again): nothing more to do
        if where == "pass":
            self._send_down(case_id, order.model_copy(update={"order_id": order_id}), hop)
        elif where == "moved_up":
            self._answer(order_id, case_id, text="", state=CaseState.ESCALATED.value, user=None,
                         automatic=True)
        log.info("supervision.received", order_id=order_id, case_id=case_id, disposition=where)

    # -- answering -----------------------------------------------------------------------------

    def answer(self, order_id: str, *, text: str, user: str | None = None) -> OrderRow:
        """The holder's answer (what was done, and the case's state here), sent to the issuer."""
        found = orders.order(self.store, order_id)
        if found is None or found.part != HELD:
            raise OrderNotFound(order_id)
        rules.check_answer(text, found.answered_at is not None)
        with self.store.atomic():
            state = self._state(found.case_id)
            self._answer(order_id, found.case_id, text=text.strip(),
                         state=state.value if state else "", user=user, automatic=False)
        log.info("supervision.answered", order_id=order_id, case_id=found.case_id, account=user)
        answered = orders.order(self.store, order_id)
        assert answered is not None  # noqa: S101 - read above
        return answered

    def _answer(self, order_id: str, case_id: str, *, text: str, state: str, user: str | None,
                automatic: bool) -> None:
        now = self.clock.now()
        row = orders.order(self.store, order_id)
        assert row is not None  # noqa: S101 - the callers wrote or read it
        if not orders.record_answer(self.store, order_id, answered_at=now, text=text,
                                    state=state, node=self.node_id, name=self.name, user=user,
                                    automatic=automatic):
            raise DomainError("order_answered", N_("this order has been answered already"))
        payload = SupervisionAnswer(
            order_id=order_id, issuing_node=row.issuing_node, answering_node=self.node_id,
            answering_name=self.name, case_state=state, text=text, automatic=automatic,
            answered_at=now)
        self._send_up(case_id, payload)

    # -- receiving an answer -------------------------------------------------------------------

    def on_answer(self, env: Envelope) -> None:
        """An answer from a child: recorded on this node's row; passed on up unless issued here."""
        answer, case_id = env.payload_as(SupervisionAnswer), env.case
        row = orders.order(self.store, answer.order_id)
        mine = answer.issuing_node == self.node_id
        if mine and (row is None or row.part != ISSUED):
            raise OrderNotFound(answer.order_id)
        if row is not None and row.answered_at is None:
            orders.record_answer(self.store, answer.order_id, answered_at=answer.answered_at,
                                 text=answer.text, state=answer.case_state,
                                 node=answer.answering_node, name=answer.answering_name,
                                 user=None, automatic=answer.automatic)
        if mine and row is not None and row.level == LISTED:
            self._report_listed(case_id, row.order_id, row.respond_by, ORDER_LISTED_ENDED)
        if not mine:
            self._send_up(case_id, answer)
        log.info("supervision.answer_received", order_id=answer.order_id, case_id=case_id,
                 here=mine)

    # -- the periodic sweep --------------------------------------------------------------------

    def sweep(self) -> SweepCounts:
        """Mark orders newly overdue; raise the level of a case's `raise_after`-th overdue one."""
        now = self.clock.now()
        today, overdue, raised = local_date(now), 0, 0
        for row in orders.orders(self.store, open_only=True):
            if not row.overdue(today) or row.overdue_seen_at is not None or row.part == PASSED:
                continue
            with self.store.atomic():
                orders.mark_overdue_seen(self.store, row.order_id, now)
            overdue += 1
            log.info("supervision.overdue", order_id=row.order_id, case_id=row.case_id,
                     part=row.part)
            if row.part == ISSUED and self._raise(row, today):
                raised += 1
        return SweepCounts(overdue, raised)

    def _raise(self, row: OrderRow, today: date) -> bool:
        on_case = orders.orders(self.store, part=ISSUED, case_id=row.case_id)
        late = sum(1 for o in on_case if o.overdue_seen_at is not None or o.order_id == row.order_id)
        listed_open = any(o.level == "listed_supervision" and o.answered_at is None
                          for o in on_case)
        if listed_open or not rules.raises_level(row.level, late, self.raise_after):
            return False
        try:
            self.issue(row.case_id, reason=row.reason, level="listed_supervision",
                       respond_by=today + timedelta(days=RAISED_DAYS), user=SYSTEM,
                       role="supervisor", raised_from=row.order_id)
        except DomainError as exc:  # the case came here meanwhile: nothing to raise
            log.info("supervision.not_raised", order_id=row.order_id, reason=exc.code)
            return False
        return True

    # -- messages ------------------------------------------------------------------------------

    def _state(self, case_id: str) -> CaseState | None:
        case = self.store.load_case(case_id)
        return case.state if case is not None else None

    def _report_listed(self, case_id: str, order_id: str, due: date, event: str) -> None:
        """A listed order's start or end, on the report exchange (no personal data: codes, the
        case's state and type as known here, the answer date)."""
        now, case = self.clock.now(), self.store.load_case(case_id)
        state, kind = ((case.state.value, str(case.facts["dispute_type"])) if case and case.state
                       else self.store.reported_case(case_id) or (CaseState.REGISTERED.value,
                                                                   UNKNOWN_TYPE))
        payload = LifecycleReport(
            origin_node=rules.origin_of(case_id), node_id=self.node_id, tier=self.tier,
            event=event, state_from=None, state_to=state, at=now, dispute_type=kind,
            clock_kind=LISTED, due=due, order_id=order_id)
        env = make_envelope(payload, sender=self.node_id, case_id=case_id, seq=0, sent_at=now)
        self.store.add_outbox([message_row(EXCHANGE_REPORT, report_key(self.node_id), env)])

    def _send_down(self, case_id: str, payload: SupervisionOrder, hop: str) -> None:
        self._send(EXCHANGE_DOWN, down_key(hop), case_id, payload, hop)

    def _send_up(self, case_id: str, payload: SupervisionAnswer) -> None:
        parent = self.tree.parent_of(self.node_id)
        if parent is None:
            raise DomainError("order_no_parent", N_("this node has no tier above to answer to"))
        self._send(EXCHANGE_UP, escalation_key(self.node_id), case_id, payload, parent)

    def _send(self, exchange: str, key: str, case_id: str,
              payload: SupervisionOrder | SupervisionAnswer, to: str) -> None:
        env = make_envelope(payload, sender=self.node_id, case_id=case_id, seq=0,
                            sent_at=self.clock.now())
        sealed = self.seal(env, to) if self.seal is not None else env
        self.store.add_outbox([message_row(exchange, key, sealed)])
