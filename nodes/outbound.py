"""Which events must travel, and as what (DESIGN §3): the messages a committed event puts in the outbox.

Every transition, and a red flag raised here, becomes a lifecycle report (no personal data). An
escalation also carries the dossier up to the parent: every lower tier's history with its own.
This is the single place that decides; the outbox holds exactly this. Personal fields are sealed
to the receiving node here, as the row is made (`seal`: the node's `Sealer`), so the outbox, the
broker and any copy of the message hold only sealed tokens.

Accusations (检举控告, DOMAIN §4): the accuser's identity must never reach the accused unit. Only
the dossier carries identity, and it only goes up, so an accusation is never escalated to the
accused node; what goes down (CaseDecision) carries no party data at all, and a hub never hands
an accusation back down to the accused node to handle. Both refusals are DomainErrors raised
before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache, partial

from nodes.domain.above import report_back_to
from nodes.domain.case import Case, CaseEvent, DomainError, local_date
from nodes.domain.dossier import dossier_history, raised_here, red_flag_note
from nodes.domain.risk import RiskRules
from nodes.domain.states import Action, CaseState, is_note
from nodes.records import OutboxRow, PartyRow
from protocol import routing
from protocol.areas import Tier
from protocol.envelope import MAX_MESSAGE_BYTES, Envelope, encode, make_envelope
from protocol.messages import CaseDecision, CaseEscalated, CaseReportBack, LifecycleReport
from protocol.reference import EscalationReason
from protocol.text import N_
from protocol.topology import EXCHANGE_DOWN, EXCHANGE_REPORT, EXCHANGE_UP

# A node's routing keys are pure functions of area codes, and the same few every time: computed
# once per code instead of re-parsing the code for every outbox row.
report_key = lru_cache(maxsize=1024)(routing.report_key)
escalation_key = lru_cache(maxsize=1024)(routing.escalation_key)
down_key = lru_cache(maxsize=1024)(routing.down_key)


def travels_as_report(event: CaseEvent) -> bool:
    """Transitions, and a red flag raised here: it reaches township, county and city at once."""
    return not is_note(event.action) or raised_here(event)


def accused_of(case: Case) -> str | None:
    """The accused unit's node id if the case is an accusation, else None."""
    return str(case.facts["accused_node"]) if case.facts.get("accusation") else None


def check_accusation_route(case: Case, event: CaseEvent, parent: str | None) -> None:
    """Refuse to send an accusation up to, or hand it down to, the accused node."""
    accused = accused_of(case)
    if accused is None:
        return
    if event.action is Action.ESCALATE and parent == accused:
        raise DomainError(
            "accusation_up_to_accused",
            N_("an accusation cannot be escalated to the accused unit {accused}; refer it out to "
               "the competent organ instead"), accused=accused)
    if event.action is Action.HAND_DOWN and case.facts.get("escalated_from") == accused:
        raise DomainError(
            "accusation_down_to_accused",
            N_("an accusation cannot be handed down to the accused unit {accused}: the accuser's "
               "identity and materials must never reach the accused"), accused=accused)


Seal = Callable[[Envelope, str], Envelope]  # (message, recipient node) -> message, sealed


def outbox_rows_for(case: Case, events: Sequence[CaseEvent], node_id: str, tier: Tier,
                    parties: Sequence[PartyRow], parent: str | None = None, *,
                    seal: Seal | None, name: str = "",
                    risk: RiskRules | None = None) -> list[OutboxRow]:
    """`seal` None writes personal fields in the clear: only for tests of the rows' content.
    `name`: this node's name, carried by its decisions and report-backs for people to read."""
    rows: list[OutboxRow] = []
    sealed = seal or (lambda env, _recipient: env)
    for event in events:
        check_accusation_route(case, event, parent)
        if travels_as_report(event):
            rows.append(message_row(EXCHANGE_REPORT, report_key(node_id),
                             _report(case, event, node_id, tier, parties, risk)))
        if event.action is Action.ESCALATE:
            rows.append(message_row(EXCHANGE_UP, escalation_key(node_id), sealed(
                _escalation(case, event, node_id, tier, parties), parent or "")))
        child = case.facts.get("escalated_from")
        decision = _decision(case, event, node_id, tier, name) if child else None
        if child and decision is not None:
            rows.append(message_row(EXCHANGE_DOWN, down_key(child), sealed(make_envelope(
                decision, sender=node_id, case_id=case.case_id, seq=event.seq,
                sent_at=event.at, prev_seq=_previous(case, event, _sends_decision)), child)))
        hub = report_back_to(case, event.seq) if _sends_report_back(event) else None
        if hub is not None:
            rows.append(message_row(EXCHANGE_UP, escalation_key(node_id), sealed(make_envelope(
                _report_back(case, event, node_id, tier, name), sender=node_id,
                case_id=case.case_id, seq=event.seq, sent_at=event.at,
                prev_seq=_previous(case, event, partial(_sent_report_back, case))), hub)))
    return rows


