"""督办 in the web app (issue 18 item 7): `/orders` lists the orders issued here (at a county or
city hub: listed ones first, overdue first, with their answers), the orders received here to
answer (each with its answer form) and those passed on down; `/orders/new` is the supervisor's
form to issue one; `/orders/{order}/answer` is the holder's answer (办理情况反馈), sent from the
orders page or the case page, which it goes back to.

The service (`nodes.supervision`) decides: a refusal comes back as its sentence beside the field
it concerns, with what was typed kept, and nothing written or sent. An order's id and a case's id
are no personal data, so they may be in a URL; the reason and the answer never are.
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from nodes.domain.case import DomainError, local_date
from nodes.domain.roles import records
from nodes.domain.supervision import LEVELS
from nodes.i18n import N_, pt, render, t
from nodes.node import Node
from nodes.store import supervision as orders
from nodes.store.supervision import HELD, ISSUED
from nodes.supervision import OrderNotFound, Supervision
from nodes.web import case_page
from nodes.web.core import Refused, locked_node, log, page, posted_form, state_of, text, user_session
from nodes.web.order_view import LEVEL_NAMES, AnswerProblem, may_issue, node_orders
from nodes.web.sessions import Session

router = APIRouter()
Form = Annotated[FormData, Depends(posted_form)]
User = Annotated[Session, Depends(user_session)]
Locked = Annotated[Node, Depends(locked_node)]
DEFAULT_DAYS = 7  # the answer date the form offers: a week from today
# Which field a refusal of the service belongs beside (other codes: above the form).
FIELD_OF = {"order_outside": "case", "order_held_here": "case", "order_past": "respond_by",
            "order_far": "respond_by", "order_reason": "reason", "order_level": "level"}


def _service(node: Node, lang: str) -> Supervision:
    if node.supervision is None:  # bootstrap always wires it
        raise HTTPException(503, t(N_("This node has no supervision service."), lang))
    return node.supervision


def orders_view(request: Request, node: Node, session: Session, *, status: int = 200,
                done: str = "", answer_problem: AnswerProblem | None = None) -> Response:
    return page(request, "orders.html", status=status, title=N_("Supervision orders"),
                lists=node_orders(node, session.lang), done=done,
                may_issue=may_issue(node.config.tier, session.role),
                may_answer=records(session.role), answer_problem=answer_problem, back="orders")


@router.get("/orders")
def orders_list(request: Request, session: User, node: Locked) -> Response:
    issued = request.query_params.get("issued", "")
    row = orders.order(node.store, issued) if issued else None
    done = t(N_("Order {order} was issued on case {case}: it goes down to the tier holding the "
                "case, which answers by {date}."), session.lang, order=row.order_id,
             case=row.case_id, date=row.respond_by.isoformat()) if row and row.part == ISSUED else ""
    return orders_view(request, node, session, done=done)


# -- issuing -----------------------------------------------------------------------------------

def _refuse_others(node: Node, session: Session) -> None:
    if not may_issue(node.config.tier, session.role):
        raise Refused(t(N_("Only a supervisor (督查) at a county or city hub issues supervision "
                           "orders."), session.lang))


def _levels(lang: str) -> list[tuple[str, str]]:
    return [(code, pt("order level", LEVEL_NAMES[code], lang)) for code in LEVELS]


def _form_page(request: Request, session: Session, values: dict[str, str], *,
               errors: dict[str, str] | None = None, status: int = 200) -> Response:
    return page(request, "order_new.html", status=status, title=N_("Issue a supervision order"),
                values=values, errors=errors or {}, levels=_levels(session.lang))


def _case_id(given: str) -> str:
    """A case number as typed, full-width digits and dashes read as ASCII."""
    return unicodedata.normalize("NFKC", given).strip()


@router.get("/orders/new")
def new_order(request: Request, session: User, node: Locked) -> Response:
    _refuse_others(node, session)
    by = local_date(node.clock.now()) + timedelta(days=DEFAULT_DAYS)
    values = {"case": _case_id(request.query_params.get("case", "")), "level": "supervise",
              "reason": "", "respond_by": by.isoformat()}
    return _form_page(request, session, values)


def _problems(values: dict[str, str], lang: str) -> tuple[date | None, dict[str, str]]:
    """What the form lacks before the service is asked: the case, and a date that is one."""
    errors = {}
    if not values["case"]:
        errors["case"] = t(N_("This field is required."), lang)
    try:
        return date.fromisoformat(values["respond_by"]), errors
    except ValueError:
        errors["respond_by"] = t(N_("Give the answer date as a date (YYYY-MM-DD)."), lang)
        return None, errors


@router.post("/orders/new")
def issue_order(request: Request, session: User, form: Form, node: Locked) -> Response:
    _refuse_others(node, session)
    lang = session.lang
    values = {"case": _case_id(text(form, "case")), "level": text(form, "level"),
              "reason": text(form, "reason"), "respond_by": text(form, "respond_by")}
    by, errors = _problems(values, lang)
    if by is None or errors:
        return _form_page(request, session, values, errors=errors, status=400)
    try:
        row = _service(node, lang).issue(values["case"], reason=values["reason"], respond_by=by,
                                         level=values["level"], user=session.user,
                                         role=session.role)
    except DomainError as exc:
        field = FIELD_OF.get(exc.code, "form")
        return _form_page(request, session, values, errors={field: render(exc, lang)},
                          status=400)
    state_of(request).on_commit()
    log.info("web.order_issued", account=session.user, order_id=row.order_id,
             case_id=row.case_id, level=row.level)
    return RedirectResponse(f"/orders?issued={row.order_id}#order-{row.order_id}",
                            status_code=303)


# -- answering ---------------------------------------------------------------------------------

def _back(request: Request, node: Node, session: Session, case_id: str, back: str,
          problem: AnswerProblem, status: int) -> Response:
    """The page the answer came from again, with its problem beside the order's form."""
    if back == "case" and node.store.load_case(case_id) is not None:
        case = case_page.load(node, case_id)
        return case_page.case_view(request, node, case, session, status=status,
                                   answer_problem=problem)
    return orders_view(request, node, session, status=status, answer_problem=problem)


@router.post("/orders/{order_id}/answer")
def answer_order(request: Request, order_id: str, session: User, form: Form,
                 node: Locked) -> Response:
    lang = session.lang
    if not records(session.role):
        raise Refused(t(N_("Your role does not answer supervision orders."), lang))
    found = orders.order(node.store, order_id)
    if found is None or found.part != HELD:
        raise HTTPException(404)
    typed, back = text(form, "text"), text(form, "back")
    try:
        _service(node, lang).answer(order_id, text=typed, user=session.user)
    except OrderNotFound:
        raise HTTPException(404) from None
    except DomainError as exc:
        stale = exc.code == "order_answered"  # answered meanwhile (another tab, another user)
        problem = AnswerProblem(order_id, typed, render(exc, lang), "" if stale else "text")
        return _back(request, node, session, found.case_id, back, problem, 409 if stale else 400)
    state_of(request).on_commit()
    log.info("web.order_answered", account=session.user, order_id=order_id,
             case_id=found.case_id)
    where = f"/cases/{found.case_id}" if back == "case" else "/orders"
    return RedirectResponse(f"{where}#order-{order_id}", status_code=303)
