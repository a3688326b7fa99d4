"""The case list with the command line's filters (state, overdue, red flag) and the search by a
party's name, phone or ID number (`nodes.search`).

Filters (state, type, source, grid, the dates opened) and the page number are in the URL: they
hold no personal data; the list shows PAGE rows a page with "previous/next" links. A search
is a POST, so the name or number searched for never lands in a URL, the browser's history or a
proxy's log; a case number typed there ("4", "2026-00004") opens its case
(`nodes.case_ids`)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from nodes.case_ids import SHORT, resolve_case_id
from nodes.cli.clock_render import overdue_ids, running_clocks, shown_clock
from nodes.domain.case import DomainError, local_date
from nodes.domain.states import CaseState
from nodes.i18n import N_, render, t
from nodes.node import Node
from nodes.search import find_parties
from nodes.service import CaseNotFound
from nodes.store.due_counts import overdue_now
from nodes.store.due_index import candidate_rows, with_clock
from nodes.web.core import locked_node, posted_form, user_session
from nodes.web.core import page as html_page
from nodes.web.risk_view import risks
from nodes.web.sessions import Session
from protocol.reference import DISPUTE_TYPES, DISPUTE_TYPES_VERSION, CaseSource

router = APIRouter()
PAGE = 50  # rows on one page: "next" and "previous" links page through a longer list


TYPES = list(DISPUTE_TYPES[DISPUTE_TYPES_VERSION])
SOURCES = [s.value for s in CaseSource]


@dataclass(frozen=True)
class Narrow:
    """The list's filters besides state, overdue and red flag (each empty: any)."""

    dispute_type: str = ""
    source: str = ""
    grid_id: str = ""
    opened_from: date | None = None
    opened_to: date | None = None

    def columns(self) -> dict[str, str]:
        """The filters the store applies (`SqliteStore.case_index`)."""
        given = {"dispute_type": self.dispute_type, "source": self.source, "grid_id": self.grid_id}
        return {k: v for k, v in given.items() if v}

    def opened_between(self, opened_at: str) -> bool:
        opened = local_date(datetime.fromisoformat(opened_at))
        return ((self.opened_from is None or opened >= self.opened_from)
                and (self.opened_to is None or opened <= self.opened_to))


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def listing(node: Node, state: str | None, overdue_only: bool, red_only: bool,
            only: set[str] | None = None, narrow: Narrow | None = None,
            page_no: int = 1) -> dict[str, Any]:
    """The rows of page `page_no` (PAGE rows, newest first), each with the clock it shows,
    overdue and red-flag marks: the filters run on case ids and dates, and only the page's rows
    are read and replayed."""
    today = local_date(node.clock.now())
    narrow = narrow or Narrow()
    index = node.store.case_index(state, **narrow.columns())  # ids and dates only, oldest first
    if narrow.opened_from or narrow.opened_to:
        index = [(i, at) for i, at in index if narrow.opened_between(at)]
    ids = [i for i, _ in reversed(index)]  # newest first
    if only is not None:
        ids = [i for i in ids if i in only]
    flagged = node.store.red_flag_case_ids()
    if red_only:
        ids = [i for i in ids if i in flagged]
    if overdue_only:
        ids = _overdue_only(node, ids, today)
    start = (page_no - 1) * PAGE
    by_id = {r["case_id"]: r for r in node.store.case_rows_of(ids[start:start + PAGE])}
    rows = [by_id[i] for i in ids[start:start + PAGE]]  # only the page's rows are read
    # clocks of the rows shown, none replayed whose projection says no clock runs
    clocks = running_clocks(node.store.load_case, with_clock(rows), node.service.rules)
    overdue = overdue_ids(clocks, today)
    risk = risks(node, rows, clocks, flagged, today)
    return {"rows": [{"row": r, "clock": shown_clock(clocks.get(r["case_id"], ()), today),
                      "overdue": r["case_id"] in overdue, "flag": r["case_id"] in flagged,
                      "risk": risk[r["case_id"]]} for r in rows],
            "total": len(ids), "today": today, "page_no": page_no,
            "pages": max(1, -(-len(ids) // PAGE))}


def _overdue_only(node: Node, ids: list[str], today: date) -> list[str]:
    """The overdue ones of `ids`, in order: the projection's due dates decide, and the few rows
    whose clock the rules still plan are replayed (every candidate on a file before m014)."""
    known = overdue_now(node.store, today)
    if known is None:
        rows = candidate_rows(node.store, node.store.case_rows_of(ids), today - timedelta(days=1))
        late = overdue_ids(running_clocks(node.store.load_case, rows, node.service.rules), today)
    else:
        exact, to_plan = known
        planned = node.store.case_rows_of(to_plan & set(ids))
        late = exact | overdue_ids(running_clocks(node.store.load_case, planned,
                                                  node.service.rules), today)
    return [i for i in ids if i in late]


def _choices() -> dict[str, Any]:
    return {"states": list(CaseState), "types": TYPES, "sources": SOURCES}


@router.get("/cases")
def case_list(request: Request, session: Annotated[Session, Depends(user_session)],
              node: Annotated[Node, Depends(locked_node)], state: str = "",
              overdue: str = "", red_flag: str = "", dispute_type: str = "",
              source: str = "", grid: str = "", opened_from: str = "",
              opened_to: str = "", page: str = "") -> Response:
    chosen = state if state in {s.value for s in CaseState} else None
    narrow = Narrow(dispute_type if dispute_type in TYPES else "", source if source in SOURCES else "",
                    grid if len(grid) == 15 and grid.isdigit() else "",
                    _day(opened_from), _day(opened_to))
    bad = [n for n, v, ok in (("grid", grid, narrow.grid_id), ("opened_from", opened_from,
                                                              narrow.opened_from),
                              ("opened_to", opened_to, narrow.opened_to)) if v and not ok]
    filter_error = t(N_("Not used: a grid id has 15 digits, a date is written as 2026-03-05."),
                     session.lang) if bad else ""
    kept = {"state": chosen or "", "overdue": "1" if overdue else "",
            "red_flag": "1" if red_flag else "", "dispute_type": narrow.dispute_type,
            "source": narrow.source, "grid": narrow.grid_id,
            "opened_from": opened_from if narrow.opened_from else "",
            "opened_to": opened_to if narrow.opened_to else ""}
    listed = listing(node, chosen, bool(overdue), bool(red_flag), narrow=narrow,
                     page_no=_page_no(page))
    if listed["page_no"] > listed["pages"]:  # past the end: the last page
        listed = listing(node, chosen, bool(overdue), bool(red_flag), narrow=narrow,
                         page_no=listed["pages"])
    return html_page(request, "cases.html", title=N_("Cases"), state=chosen or "",
                     overdue=bool(overdue), red_flag=bool(red_flag), narrow=narrow, bad=bad,
                     filter_error=filter_error, **_choices(), **listed,
                     prev_url=_page_url(kept, listed["page_no"] - 1, listed["pages"]),
                     next_url=_page_url(kept, listed["page_no"] + 1, listed["pages"]))


def _page_no(value: str) -> int:
    """The page asked for: a positive number, else the first."""
    return int(value) if value.isdigit() and 0 < len(value) <= 6 and int(value) > 0 else 1


def _page_url(kept: dict[str, str], page_no: int, pages: int) -> str:
    """The list's URL on page `page_no` with the filters kept ("" when there is no such page);
    the filters hold no personal data."""
    if not 1 <= page_no <= pages:
        return ""
    return "/cases?" + urlencode({**{k: v for k, v in kept.items() if v}, "page": page_no})


def _searched(request: Request, node: Node, status: int = 200, **values: Any) -> Response:
    return html_page(request, "cases.html", status=status, title=N_("Cases"), state="",
                     overdue=False, red_flag=False, narrow=Narrow(), bad=[], prev_url="",
                     next_url="", **_choices(), **values)


@router.post("/cases/search")
def search(request: Request, session: Annotated[Session, Depends(user_session)],
           form: Annotated[FormData, Depends(posted_form)],
           node: Annotated[Node, Depends(locked_node)]) -> Response:
    query = form.get("q")
    query = query if isinstance(query, str) else ""
    # A case number opens its case; one that is no case here is searched for as a phone's digits.
    if SHORT.match(unicodedata.normalize("NFKC", query).strip()):
        try:
            return RedirectResponse(f"/cases/{resolve_case_id(node.store, query)}",
                                    status_code=303)
        except CaseNotFound:
            pass
        except DomainError as exc:  # several cases end with it: the sentence names them
            return _searched(request, node, 400, search_error=render(exc, session.lang),
                             query=query, **listing(node, None, False, False))
    try:
        found = find_parties(node.store, query)
    except DomainError as exc:
        return _searched(request, node, 400, search_error=render(exc, session.lang),
                         query=query, **listing(node, None, False, False))
    matched = {f.case_id: f.matched for f in found}
    return _searched(request, node, query=query, matched=matched,
                     **listing(node, None, False, False, only=set(matched)))
