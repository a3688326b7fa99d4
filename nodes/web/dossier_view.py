"""What the dossier brought, for the case page at a hub (issue 17 item 4): the red flag with its
notes, where the case came from and why, and the history of every lower tier, as `case show`
says them (`nodes.cli.case_dossier`), so a hub decides on the whole path, not the last step."""

from __future__ import annotations

from typing import Any

from nodes.cli.case_dossier import _time, arrival_lines, node_label, risk_lines
from nodes.domain.case import Case
from nodes.domain.dossier import lower_history
from nodes.labels import action_label, state_label

ARRIVAL_SENTENCES = 2  # arrival_lines: "escalated from ...", "escalation reason ..."


def dossier_view(case: Case, lang: str) -> dict[str, Any] | None:
    """The red flag lines, the arrival sentences and the lower tiers' rows; None when the case
    has neither a red flag nor an arrival from below."""
    risk = [line.strip() for line in risk_lines(case, lang)]
    came = arrival_lines(case, lang)[:ARRIVAL_SENTENCES]
    history = [{"seq": h.get("seq"), "at": _time(h.get("at")),
                "node": node_label(h.get("node_id"), lang),
                "action": action_label(str(h.get("kind")), lang),
                "state": state_label(str(h.get("state")), lang), "reason": h.get("reason") or ""}
               for h in lower_history(case)]
    if not risk and not came:
        return None
    return {"risk": risk, "arrival": came, "history": history}
