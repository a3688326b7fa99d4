"""How `case show` presents corrections: what changed, from what to what, and why.

The history table's line for a correction says what was corrected; the section below the
parties lists each correction with the value it replaced (the facts as first written, a party's
phone before the fix) and its reason, so nothing recorded is lost from sight. A party's values
before and after come from its sealed versions (`nodes.store.party_versions.changes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from nodes.domain.case import SHANGHAI, Case, CaseEvent
from nodes.domain.corrections import corrections
from nodes.domain.states import Action
from nodes.i18n import N_, t
from nodes.records import PartyRow

Changes = Mapping[int, tuple[int, PartyRow, PartyRow]]  # seq -> (place, before, after)
FIELD_LABELS = {"name": N_("name"), "id_number": N_("ID number"), "phone": N_("phone"),
                "address": N_("address")}
SHORT = 60  # characters of the replaced facts shown in the text view (JSON has them whole)


def _time(at: datetime, iso: bool = False) -> str:
    local = at.astimezone(SHANGHAI)
    return local.isoformat() if iso else local.strftime("%Y-%m-%d %H:%M")


def correction_detail(event: CaseEvent, lang: str) -> str | None:
    """What a correction event changed, in a few words (None for any other event)."""
    if event.action is not Action.CORRECT:
        return None
    parts = []
    if "facts" in event.data:
        parts.append(t(N_("facts corrected"), lang))
    if "party" in event.data:
        fields = "、".join(t(FIELD_LABELS[f], lang) for f in event.data.get("fields", [])
                          if f in FIELD_LABELS)
        parts.append(t(N_("party {party} corrected: {fields}"), lang, party=event.data["party"],
                       fields=fields))
    return t(N_("; "), lang).join(parts)


def _field_changes(change: tuple[int, PartyRow, PartyRow], lang: str) -> str:
    _place, before, after = change
    return t(N_("; "), lang).join(
        t(N_("{field}: {before} → {after}"), lang, field=t(label, lang),
          before=getattr(before, f) or "—", after=getattr(after, f) or "—")
        for f, label in FIELD_LABELS.items() if getattr(before, f) != getattr(after, f))


def correction_lines(case: Case, changes: Changes, lang: str) -> list[str]:
    """The corrections section of `case show` (nothing if there were none)."""
    lines = []
    for c in corrections(case.events):
        at, seq, reason = _time(c["at"]), c["seq"], c["reason"]
        if "facts" in c:
            before = str(c["facts_before"])
            before = before if len(before) <= SHORT else before[:SHORT] + "…"
            lines.append(t(N_("  {at} (history {seq}) facts corrected; reason: {reason}; "
                              "before: {before}"), lang, at=at, seq=seq, reason=reason,
                           before=before))
        if "party" in c:
            detail = _field_changes(changes[seq], lang) if seq in changes else ""
            lines.append(t(N_("  {at} (history {seq}) party {party} corrected: {changes}; "
                              "reason: {reason}"), lang, at=at, seq=seq, party=c["party"],
                           changes=detail, reason=reason))
    return [t(N_("corrections:"), lang), *lines] if lines else []


def corrections_json(case: Case, changes: Changes, lang: str) -> list[dict[str, Any]]:
    """Every correction with what it replaced; a party's values before and after in full."""
    out = []
    for c in corrections(case.events):
        entry = {k: v for k, v in c.items() if k != "at"}
        entry["at"] = _time(c["at"], iso=True)
        change = changes.get(int(c["seq"]))
        if "party" in c and change is not None:
            entry["party_before"] = _party_json(change[1])
            entry["party_after"] = _party_json(change[2])
        out.append(entry)
    return out


def _party_json(p: PartyRow) -> dict[str, str | None]:
    return {"name": p.name, "id_number": p.id_number, "phone": p.phone, "address": p.address}
