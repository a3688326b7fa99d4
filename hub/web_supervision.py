"""The supervisor's page of a hub (issue 18 item 7): the subtree's overdue cases by tier and
area, its red flags, the listed (挂牌) orders of the area and this hub's own orders with their
status, on one page. Everything here comes from the subtree's lifecycle reports and this hub's
own orders: codes, states and dates, no personal data and no order's text (the reasons and
answers are on `/orders`), so any account of the hub may read it, as the flow page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from hub.overdue_render import node_cell, ordered
from hub.store import HubStore
from nodes.cli.clock_render import reported_kind_label
from nodes.domain.case import local_date
from nodes.i18n import N_
from nodes.labels import risk_label, state_label, tier_label
from nodes.node import Node
from nodes.store import supervision as orders
from nodes.store.deadline_alerts import OVERDUE
from nodes.web.core import locked_node, page, user_session
from nodes.web.sessions import Session
from protocol.areas import TIER_ORDER

router = APIRouter()


@router.get("/supervision")
def supervision_page(request: Request, session: Annotated[Session, Depends(user_session)],
                     node: Annotated[Node, Depends(locked_node)]) -> Response:
    """A village has no subtree: 404 there, as for any page it does not have."""
    if not isinstance(node.store, HubStore):
        raise HTTPException(404)
    today, lang = local_date(node.clock.now()), session.lang
    late = ordered([r for r in node.store.deadlines_reported(today) if r["status"] == OVERDUE],
                   "tier")
    by_tier = Counter(str(r["tier"]) for r in late)
    issued = orders.orders(node.store, part=orders.ISSUED)
    status = Counter("answered" if o.answered_at else "overdue" if o.overdue(today)
                     else "waiting" for o in issued)
    return page(
        request, "supervision.html", title=N_("Supervisor's view"), today=today,
        tiers=[(tier_label(t.value, lang), by_tier[t.value]) for t in TIER_ORDER
               if by_tier[t.value]],
        late=[_late_row(r, lang) for r in late],
        red_flags=[{**r, "state_name": state_label(str(r["state"]), lang)}
                   for r in node.store.red_flags_reported()],
        listed=node.store.listed_orders(), issued=len(issued), counts=status)


def _late_row(r: Mapping[str, Any], lang: str) -> dict[str, Any]:
    return {**r, "where": node_cell(r), "tier_name": tier_label(str(r["tier"]), lang),
            "clock": reported_kind_label(r["clock_kind"], lang),
            "risk_name": risk_label(r.get("risk"), lang)}
