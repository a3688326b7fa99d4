"""Which events must travel, and as what (DESIGN §3): the messages a committed event puts in the outbox.

Every transition becomes a lifecycle report (no personal data). An escalation also carries the
dossier up to the parent. This is the single place that decides; the outbox holds exactly this.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from nodes.domain.case import Case, CaseEvent
from nodes.domain.states import Action, CaseState, is_note
from nodes.store.sqlite_store import OutboxRow, PartyRow
from protocol.areas import Tier
from protocol.envelope import Envelope, encode, make_envelope
from protocol.messages import CaseDecision, CaseEscalated, HistoryEntry, LifecycleReport, Party
from protocol.reference import EscalationReason
from protocol.routing import down_key, escalation_key, report_key
from protocol.topology import EXCHANGE_DOWN, EXCHANGE_REPORT, EXCHANGE_UP


def travels_as_report(event: CaseEvent) -> bool:
    return not is_note(event.action)


def outbox_rows_for(case: Case, events: Sequence[CaseEvent], node_id: str, tier: Tier,
                    parties: Sequence[PartyRow]) -> list[OutboxRow]:
    rows: list[OutboxRow] = []
    for event in events:
        if travels_as_report(event):
            rows.append(_row(EXCHANGE_REPORT, report_key(node_id),
                             _report(case, event, node_id, tier, parties)))
        if event.action is Action.ESCALATE:
            rows.append(_row(EXCHANGE_UP, escalation_key(node_id),
                             _escalation(case, event, node_id, tier, parties)))
        child = case.facts.get("escalated_from")
        decision = _decision(case, event, node_id, tier) if child else None
        if child and decision is not None:
            rows.append(_row(EXCHANGE_DOWN, down_key(child), make_envelope(
                decision, sender=node_id, case_id=case.case_id, seq=event.seq,
                sent_at=event.at)))
    return rows


# What a hub's own action means to the tier below it.
DECISION_OF: dict[Action, str] = {
    Action.ACCEPT: "accepted", Action.AGREE: "resolved", Action.CLOSE: "closed",
    Action.REFER_OUT: "referred_out", Action.ESCALATE: "escalated", Action.HAND_DOWN: "returned",
}


def _decision(case: Case, event: CaseEvent, node_id: str, tier: Tier) -> CaseDecision | None:
    """A hub's own decision, or one received from above and passed on toward the origin."""
    if event.action in (Action.DECISION_ABOVE, Action.RETURN):
        return CaseDecision.model_validate(event.data["decision"])
    kind = DECISION_OF.get(event.action)
    if kind is None:
        return None
    report_back = event.data.get("report_back_by")
    return CaseDecision(
        origin_node=case.facts["origin_node"], deciding_node=node_id, deciding_tier=tier,
        decision=kind, instruction=event.reason,  # type: ignore[arg-type]
        report_back_by=date.fromisoformat(report_back) if report_back else None,
        referred_to=event.data.get("referred_to"),
        decided_at=event.at)


def _row(exchange: str, key: str, envelope: Envelope) -> OutboxRow:
    return OutboxRow(message_id=str(envelope.message_id), case_id=envelope.case_id,
                     seq=envelope.seq, exchange=exchange, routing_key=key,
                     schema_name=envelope.schema_name, body=encode(envelope),
                     created_at=envelope.sent_at.isoformat())


def _state_before(case: Case, seq: int) -> CaseState | None:
    return case.state_after.get(seq - 1)


def _report(case: Case, event: CaseEvent, node_id: str, tier: Tier,
            parties: Sequence[PartyRow]) -> Envelope:
    before = _state_before(case, event.seq)
    payload = LifecycleReport(
        origin_node=case.facts["origin_node"], node_id=node_id, tier=tier,
        event=event.action.value, state_from=before.value if before else None,
        state_to=case.state_after[event.seq].value, at=event.at,
        dispute_type=case.facts["dispute_type"], escalated_from=event.data.get("escalated_from"),
        sent_at_child=event.data.get("sent_at_child"),
        party_hashes=tuple(p.party_hash for p in parties),
    )
    return make_envelope(payload, sender=node_id, case_id=case.case_id, seq=event.seq,
                         sent_at=event.at)


def _escalation(case: Case, event: CaseEvent, node_id: str, tier: Tier,
                parties: Sequence[PartyRow]) -> Envelope:
    history = tuple(
        HistoryEntry(seq=e.seq, node_id=e.node_id, kind=e.action.value,
                     state=case.state_after[e.seq].value, at=e.at, reason=e.reason)
        for e in case.events if e.seq <= event.seq)
    payload = CaseEscalated(
        origin_node=case.facts["origin_node"], from_tier=tier,
        dispute_type=case.facts["dispute_type"], facts=case.facts["facts"],
        parties=tuple(Party(role=p.role, name=p.name, id_number=p.id_number,  # type: ignore[arg-type]
                            phone=p.phone, address=p.address, party_hash=p.party_hash)
                      for p in parties),
        people_involved=case.facts["people_involved"],
        reason=EscalationReason(event.data["escalation_reason"]), reason_text=event.reason,
        consent=True, red_flag=case.red_flag, registered_at=case.events[0].at, history=history,
    )
    return make_envelope(payload, sender=node_id, case_id=case.case_id, seq=event.seq,
                         sent_at=event.at)
