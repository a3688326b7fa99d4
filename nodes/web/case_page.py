"""The case page: facts, parties (ID number, phone and address masked), every clock with its
basis, the timeline with what came from above, and only the steps the state allows.

Showing a party's masked fields is a POST ("show personal details") that writes who, in what
role, when and which case to `access_log` and the log, never the data; the page that answers is
not kept by the browser (no-store). A step's form carries the case's event count: if the case
moved on meanwhile, the form is stale and nothing is written.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from nodes.case_ids import resolve_case_id
from nodes.cli.case_render import _details as event_details
from nodes.cli.outcome_render import FROM_ABOVE, FROM_BELOW
from nodes.domain.case import Case, DomainError, local_date
from nodes.domain.clock_plan import clocks_of
from nodes.domain.roles import (
    GRID_WORKER,
    HUB_STAFF,
    MEDIATOR,
    STATION_HEAD,
    may,
    records,
    roles_of,
)
from nodes.domain.states import CaseState
from nodes.i18n import N_, render, t
from nodes.node import Node
from nodes.store import users
from nodes.web import documents
from nodes.web.actions import BY_ACTION, FieldProblem, Step, allowed, missing, offered
from nodes.web.assign_step import ownership_view
from nodes.web.core import Refused, locked_node, log, page, posted_form, state_of, user_session
from nodes.web.dossier_view import dossier_view
from nodes.web.order_view import AnswerProblem, case_orders, may_issue
from nodes.web.sessions import Session

router = APIRouter()
# Who may open a party's ID number, phone and address (个人信息保护法: restricted by role); a
# leader, supervisor or auditor reads the case without them.
REVEAL_ROLES = frozenset({MEDIATOR, GRID_WORKER, STATION_HEAD, HUB_STAFF})
REVEALED = "id_number,phone,address"


def load(node: Node, given: str) -> Case:
    try:
        case_id = resolve_case_id(node.store, given)
    except DomainError:
        raise HTTPException(404) from None
    case = node.store.load_case(case_id)
    if case is None:
        raise HTTPException(404)
    return case


def timeline(case: Case, lang: str) -> list[dict[str, Any]]:
    return [{"event": e, "state": case.state_after[e.seq], "details": event_details(e, lang),
             "from": "above" if e.action in FROM_ABOVE else "below" if e.action in FROM_BELOW
             else ""} for e in case.events]


def case_view(request: Request, node: Node, case: Case, session: Session, *,
              revealed: bool = False, status: int = 200, step: str = "",
              problem: str = "", field: str = "", values: dict[str, str] | None = None,
              answer_problem: AnswerProblem | None = None) -> Response:
    """The page; `step` with `problem` (and the `field` it concerns) shows a refusal beside
    that step's form, with what was typed kept (`answer_problem`: beside a 督办 answer's)."""
    today = local_date(node.clock.now())
    return page(request, "case.html", status=status, title=N_("Case"), case=case,
                facts=case.facts, parties=node.store.parties(case.case_id), revealed=revealed,
                may_reveal=bool(roles_of(session.role) & REVEAL_ROLES),
                clocks=clocks_of(case, node.service.rules), today=today,
                timeline=timeline(case, session.lang), steps=offered(case, session.role),
                dossier=dossier_view(case, session.lang),
                step=step, problem=problem, field=field, values=values or {},
                unsent=node.store.unsent_case_messages(case.case_id),
                documents=documents.available(case),
                ownership=ownership_view(node, case, session.lang),  # 包案, 首办
                orders=case_orders(node, case.case_id, session.lang),
                answer_problem=answer_problem, back="case",
                may_order=may_issue(node.config.tier, session.role)
                and case.state is CaseState.HANDED_DOWN)


@router.get("/cases/{case_id}")
def case_detail(request: Request, case_id: str,
                session: Annotated[Session, Depends(user_session)],
                node: Annotated[Node, Depends(locked_node)]) -> Response:
    return case_view(request, node, load(node, case_id), session)


@router.post("/cases/{case_id}/reveal")
def reveal(request: Request, case_id: str, session: Annotated[Session, Depends(user_session)],
           form: Annotated[FormData, Depends(posted_form)],
           node: Annotated[Node, Depends(locked_node)]) -> Response:
    case = load(node, case_id)
    if not roles_of(session.role) & REVEAL_ROLES:
        raise Refused(t(N_("Your role does not open parties' personal details."), session.lang))
    assert session.user is not None  # noqa: S101 - user_session guarantees it
    users.log_access(node.store, session.user, session.role, case.case_id, REVEALED,
                     node.clock.now())
    log.info("web.personal_data_shown", account=session.user, case_id=case.case_id)
    return case_view(request, node, case, session, revealed=True)


def form_values(step: Step, form: FormData) -> dict[str, str]:
    out = {}
    for f in step.fields:
        value = form.get(f.name)
        out[f.name] = value.strip() if isinstance(value, str) else ""
    return out


@router.post("/cases/{case_id}/act/{action}")
def act(request: Request, case_id: str, action: str,
        session: Annotated[Session, Depends(user_session)],
        form: Annotated[FormData, Depends(posted_form)],
        node: Annotated[Node, Depends(locked_node)]) -> Response:
    case, step = load(node, case_id), BY_ACTION.get(action)
    if step is None:
        raise HTTPException(404)
    lang = session.lang
    if not records(session.role) or not may(session.role, step.action):
        raise Refused(t(N_("Your role may not record this step on a case."), lang))
    values = form_values(step, form)
    seen = form.get("seq")
    if seen != str(case.seq) or not allowed(case, step.action):
        return case_view(request, node, case, session, status=409, step=action, values=values,
                         problem=t(N_("The case has moved on since this page was opened: "
                                      "nothing was recorded. Look at it again."), lang))
    empty = missing(step, values)
    if empty is not None:
        return case_view(request, node, case, session, status=400, step=action, field=empty,
                         values=values, problem=t(N_("This field is required."), lang))
    try:
        if step.run is not None:  # a correction: the service writes the party's new version too
            step.run(values, node.service, case.case_id, session.role, session.user)
        elif step.build is not None:
            command = step.build(values, node.service, local_date(node.clock.now()))
            node.service.act(case.case_id, command, role=session.role, user=session.user)
    except FieldProblem as exc:
        return case_view(request, node, case, session, status=400, step=action,
                         field=exc.field, values=values, problem=render(exc, lang))
    except DomainError as exc:  # the law's guard: its sentence beside the form
        fresh = load(node, case.case_id)  # nothing was written; the page shows the file
        return case_view(request, node, fresh, session, status=400, step=action, values=values,
                         problem=render(exc, lang))
    state_of(request).on_commit()
    log.info("web.recorded", account=session.user, case_id=case.case_id, action=step.action.value)
    return RedirectResponse(f"/cases/{case.case_id}", status_code=303)
