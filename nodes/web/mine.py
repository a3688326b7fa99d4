"""我的包案: a leader's own list (issue 18 items 3 and 7), the cases whose current 包案 leader is
the logged-in account at this node, with their state and next deadline (`case_list.listing`),
newest first, a page at a time. Any account may open it: it lists only the cases assigned to
that account's name (none for an account that leads nothing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from nodes.i18n import N_
from nodes.node import Node
from nodes.store.leaders import cases_led_by
from nodes.web.case_list import listing
from nodes.web.core import locked_node, user_session
from nodes.web.core import page as html_page
from nodes.web.sessions import Session

router = APIRouter()


def _page_no(value: str) -> int:
    return int(value) if value.isdigit() and 0 < len(value) <= 6 and int(value) > 0 else 1


@router.get("/mine")
def mine(request: Request, session: Annotated[Session, Depends(user_session)],
         node: Annotated[Node, Depends(locked_node)], page: str = "") -> Response:
    assert session.user is not None  # noqa: S101 - user_session guarantees it
    led = cases_led_by(node.store, session.user)
    listed = listing(node, None, False, False, only=led, page_no=_page_no(page))
    if listed["page_no"] > listed["pages"]:  # past the end: the last page
        listed = listing(node, None, False, False, only=led, page_no=listed["pages"])
    number = listed["page_no"]
    return html_page(request, "mine.html", title=N_("My cases"), **listed,
                     prev_url=f"/mine?page={number - 1}" if number > 1 else "",
                     next_url=f"/mine?page={number + 1}" if number < listed["pages"] else "")