def _sends_decision(event: CaseEvent) -> bool:
    return event.action in DECISION_OF or event.action in PASSED_ON


def _sends_report_back(event: CaseEvent) -> bool:
    return event.action in REPORTED_BACK or event.action is Action.REPORT_UP


def _sent_report_back(case: Case, event: CaseEvent) -> bool:
    """Whether this event sent a report-back: one of its kind while a hub waited for it (a
    termination before the case ever went up sent none, so it is no predecessor)."""
    return _sends_report_back(event) and report_back_to(case, event.seq) is not None


def _sends_escalation(event: CaseEvent) -> bool:
    return event.action is Action.ESCALATE


def _previous(case: Case, event: CaseEvent, sends: Callable[[CaseEvent], bool]) -> int:
    """Seq of the last earlier event that sent a message of the same stream (0: none), so the
    receiver can apply the stream in order (Envelope.prev_seq)."""
    return max((e.seq for e in case.events if e.seq < event.seq and sends(e)), default=0)


# What a hub's own action means to the tier below it (a CLOSE: by the state it leads to).
DECISION_OF: dict[Action, str] = {
    Action.ACCEPT: "accepted", Action.AGREE: "resolved", Action.CLOSE: "closed",
    Action.REFER_OUT: "referred_out", Action.ESCALATE: "escalated", Action.HAND_DOWN: "returned",
    Action.REJECT: "rejected", Action.TERMINATE: "terminated",
    Action.REFUSE: "terminated",  # a party refused or ended the mediation (issue 16)
}
# Decisions received from above that a hub passes on toward the origin.
PASSED_ON = frozenset({Action.DECISION_ABOVE, Action.SETTLE_ABOVE, Action.RETURN})
# What the tier a case was handed down to reports back by itself when it decides.
REPORTED_BACK: dict[Action, str] = {
    Action.AGREE: "resolved", Action.REFER_OUT: "referred_out", Action.CLOSE: "closed",
    Action.TERMINATE: "terminated", Action.REFUSE: "terminated",
}


def _outcome(case: Case, event: CaseEvent, table: dict[Action, str]) -> str | None:
    kind = table.get(event.action)
    if kind == "closed" and case.state_after[event.seq] is CaseState.CLOSED_UNRESOLVED:
        return "closed_unresolved"
    return kind


def _remedies(case: Case, event: CaseEvent) -> bool:
    """Whether the parties were told their other routes: by this termination, or, for a case
    closed unresolved, by the termination before it."""
    if event.action is Action.CLOSE:
        if case.state_after[event.seq] is not CaseState.CLOSED_UNRESOLVED:
            return False
        return any(e.data.get("remedies_notified") for e in case.events
                   if e.action in (Action.TERMINATE, Action.REFUSE) and e.seq < event.seq)
    return bool(event.data.get("remedies_notified"))


def _said(event: CaseEvent) -> str:
    """The text a decision or report carries: the agreement's terms, else the event's reason."""
    if event.action is Action.AGREE:
        return str(event.data.get("terms", ""))
    return event.reason


def _decision(case: Case, event: CaseEvent, node_id: str, tier: Tier,
              name: str = "") -> CaseDecision | None:
    """A hub's own decision, or one received from above and passed on toward the origin."""
    if event.action in PASSED_ON:
        return CaseDecision.model_validate(event.data["decision"])
    kind = _outcome(case, event, DECISION_OF)
    if kind is None:
        return None
    report_back = event.data.get("report_back_by")
    return CaseDecision(
        origin_node=case.facts["origin_node"], deciding_node=node_id, deciding_tier=tier,
        decision=kind, instruction=_said(event),  # type: ignore[arg-type]
        report_back_by=date.fromisoformat(report_back) if report_back else None,
        referred_to=event.data.get("referred_to"), deciding_name=name,
        remedies_notified=_remedies(case, event), decided_at=event.at)


