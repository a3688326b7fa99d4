"""Which notices a committed event causes (`CaseService.commit` writes them with the event).

The node that acts tells the parties: 受理告知 when it accepts, 交办告知 when it hands a case down,
转办告知 when it refers it out, and 办结告知 with the outcome when it concludes the case here
(an agreement, a closing, a termination or refusal, a rejection), at whatever tier that is. A
copy below that learns of a decision taken above (`decision_above`, `settle_above`) tells
nobody: the tier that decided has told them, and a party must not read the same news twice.
A closing after a termination (or after the tier above settled the case) is not news either.

Staff alerts: a case arriving at a hub from below, and a case handed down to this node.

Each party with a phone number gets the notice (`party:N`, N its place in the case); the phone
stays in `parties`, sealed, and is opened by the notifier when it sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from nodes.domain.case import Case, CaseEvent, local_date
from nodes.domain.states import Action, CaseState
from nodes.notices.model import STAFF, NoticeKind, NoticeRow, notice_id, party
from nodes.records import PartyRow

S = CaseState
TOLD = {Action.ACCEPT: NoticeKind.ACCEPTED, Action.HAND_DOWN: NoticeKind.HANDED_DOWN,
        Action.REFER_OUT: NoticeKind.REFERRED_OUT}
OUTCOME_OF = {Action.AGREE: "agreed", Action.TERMINATE: "terminated",
              Action.REFUSE: "terminated", Action.REJECT: "rejected"}
# A closing is news only after an agreement (closed), or a breach of one (closed unresolved).
CLOSED_FROM = {S.AGREED: "closed", S.PERFORMING: "closed", S.BREACHED: "closed_unresolved"}


def event_key(event: CaseEvent) -> str:
    return f"{event.case_id}#{event.seq}"


def make(node_id: str, event: str, case_id: str | None, kind: NoticeKind, recipient: str,
         params: dict[str, str], at: datetime, *, template: str | None = None) -> NoticeRow:
    """One notice row; its id is fixed by (node, event, recipient, kind)."""
    return NoticeRow(notice_id(node_id, event, recipient, kind.value), event, case_id, kind,
                     recipient, template or kind.value, params, at)


def outcome(case: Case, event: CaseEvent) -> str | None:
    """The outcome a 办结告知 tells for this event, or None if it tells none."""
    if event.action is Action.CLOSE:
        return CLOSED_FROM.get(case.state_after.get(event.seq - 1))  # type: ignore[arg-type]
    return OUTCOME_OF.get(event.action)


def party_notice(case: Case, event: CaseEvent, name: str) -> tuple[NoticeKind, dict[str, str]] | None:
    """The kind and parameters of the parties' notice of `event`, if it causes one."""
    base = {"case": case.case_id, "node": name, "date": local_date(event.at).isoformat()}
    kind = TOLD.get(event.action)
    if kind is NoticeKind.HANDED_DOWN:
        return kind, {**base, "report_by": str(event.data.get("report_back_by") or "")}
    if kind is NoticeKind.REFERRED_OUT:
        return kind, {**base, "to": str(event.data.get("referred_to") or "")}
    if kind is not None:
        return kind, base
    said = outcome(case, event)
    return (NoticeKind.CONCLUDED, {**base, "outcome": said}) if said else None


def staff_notice(event: CaseEvent) -> tuple[str, dict[str, str]] | None:
    """The template and parameters of the staff's alert of `event`, if it causes one."""
    day = local_date(event.at).isoformat()
    if event.action is Action.REGISTER and event.data.get("escalated_from"):
        return "arrival", {"case": event.case_id, "from": str(event.data["escalated_from"]),
                           "date": day}
    if event.action is Action.RETURN:
        decision = event.data.get("decision") or {}
        return "returned", {"case": event.case_id,
                            "from": str(decision.get("deciding_name")
                                        or decision.get("deciding_node") or ""),
                            "date": day, "report_by": str(decision.get("report_back_by") or "")}
    return None


def notice_rows_for(case: Case, events: Sequence[CaseEvent], node_id: str,
                    parties: Sequence[PartyRow], *, name: str = "") -> list[NoticeRow]:
    """The notices `events` (just recorded on `case` here) cause: one per party with a phone
    for the parties' notices, one for the staff for an alert. `name`: this node's name, which
    the parties read ("" when it has none: the text then says "the mediation organisation")."""
    rows: list[NoticeRow] = []
    places = [i for i, p in enumerate(parties, start=1) if p.phone]
    for event in events:
        key = event_key(event)
        told = party_notice(case, event, name)
        if told is not None:
            kind, params = told
            rows += [make(node_id, key, case.case_id, kind, party(place), params, event.at)
                     for place in places]
        alert = staff_notice(event)
        if alert is not None:
            template, params = alert
            rows.append(make(node_id, key, case.case_id, NoticeKind.ARRIVAL, STAFF, params,
                             event.at, template=template))
    return rows
