"""What a copy of a case knows from below, and what its own dossier passes on up.

A hub's copy opens (or is registered again) with the arrival data of the child's dossier: the
escalation reason and note, the red flag and its note, and the history of every lower tier. When
this copy escalates in turn, its dossier carries all of that plus its own events, so each tier
above sees the whole path, not just the last step (issue 16 item 3).

A red flag travels at once as a lifecycle report (no personal data). A hub that holds the case
records a red flag it learns of that way on its own copy (`note_red_flag_below`): such a note
says who raised it and when, carries no text (the report has none) and does not travel again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from nodes.domain.case import Actor, Case, CaseEvent
from nodes.domain.states import NOTE_ALLOWED, Action
from protocol.messages import MAX_TEXT

MAX_HISTORY = 1_000  # CaseEscalated.history's bound: the oldest entries give way
REPORTED_BY = "reported_by"  # a red flag learnt from a report (not raised at this node)


def arrival(case: Case) -> Mapping[str, Any] | None:
    """The data the latest dossier brought (its opening event or a re-registration); None at
    the node that opened the case."""
    for event in reversed(case.events):
        if event.action is Action.REGISTER and "escalation_reason" in event.data:
            return event.data
    return None


def lower_history(case: Case) -> list[dict[str, Any]]:
    """The events of every lower tier, as the latest dossier listed them (oldest first)."""
    data = arrival(case)
    history = data.get("history") if data else None
    return [h for h in history if isinstance(h, dict)] if isinstance(history, list) else []


def raised_here(event: CaseEvent) -> bool:
    """A red flag recorded at this node by a person (not one learnt from a report)."""
    return event.action is Action.RED_FLAG and REPORTED_BY not in event.data


def red_flag_notes(case: Case) -> list[str]:
    """Every red flag's note this copy knows: the ones the dossiers brought, then its own."""
    notes: list[str] = []
    for event in case.events:
        if event.action is Action.REGISTER:
            text = str(event.data.get("red_flag_note") or "")
        else:
            text = event.reason if raised_here(event) else ""
        if text and text not in notes:
            notes.append(text)
    return notes


def red_flag_note(case: Case) -> str:
    """The notes as one text, within the dossier's bound."""
    return "\n".join(red_flag_notes(case))[:MAX_TEXT]


def dossier_history(case: Case, upto_seq: int) -> list[dict[str, Any]]:
    """The history an escalation carries: every lower tier's events, then this copy's own up to
    the escalation, at most MAX_HISTORY (the most recent)."""
    own = [{"seq": e.seq, "node_id": e.node_id, "kind": e.action.value,
            "state": case.state_after[e.seq].value, "at": e.at, "reason": e.reason}
           for e in case.events if e.seq <= upto_seq]
    return [*lower_history(case), *own][-MAX_HISTORY:]


def note_red_flag_below(case: Case, actor: Actor, at: datetime, *, node: str, tier: str,
                        flagged_at: datetime) -> None:
    """Record on this copy a red flag a node below reported (police already told there);
    nothing where the copy's state takes no red flag (settled here: the report still counts)."""
    if case.state not in NOTE_ALLOWED[Action.RED_FLAG]:
        return
    case.record(Action.RED_FLAG, actor, at, "", police_reported=True,
                **{REPORTED_BY: node, "reported_tier": tier, "flagged_at": flagged_at.isoformat()})