def _report_back(case: Case, event: CaseEvent, node_id: str, tier: Tier,
                 name: str) -> CaseReportBack:
    kind = "interim" if event.action is Action.REPORT_UP else _outcome(case, event, REPORTED_BACK)
    return CaseReportBack(
        origin_node=case.facts["origin_node"], reporting_node=node_id, reporting_name=name,
        reporting_tier=tier, outcome=kind, text=_said(event),  # type: ignore[arg-type]
        referred_to=event.data.get("referred_to"),
        remedies_notified=_remedies(case, event), decided_at=event.at)


def message_row(exchange: str, key: str, envelope: Envelope) -> OutboxRow:
    """The outbox row of one message; refused (nothing written) if no receiver would take it."""
    body = encode(envelope)
    if len(body) > MAX_MESSAGE_BYTES:
        # No receiver takes it, and the broker would refuse it and hold back the whole outbox
        # behind it (max_message_size): refuse the command instead, with nothing written.
        raise DomainError("message_too_large", N_(
            "the message this would send for case {case} is {size} bytes, above the network's "
            "limit of {limit}: shorten the facts, reasons or instructions"),
            case=envelope.case_id or "", size=len(body), limit=MAX_MESSAGE_BYTES)
    return OutboxRow(message_id=str(envelope.message_id), case_id=envelope.case_id,
                     seq=envelope.seq, exchange=exchange, routing_key=key,
                     schema_name=envelope.schema_name, body=body,
                     created_at=envelope.sent_at.isoformat())


def _state_before(case: Case, seq: int) -> CaseState | None:
    return case.state_after.get(seq - 1)


def _report(case: Case, event: CaseEvent, node_id: str, tier: Tier,
            parties: Sequence[PartyRow], risk: RiskRules | None = None) -> Envelope:
    before = _state_before(case, event.seq)
    payload = LifecycleReport(
        origin_node=case.facts["origin_node"], node_id=node_id, tier=tier,
        event=event.action.value, state_from=before.value if before else None,
        state_to=case.state_after[event.seq].value, at=event.at,
        dispute_type=case.facts["dispute_type"], escalated_from=event.data.get("escalated_from"),
        sent_at_child=event.data.get("sent_at_child"),
        party_hashes=tuple(p.party_hash for p in parties),
        risk=case.risk(local_date(event.at), risk) if risk is not None else None,
    )
    return make_envelope(payload, sender=node_id, case_id=case.case_id, seq=event.seq,
                         sent_at=event.at)


def _escalation(case: Case, event: CaseEvent, node_id: str, tier: Tier,
                parties: Sequence[PartyRow]) -> Envelope:
    # Validated in one call from plain dicts (the same schema checks as building each Party and
    # HistoryEntry model first, without a Python-level model constructor per entry).
    accused = accused_of(case)
    payload = CaseEscalated.model_validate({
        "origin_node": case.facts["origin_node"], "from_tier": tier,
        "dispute_type": case.facts["dispute_type"], "facts": case.facts["facts"],
        "parties": [{"role": p.role, "name": p.name, "id_number": p.id_number,
                     "phone": p.phone, "address": p.address, "party_hash": p.party_hash}
                    for p in parties],
        "people_involved": case.facts["people_involved"],
        "reason": EscalationReason(event.data["escalation_reason"]), "reason_text": event.reason,
        "consent": True, "red_flag": case.red_flag, "registered_at": case.events[0].at,
        "red_flag_note": red_flag_note(case), "grid_id": case.facts.get("grid_id"),
        "history": dossier_history(case, event.seq),  # every lower tier's, then this one's
        "accusation": accused is not None, "accused_node": accused,
    })
    return make_envelope(payload, sender=node_id, case_id=case.case_id, seq=event.seq,
                         sent_at=event.at, prev_seq=_previous(case, event, _sends_escalation))
