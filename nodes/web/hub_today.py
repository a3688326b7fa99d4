"""The hub's part of 今日 (township, county, city; issue 17 item 4): what arrived from below and
waits for a decision, red flags first, and the cases handed down (交办) waiting for their
report-back, overdue first, with what came back lately; and the whole subtree's overdue cases as
the deadline sweeps below reported them (`nodes.deadline_sweep`, issue 18).

Built from the hub's own copies of its cases (the dossier each arrival brought), so it reads the
same data as `case show`; no personal data is listed, only case ids, types, nodes and dates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from nodes.cli.case_dossier import node_label
from nodes.cli.clock_render import reported_kind_label
from nodes.cli.outcome_render import FROM_BELOW, event_line
from nodes.domain.case import Case, local_date
from nodes.domain.clock_book import ClockKind
from nodes.domain.clock_plan import clocks_of
from nodes.domain.dossier import arrival
from nodes.domain.states import Action, CaseState
from nodes.labels import ref_label, risk_label
from nodes.node import Node
from protocol.areas import Tier

REPORTED_SHOWN = 20  # report-backs that came in lately, newest first
OVERDUE_SHOWN = 20  # the subtree's overdue cases shown, the most late first (`hub overdue`: all)


def is_hub(node: Node) -> bool:
    return node.config.tier is not Tier.VILLAGE


def _arrival_row(node: Node, case: Case, flagged: bool, today: date, lang: str
                 ) -> dict[str, Any]:
    data = arrival(case) or {}
    came = next((e.at for e in reversed(case.events) if e.action is Action.REGISTER), None)
    running = [c for c in clocks_of(case, node.service.rules)
               if c.kind is ClockKind.ACCEPTANCE and c.running]
    clock = min(running, key=lambda c: c.due) if running else None
    reason = str(data.get("escalation_reason") or "")
    return {"case_id": case.case_id, "flag": flagged or case.red_flag,
            "dispute_type": case.facts.get("dispute_type", ""),
            "from": node_label(case.facts.get("escalated_from", ""), lang),
            "reason": ref_label(reason, lang) if reason else "",
            "note": str(data.get("reason_text") or ""), "arrived": came, "clock": clock,
            "overdue": bool(clock and clock.is_overdue(today))}


def arrivals(node: Node, lang: str) -> list[dict[str, Any]]:
    """Cases registered here by escalation and not yet accepted or decided: red flags first,
    then the longest waiting."""
    today, flagged = local_date(node.clock.now()), node.store.red_flag_case_ids()
    out = []
    for row in node.store.case_rows(CaseState.REGISTERED.value):
        if not row.get("escalated_from"):
            continue
        case = node.store.load_case(row["case_id"])
        if case is None:
            continue
        out.append(_arrival_row(node, case, row["case_id"] in flagged, today, lang))
    return sorted(out, key=lambda d: (not d["flag"], str(d["arrived"] or ""), d["case_id"]))


def _latest_report(case: Case, lang: str) -> str:
    for event in reversed(case.events):
        if event.action in FROM_BELOW:
            line = event_line(event, lang)
            if line:
                return line
    return ""


def _hand_down(case: Case) -> Mapping[str, Any]:
    for event in reversed(case.events):
        if event.action is Action.HAND_DOWN:
            return {"instruction": event.reason, "at": event.at,
                    "by": event.data.get("report_back_by", "")}
    return {}


def waiting_report_back(node: Node, lang: str) -> list[dict[str, Any]]:
    """Cases handed down (HANDED_DOWN) with their report-back clock: overdue first, then the
    soonest due; each with its instruction and any interim report that came up."""
    today = local_date(node.clock.now())
    out = []
    for row in node.store.case_rows(CaseState.HANDED_DOWN.value):
        case = node.store.load_case(row["case_id"])
        if case is None:
            continue
        clocks = [c for c in clocks_of(case, node.service.rules)
                  if c.kind is ClockKind.REPORT_BACK and c.running]
        clock = min(clocks, key=lambda c: c.due) if clocks else None
        down = _hand_down(case)
        out.append({"case_id": case.case_id, "dispute_type": row["dispute_type"],
                    "to": node_label(row.get("escalated_from") or "", lang),
                    "instruction": down.get("instruction", ""), "handed_at": down.get("at"),
                    "due": clock.due if clock else None,
                    "overdue": bool(clock and clock.is_overdue(today)),
                    "report": _latest_report(case, lang)})
    return sorted(out, key=lambda d: (not d["overdue"], d["due"] or date.max, d["case_id"]))


def reported_back(node: Node, lang: str) -> list[dict[str, Any]]:
    """Hand-downs settled below (SETTLED_BELOW), newest first, with the report-back line."""
    rows = sorted(node.store.case_rows(CaseState.SETTLED_BELOW.value),
                  key=lambda r: str(r["updated_at"]), reverse=True)[:REPORTED_SHOWN]
    out = []
    for row in rows:
        case = node.store.load_case(row["case_id"])
        if case is not None:
            out.append({"case_id": case.case_id, "dispute_type": row["dispute_type"],
                        "line": _latest_report(case, lang)})
    return out


def subtree_overdue(node: Node, lang: str) -> list[dict[str, Any]]:
    """Every overdue case of the subtree (this hub's own included), the most late first."""
    rows = node.store.deadlines_reported(local_date(node.clock.now()))
    return sorted(({**r, "where": f"{r['name']} {node_label(r['node_id'], lang)}".strip(),
                    "clock": _clock_name(r["clock_kind"], lang),
                    "risk_name": risk_label(r.get("risk"), lang)}
                   for r in rows if r["status"] == "overdue"),
                  key=lambda r: (str(r["due"]), str(r["case_id"])))


def _clock_name(kind: object, lang: str) -> str:
    """A reported clock's kind in the reader's language (one this version does not know, as it
    came)."""
    return reported_kind_label(kind, lang)


def hub_today(node: Node, lang: str) -> dict[str, Sequence[dict[str, Any]]] | None:
    """The hub's sections of the today page; None at a village."""
    if not is_hub(node):
        return None
    return {"arrivals": arrivals(node, lang), "waiting": waiting_report_back(node, lang),
            "reported": reported_back(node, lang), "overdue": subtree_overdue(node, lang)}
