"""What the 督办 pages show (issue 18 item 7): a node's supervision orders as rows for the
templates, with their level, status and answer in the reader's language, in the order a reader
acts on them: listed (挂牌) orders first among those issued, overdue first everywhere.

Reasons and answers may name people: they are shown on the pages (as a case page shows the
parties) but never put in a URL; an order's id and a case's id are no personal data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request

from nodes.cli.case_dossier import node_label
from nodes.domain.case import local_date
from nodes.domain.roles import LEADER, SUPERVISOR, roles_of
from nodes.domain.supervision import ISSUING_TIERS
from nodes.i18n import N_, NP_, pt, t
from nodes.labels import state_label
from nodes.node import Node
from nodes.store import supervision as orders
from nodes.store.supervision import HELD, ISSUED, PASSED, OrderRow
from protocol.areas import Tier

# The same words as `fengqiao order list` (one entry each in the catalogue).
LEVEL_NAMES = {"supervise": NP_("order level", "supervision"),
               "listed_supervision": NP_("order level", "listed supervision")}
STATUS_NAMES = {"answered": NP_("order status", "answered"),
                "overdue": NP_("order status", "overdue"),
                "waiting": NP_("order status", "waiting for the answer")}
PART_NAMES = {ISSUED: NP_("order part", "issued here"), HELD: NP_("order part", "to answer"),
              PASSED: NP_("order part", "passed on")}
_RANK = {"overdue": 0, "waiting": 1, "answered": 2}


@dataclass(frozen=True)
class AnswerProblem:
    """An answer sent back: the order it was for, what was typed, and the sentence beside the
    text field (`field` "text"), or above the form (`field` "")."""

    order_id: str
    text: str
    problem: str
    field: str = "text"


def may_issue(tier: Tier, role: str) -> bool:
    """A supervisor (督查) at a county or city hub issues orders (`nodes.domain.supervision`)."""
    return tier in ISSUING_TIERS and SUPERVISOR in roles_of(role)


def status_of(row: OrderRow, today: date) -> str:
    return "answered" if row.answered_at else "overdue" if row.overdue(today) else "waiting"


def _who(node: str | None, name: str | None, lang: str) -> str:
    return name or node_label(node or "", lang)


def item(row: OrderRow, today: date, lang: str, on_file: set[str]) -> dict[str, Any]:
    """One order as a template shows it; `on_file`: the case ids this node has a page for."""
    status = status_of(row, today)
    answerer = _who(row.answering_node, row.answering_name, lang)
    return {"row": row, "status": status, "listed": row.level == "listed_supervision",
            "level": pt("order level", LEVEL_NAMES.get(row.level, row.level), lang),
            "status_label": pt("order status", STATUS_NAMES[status], lang),
            "part": pt("order part", PART_NAMES.get(row.part, row.part), lang),
            "issuer": _who(row.issuing_node, row.issuing_name, lang),
            "target": node_label(row.target_node, lang), "answerer": answerer,
            "answer_state": state_label(row.answer_state, lang) if row.answer_state else "",
            "automatic": t(N_("Answered by the node itself: the case had gone up from {node}."),
                           lang, node=answerer) if row.automatic else "",
            "linked": row.case_id in on_file}


def _items(node: Node, rows: Iterable[OrderRow], lang: str) -> list[dict[str, Any]]:
    rows = list(rows)
    today = local_date(node.clock.now())
    on_file = {r["case_id"] for r in node.store.case_rows_of({r.case_id for r in rows})}
    return [item(r, today, lang, on_file) for r in rows]


def _by_urgency(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overdue, then waiting, then answered; newest first within each (the store's order)."""
    return sorted(items, key=lambda i: _RANK[i["status"]])


def node_orders(node: Node, lang: str) -> dict[str, Any]:
    """The /orders page's lists: issued here (listed first, then overdue first; None at a
    tier that issues none and has none), received here to answer, and passed on."""
    by_part: dict[str, list[OrderRow]] = {ISSUED: [], HELD: [], PASSED: []}
    for row in orders.orders(node.store):
        by_part.setdefault(row.part, []).append(row)
    issued = sorted(_by_urgency(_items(node, by_part[ISSUED], lang)),
                    key=lambda i: not i["listed"])
    shows_issued = node.config.tier in ISSUING_TIERS or bool(issued)
    return {"issued": issued if shows_issued else None,
            "held": _by_urgency(_items(node, by_part[HELD], lang)),
            "passed": _items(node, by_part[PASSED], lang),
            # listed orders of the subtree (a hub: from its issuers' reports), open ones
            "listed_below": [o for o in node.store.listed_orders()
                             if o["issuing_node"] != node.config.node_id]}


def case_orders(node: Node, case_id: str, lang: str) -> list[dict[str, Any]]:
    """The orders on one case at this node (held ones first, then issued, then passed)."""
    order = {HELD: 0, ISSUED: 1, PASSED: 2}
    rows = sorted(orders.orders(node.store, case_id=case_id), key=lambda r: order.get(r.part, 3))
    return _items(node, rows, lang)


def alert(node: Node) -> dict[str, int] | None:
    """The today page's line: orders waiting for this node's answer (and how many are overdue),
    and orders issued here past their date with no answer; None when there are none."""
    today = local_date(node.clock.now())
    _all, waiting, overdue = orders.tally(node.store, HELD, today)
    late_issued = orders.tally(node.store, ISSUED, today)[2]
    if not waiting and not late_issued:
        return None
    return {"waiting": waiting, "overdue": overdue, "late_issued": late_issued}


def nav_link(request: Request, role: str) -> bool:
    """Whether the navigation shows 督办: to a supervisor or leader at a county or city hub,
    and to anyone at a node that has held orders. One indexed count; a page is rendered while
    its request holds the node (`locked_node`), the refusal page after it, a single read."""
    web_node: Node = request.app.state.web.node
    tier = web_node.config.tier
    if tier in ISSUING_TIERS and roles_of(role) & {SUPERVISOR, LEADER}:
        return True
    return orders.tally(web_node.store, HELD, local_date(web_node.clock.now()))[0] > 0
