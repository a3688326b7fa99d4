"""Red flags and what came from below, for `case show` and `case list` (issue 16 item 3).

At a hub, `case show` must show everything the dossier brought: the red flag with its notes (the
police were told: the flag cannot be recorded otherwise), where the case came from and why, and
the history of every lower tier. `case list` marks red-flag cases, and at a hub `--red-flag`
also lists the ones reported from below that are not held here (from the reports: no personal
data, so only where the case is, its state and type).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from nodes.cli.i18n import t as say
from nodes.cli.table import render
from nodes.domain.case import SHANGHAI, Case
from nodes.domain.dossier import REPORTED_BY, arrival, lower_history, red_flag_notes
from nodes.domain.states import Action
from nodes.i18n import N_, NP_, pt, t
from nodes.labels import action_label, ref_label, state_label, tier_label
from protocol.areas import AreaCodeError, tier_of

RED_FLAG_HEAD = N_("red flag")


def _time(at: object) -> str:
    try:
        return datetime.fromisoformat(str(at)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(at)


def node_label(node: object, lang: str) -> str:
    """A node's code with its tier's name (村, 乡镇, ...)."""
    try:
        return f"{node} {tier_label(tier_of(str(node)), lang)}"
    except (AreaCodeError, ValueError):
        return str(node)


# --- case list ----------------------------------------------------------------------------
def flag_cell(flagged: bool, lang: str) -> str:
    return pt("red flag", NP_("red flag", "yes"), lang) if flagged else ""


def state_cell(row: Mapping[str, Any], lang: str) -> str:
    """The state, and for a case only known from a report, the node that holds it."""
    label = state_label(str(row["state"]), lang)
    held = row.get("held_at")
    return t(N_("{state} (at {node})"), lang, state=label, node=held) if held else label


def red_flag_rows(rows: Sequence[dict[str, Any]], flagged: set[str],
                  reported: Iterable[dict[str, Any]], held: set[str],
                  state: str | None = None) -> list[dict[str, Any]]:
    """`case list --red-flag`: the red-flag cases among `rows`, plus those reported from below
    and not `held` here (in `state`, if given), by the time they were opened or first reported."""
    out = [r for r in rows if r["case_id"] in flagged]
    out += [r for r in reported
            if r["case_id"] not in held and (state is None or r["state"] == state)]
    return sorted(out, key=lambda r: (str(r["opened_at"]), str(r["case_id"])))


# --- case show ----------------------------------------------------------------------------
def risk_lines(case: Case, lang: str) -> list[str]:
    """风险: the red flag, police told, each note known, each flag reported from below."""
    if not case.red_flag:
        return []
    lines = [say("show_red_flag", lang)]
    lines += [t(N_("  note: {note}"), lang, note=note) for note in red_flag_notes(case)]
    for e in case.events:
        if e.action is Action.RED_FLAG and REPORTED_BY in e.data:
            lines.append(t(N_("  reported by {node} at {at} (the note stays there)"), lang,
                           node=node_label(e.data[REPORTED_BY], lang),
                           at=_time(e.data.get("flagged_at", e.at.isoformat()))))
    return lines


def arrival_lines(case: Case, lang: str) -> list[str]:
    """Where the case came from and why, and every lower tier's history, from the latest
    dossier; nothing at the node that opened the case."""
    data = arrival(case)
    if data is None:
        return []
    lines = [
        t(N_("escalated from: {node}, sent {at}"), lang,
          node=node_label(data.get("escalated_from") or case.facts.get("escalated_from"), lang),
          at=_time(data.get("sent_at_child", ""))),
        t(N_("escalation reason: {reason}; note: {note}"), lang,
          reason=ref_label(str(data.get("escalation_reason")), lang),
          note=data.get("reason_text") or "—"),
    ]
    history = lower_history(case)
    if history:
        headers = [say(k, lang) for k in ("col_seq", "col_time", "col_actor", "col_action",
                                        "col_after", "col_reason")]
        rows = [[str(h.get("seq")), _time(h.get("at")), node_label(h.get("node_id"), lang),
                 action_label(str(h.get("kind")), lang), state_label(str(h.get("state")), lang),
                 str(h.get("reason") or "")] for h in history]
        lines += [t(N_("history at the lower tiers:"), lang), render(headers, rows)]
    return lines


def dossier_json(case: Case) -> dict[str, Any]:
    """The same for `case show --json` (codes, not labels)."""
    data = arrival(case)
    return {
        "red_flag_notes": red_flag_notes(case),
        "red_flags_below": [
            {"node_id": e.data[REPORTED_BY], "tier": e.data.get("reported_tier"),
             "flagged_at": e.data.get("flagged_at")}
            for e in case.events if e.action is Action.RED_FLAG and REPORTED_BY in e.data],
        "escalation": None if data is None else {
            "from": data.get("escalated_from") or case.facts.get("escalated_from"),
            "sent_at": data.get("sent_at_child"), "reason": data.get("escalation_reason"),
            "reason_text": data.get("reason_text", ""), "red_flag": bool(data.get("red_flag")),
            "history": lower_history(case)},
    }
