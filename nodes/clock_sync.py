"""Bring every open case's clocks up to date: when a calendar is installed (`fengqiao calendar
install`, `calendar recompute`) and when a node starts (`node run`, `hub run`).

Each case that changes gets one appended `clocks` event (`nodes.domain.clock_plan.update_clocks`),
committed like any other event (hash chain, projection row); no row is updated in place. Cases
none of whose clocks run are not read twice: their states say so (`MAY_RUN`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodes.domain.case import Actor, Case, CaseEvent, Rules
from nodes.domain.clock_book import MAY_RUN
from nodes.domain.clock_plan import planned, recomputed, update_clocks
from nodes.node import Node


@dataclass(frozen=True)
class SyncResult:
    """What a sync did: cases that got a `clocks` event, deadlines recomputed and set."""

    cases: int = 0
    recomputed: int = 0
    set: int = 0


def needs_update(case: Case, rules: Rules) -> bool:
    return bool(recomputed(case, rules) or planned(case, rules))


def sync_clocks(node: Node, rules: Rules | None = None) -> SyncResult:
    """Record missing clocks and recompute those the calendars in `rules` (default: the node's)
    move, one transaction per case changed."""
    rules = rules or node.service.rules
    cases = moved = added = 0
    for row in node.store.case_rows():
        if row["state"] not in MAY_RUN:
            continue
        case = node.store.load_case(row["case_id"])
        if case is None or not needs_update(case, rules):
            continue
        event = _update(node, row["case_id"], rules)
        if event is not None:
            cases += 1
            moved += len(event.data["recomputed"])
            added += len(event.data["set"])
    return SyncResult(cases, moved, added)


def _update(node: Node, case_id: str, rules: Rules) -> CaseEvent | None:
    """One case's `clocks` event, in its own transaction (None: nothing changed after all)."""
    made: list[CaseEvent] = []

    def command(case: Case, actor: Actor, at: datetime) -> None:
        event = update_clocks(case, actor, at, rules)
        if event is not None:
            made.append(event)

    node.service.act(case_id, command, role="system")
    return made[0] if made else None
