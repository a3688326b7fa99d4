"""The hub's flow page (issue 17 item 4): the cross-tier flow table and every station heard from,
silent ones first, as `hub flow` shows them, for township, county and city alike (each binds its
subtree's reports). Reports carry no personal data, so any account of the hub may read it.

It lives in `hub/` because it reads the hub's tables; the web app (`nodes.web.app`) takes it as an
extra page from the composition root (`fengqiao.bootstrap`), since nodes never import hub code.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from hub.flow import flow_table
from hub.flow_render import HEAD, flow_rows
from hub.station_render import HEAD as STATION_HEAD
from hub.station_render import station_rows, summary
from hub.stations import stations
from hub.store import HubStore
from nodes.i18n import N_
from nodes.node import Node
from nodes.web.core import locked_node, page, user_session
from nodes.web.sessions import Session

router = APIRouter()


@router.get("/flow")
def flow_page(request: Request, session: Annotated[Session, Depends(user_session)],
              node: Annotated[Node, Depends(locked_node)]) -> Response:
    """A village keeps no flow table: 404 there, as for any page it does not have."""
    if not isinstance(node.store, HubStore):
        raise HTTPException(404)
    heard = stations(node.store, node.clock.now(), node.node_id)  # never the hub itself
    return page(request, "flow.html", title=N_("Flow table"), flow_head=HEAD,
                flow_rows=flow_rows(flow_table(node.store), session.lang),
                station_head=STATION_HEAD, summary=summary(heard, session.lang),
                station_rows=list(zip(heard, station_rows(heard, session.lang), strict=True)))
