"""The risk colour of the cases a page shows (`nodes.domain.risk`), from what the page already
has (rows, their clocks, the red flags) and two small queries for the rest (repeat parties, open
supervision orders: `nodes.store.risk_facts`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from nodes.domain.risk import Risk, RiskFacts, days_late, risk_of
from nodes.i18n import NP_, pt
from nodes.labels import risk_label
from nodes.node import Node
from nodes.store.risk_facts import open_order_levels, repeat_party_cases

REASON_NAMES = {"red_flag": NP_("risk reason", "red flag"),
                "people": NP_("risk reason", "many people"),
                "overdue": NP_("risk reason", "overdue"),
                "repeat": NP_("risk reason", "a party of another case"),
                "supervision": NP_("risk reason", "under supervision")}


def risks(node: Node, rows: Sequence[Mapping[str, Any]], clocks: Mapping[str, Sequence[Any]],
          flagged: set[str], today: date) -> dict[str, Risk]:
    ids = [str(r["case_id"]) for r in rows]
    repeats = repeat_party_cases(node.store, ids)
    levels = open_order_levels(node.store, ids)
    return {str(r["case_id"]): risk_of(RiskFacts(
        red_flag=r["case_id"] in flagged, people=int(r.get("people_involved") or 1),
        overdue_days=days_late(clocks.get(str(r["case_id"]), ()), today),
        repeat_party=r["case_id"] in repeats, supervision=levels.get(str(r["case_id"]))),
        node.config.risk) for r in rows}


def risk_text(risk: Risk, lang: str | None = None) -> str:
    """"红：风险报警、逾期" — the colour's name and why, for the badge's text."""
    colour = risk_label(risk.colour, lang)
    if not risk.reasons:
        return colour
    reasons = pt("risk", ", ", lang).join(pt("risk reason", REASON_NAMES[r], lang)
                                           for r in risk.reasons)
    return pt("risk", "{colour}: {reasons}", lang, colour=colour, reasons=reasons)
