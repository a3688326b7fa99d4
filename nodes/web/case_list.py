"""The case list with the command line's filters (state, overdue, red flag) and the search by a
party's name, phone or ID number (`nodes.search`).

Filters are in the URL (they hold no personal data); a search is a POST, so the name or number
searched for never lands in a URL, the browser's history or a proxy's log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from nodes.cli.clock_render import overdue_ids, running_clocks, shown_clock
from nodes.domain.case import DomainError, local_date
from nodes.domain.states import CaseState
from nodes.i18n import N_, render
from nodes.node import Node
from nodes.search import find_parties
from nodes.web.core import locked_node, page, posted_form, user_session
from nodes.web.sessions import Session

router = APIRouter()
MAX_SHOWN = 500  # rows on one page; the filters narrow a longer list


def listing(node: Node, state: str | None, overdue_only: bool, red_only: bool,
            only: set[str] | None = None) -> dict[str, Any]:
    """The rows to show, each with the clock it shows, overdue and red-flag marks."""
    today = local_date(node.clock.now())
    rows = node.store.case_rows(state)
    if only is not None:
        rows = [r for r in rows if r["case_id"] in only]
    flagged = node.store.red_flag_case_ids()
    if red_only:
        rows = [r for r in rows if r["case_id"] in flagged]
    clocks = running_clocks(node.store.load_case, rows, node.service.rules)
    overdue = overdue_ids(clocks, today)
    if overdue_only:
        rows = [r for r in rows if r["case_id"] in overdue]
    rows = list(reversed(rows))  # newest first
    return {"rows": [{"row": r, "clock": shown_clock(clocks.get(r["case_id"], ()), today),
                      "overdue": r["case_id"] in overdue, "flag": r["case_id"] in flagged}
                     for r in rows[:MAX_SHOWN]],
            "total": len(rows), "today": today}


@router.get("/cases")
def case_list(request: Request, session: Annotated[Session, Depends(user_session)],
              node: Annotated[Node, Depends(locked_node)], state: str = "",
              overdue: str = "", red_flag: str = "") -> Response:
    chosen = state if state in {s.value for s in CaseState} else None
    return page(request, "cases.html", title=N_("Cases"), states=list(CaseState),
                state=chosen or "", overdue=bool(overdue), red_flag=bool(red_flag),
                **listing(node, chosen, bool(overdue), bool(red_flag)))


@router.post("/cases/search")
def search(request: Request, session: Annotated[Session, Depends(user_session)],
           form: Annotated[FormData, Depends(posted_form)],
           node: Annotated[Node, Depends(locked_node)]) -> Response:
    query = form.get("q")
    query = query if isinstance(query, str) else ""
    try:
        found = find_parties(node.store, query)
    except DomainError as exc:
        return page(request, "cases.html", status=400, title=N_("Cases"),
                    states=list(CaseState), state="", overdue=False, red_flag=False,
                    search_error=render(exc, session.lang), query=query,
                    **listing(node, None, False, False))
    matched = {f.case_id: f.matched for f in found}
    return page(request, "cases.html", title=N_("Cases"), states=list(CaseState), state="",
                overdue=False, red_flag=False, query=query, matched=matched,
                **listing(node, None, False, False, only=set(matched)))
