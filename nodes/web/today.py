"""今日: what is overdue and due soon (every clock, as `case list --overdue/--due-within`),
decisions that came down lately, red flags, and the link to the parent (last contact, messages
waiting to leave)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from nodes.cli.clock_render import due_within_ids, overdue_ids, running_clocks, shown_clock
from nodes.cli.outcome_render import FROM_ABOVE, event_line
from nodes.domain.case import local_date
from nodes.domain.clock_book import DEFAULT_DUE_SOON_DAYS
from nodes.domain.states import FINAL_STATES, OPEN_STATES
from nodes.i18n import N_
from nodes.node import Node
from nodes.store import users
from nodes.store.due_counts import due_counts
from nodes.store.due_index import candidate_rows, recent_case_ids
from nodes.web.core import locked_node, page, user_session
from nodes.web.hub_today import hub_today
from nodes.web.order_view import alert as order_alert
from nodes.web.risk_view import risks
from nodes.web.sessions import Session

router = APIRouter()
DUE_SOON_DAYS = DEFAULT_DUE_SOON_DAYS  # "due soon" by default; a node's config: due_soon_days
RECENT_DAYS = 14  # decisions from above shown on the today page
SHOWN = 50  # rows of each list; the rest through the case list's filter


def link_status(node: Node) -> dict[str, Any]:
    """The parent, when this node last sent and last heard from it, and what waits to leave."""
    parent = node.config.parent_id
    sent = users.last_sent_at(node.store)
    heard = users.last_received_from(node.store, parent) if parent else None
    return {"parent": parent, "last_sent": sent, "last_heard": heard,
            "last_contact": max(filter(None, (sent, heard)), default=None),
            "waiting": node.store.outbox_depth()}


def recent_decisions(node: Node, days: int) -> list[dict[str, Any]]:
    """Decisions from above recorded in the last `days` days, newest first."""
    since = node.clock.now() - timedelta(days=days)
    out = []
    for row in node.store.case_rows_of(recent_case_ids(node.store, FROM_ABOVE, since)):
        if datetime.fromisoformat(row["updated_at"]) < since:
            continue
        case = node.store.load_case(row["case_id"])
        for event in case.events if case else ():
            line = event_line(event)
            if event.action in FROM_ABOVE and line and event.at >= since:
                out.append({"case_id": row["case_id"], "at": event.at, "line": line})
    return sorted(out, key=lambda d: d["at"], reverse=True)


@dataclass(frozen=True)
class DueLists:
    """The first SHOWN overdue and due-soon rows (earliest due first) and how many there are."""

    overdue: list[dict[str, Any]]
    soon: list[dict[str, Any]]
    overdue_count: int
    soon_count: int


def due_lists(node: Node, today: date) -> DueLists:
    """Counted from the projection's due dates (`nodes.store.due_counts`); read and replayed:
    only the rows shown and the few whose clock the rules still plan (every candidate on an old
    file)."""
    days = node.config.due_soon_days
    counted = due_counts(node.store, today, days, SHOWN)
    if counted is None:
        read = candidate_rows(node.store, node.store.case_rows(), today + timedelta(days=days))
    else:
        read = node.store.case_rows_of(
            {*counted.first_overdue, *counted.first_soon, *counted.to_plan})
    by_id = {r["case_id"]: r for r in read}
    clocks = running_clocks(node.store.load_case, read, node.service.rules)
    planned = clocks if counted is None else {i: clocks[i] for i in counted.to_plan if i in clocks}
    plan_late = overdue_ids(planned, today)
    plan_soon = due_within_ids(planned, today, days) - plan_late

    def listed(ids: set[str]) -> list[dict[str, Any]]:  # the first SHOWN, earliest due first
        shown = [(shown_clock(clocks.get(i, ()), today), i) for i in ids if i in by_id]
        shown.sort(key=lambda p: (p[0].due if p[0] else date.max, p[1]))
        first = shown[:SHOWN]
        risk = risks(node, [by_id[i] for _, i in first], clocks, node.store.red_flag_case_ids(),
                     today)
        return [{"row": by_id[i], "clock": c, "risk": risk[i]} for c, i in first]

    if counted is None:
        return DueLists(listed(plan_late), listed(plan_soon), len(plan_late), len(plan_soon))
    return DueLists(listed(plan_late | set(counted.first_overdue)),
                    listed(plan_soon | set(counted.first_soon)),
                    counted.overdue + len(plan_late), counted.soon + len(plan_soon))


@router.get("/")
def today_page(request: Request, session: Annotated[Session, Depends(user_session)],
               node: Annotated[Node, Depends(locked_node)]) -> Response:
    today = local_date(node.clock.now())
    due = due_lists(node, today)
    final = {s.value for s in FINAL_STATES}
    flagged = [r for r in node.store.case_rows_of(node.store.red_flag_case_ids())
               if r["state"] not in final]
    counts = node.store.states()
    return page(request, "today.html", title=N_("Today"), today=today,
                overdue=due.overdue, soon=due.soon, overdue_count=due.overdue_count,
                soon_count=due.soon_count, soon_days=node.config.due_soon_days,
                red_flags=sorted(flagged, key=lambda r: str(r["case_id"])),
                decisions=recent_decisions(node, RECENT_DAYS), link=link_status(node),
                hub=hub_today(node, session.lang), orders_alert=order_alert(node),
                open_count=sum(counts.get(s.value, 0) for s in OPEN_STATES))


@router.get("/today/link")
def link_part(request: Request, session: Annotated[Session, Depends(user_session)],
              node: Annotated[Node, Depends(locked_node)]) -> Response:
    """The link section alone, which the today page reloads every minute (htmx)."""
    return page(request, "_link.html", title=N_("Today"), link=link_status(node))
