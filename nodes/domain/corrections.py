"""Corrections (更正) of a case's facts and of its parties' details: appended, never overwritten.

A wrong phone number or a misheard fact is fixed by a new event with its reason; the history
keeps what was recorded first, who corrected it, when and why. The event names only *what*
changed: new facts (free text the mediator writes, like the opening facts), or which party's
which fields. The corrected personal details themselves go to the sealed `parties` table as a
new version of that party (`nodes.store.party_versions`), never into the event log, which is
in the clear. Replaying the events gives the current facts (`Case._apply`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nodes.domain.case import Actor, Case, CaseEvent, DomainError
from nodes.domain.states import Action
from protocol.text import N_

PARTY_FIELDS = ("name", "id_number", "phone", "address")


@dataclass(frozen=True)
class PartyChange:
    """New details for party number `place` (1-based, as `case show` numbers them): None leaves
    a field as it is, "" clears it (not the name)."""

    place: int
    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None

    @property
    def fields(self) -> list[str]:
        return [f for f in PARTY_FIELDS if getattr(self, f) is not None]


def correct(case: Case, actor: Actor, at: datetime, *, reason: str, facts: str | None = None,
            party: int | None = None, fields: Sequence[str] = (), parties: int = 0) -> None:
    """Record one correction: new `facts`, and/or the `fields` of party number `party` (1 to
    `parties`, as `case show` numbers them). A reason is required; so is a change."""
    case.next_state(Action.CORRECT)
    if not reason.strip():
        raise DomainError("correct_reason", N_("a correction needs a reason"))
    if facts is None and party is None:
        raise DomainError("correct_nothing", N_(
            "say what to correct: the facts, or a party and which of its details"))
    data: dict[str, Any] = {}
    if facts is not None:
        if not facts.strip():
            raise DomainError("facts_required", N_("the facts of the dispute are required"))
        if facts == case.facts.get("facts"):
            raise DomainError("correct_same_facts", N_("the new facts are the same as the "
                                                       "recorded ones"))
        data["facts"] = facts
    if party is not None:
        if not 1 <= party <= parties:
            raise DomainError("correct_party", N_(
                "party {party} does not exist; this case has {count} (see case show)"),
                party=party, count=parties)
        unknown = [f for f in fields if f not in PARTY_FIELDS]
        if not fields or unknown:
            raise DomainError("correct_fields", N_(
                "say which details of the party to correct (name, ID number, phone or address)"))
        data.update(party=party, fields=[f for f in PARTY_FIELDS if f in fields])
    case.record(Action.CORRECT, actor, at, reason.strip(), **data)


def corrected_below(history: Any) -> str | None:
    """The reason of the last correction in an arriving dossier's history (None if it records
    none): a case coming back up with corrected facts is still the same case."""
    entries = history if isinstance(history, list | tuple) else []
    reasons = [str(h.get("reason") or "") for h in entries
               if isinstance(h, dict) and h.get("kind") == Action.CORRECT.value]
    return reasons[-1] if reasons else None


def corrections(events: Sequence[CaseEvent]) -> list[Mapping[str, Any]]:
    """The corrections of a case, oldest first, with what each replaced: seq, time, reason, the
    facts before and after (if they changed), the party and fields (if those changed)."""
    out: list[Mapping[str, Any]] = []
    facts: Any = None
    for e in events:
        if facts is None and "facts" in e.data:
            facts = e.data["facts"]  # the opening facts
        if e.action is not Action.CORRECT:
            continue
        entry: dict[str, Any] = {"seq": e.seq, "at": e.at, "reason": e.reason}
        if "facts" in e.data:
            entry.update(facts_before=facts, facts=e.data["facts"])
            facts = e.data["facts"]
        if "party" in e.data:
            entry.update(party=e.data["party"], fields=list(e.data.get("fields", [])))
        out.append(entry)
    return out
