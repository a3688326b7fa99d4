"""A grid worker's (网格员) own short report, for a phone: the type of dispute, what happened, the
grid, how many people, and up to `REPORT_ROWS` parties with only role, name and phone (the ID
numbers and addresses are the mediator's to add). The source is always a grid report.

The fields are checked as the new case form checks them (`new_case.check`, every problem beside
its field) and nothing is written unless all is valid; the case is then recorded in the user's
role (`CaseService.new_case`) and the user sees its number on a confirmation page, with a link to
report another. The grid id last used in this session is the next report's default."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from nodes.domain.case import DomainError, local_date
from nodes.domain.roles import records
from nodes.i18n import N_, render, t
from nodes.node import Node
from nodes.web import new_case
from nodes.web.core import Refused, locked_node, log, page, posted_form, state_of, text, user_session
from nodes.web.sessions import Session
from protocol.reference import CaseSource

router = APIRouter()
REPORT_ROWS = 2
FIELDS = ("dispute_type", "facts", "grid_id", "people")
PARTY_FIELDS = ("role", "name", "phone")
ROLES = ("applicant", "respondent", "other")


def _refuse_readers(session: Session) -> None:
    if not records(session.role):
        raise Refused(t(N_("Your role may not record cases."), session.lang))


def values_of(form: FormData) -> dict[str, str]:
    """The report's fields as the new case form names them (only these: an ID number or address
    sent along is not taken), with the source a grid report."""
    names = [*FIELDS, *(f"{f}_{n}" for n in range(1, REPORT_ROWS + 1) for f in PARTY_FIELDS)]
    values = {name: text(form, name) for name in names}
    values["source"] = CaseSource.GRID_REPORT.value
    return values


def _form_page(request: Request, values: dict[str, str], errors: dict[str, str],
               status: int = 200) -> Response:
    return page(request, "grid_report.html", status=status, title=N_("Report a dispute"),
                values=values, errors=errors, types=list(new_case.TYPES.values()),
                rows=range(1, REPORT_ROWS + 1), roles=ROLES)


@router.get("/report")
def report_form(request: Request, session: Annotated[Session, Depends(user_session)]
                ) -> Response:
    _refuse_readers(session)
    return _form_page(request, {"grid_id": session.grid_id, "role_1": "applicant",
                                "role_2": "respondent"}, {})


@router.post("/report")
def report(request: Request, session: Annotated[Session, Depends(user_session)],
           form: Annotated[FormData, Depends(posted_form)],
           node: Annotated[Node, Depends(locked_node)]) -> Response:
    _refuse_readers(session)
    values = values_of(form)
    errors, parties = new_case.check(values, local_date(node.clock.now()), session.lang)
    if errors:
        return _form_page(request, values, errors, status=400)
    try:
        case = node.service.new_case(
            source=CaseSource.GRID_REPORT, dispute_type=values["dispute_type"],
            facts=values["facts"], parties=parties,
            people_involved=int(values["people"]) if values["people"] else None,
            grid_id=values["grid_id"] or None, role=session.role, user=session.user)
    except DomainError as exc:  # the law's word on a field (a grid of another village) beside it
        where = exc.code if exc.code in FIELDS else "form"
        return _form_page(request, values, {where: render(exc, session.lang)}, status=400)
    state_of(request).on_commit()
    session.grid_id = values["grid_id"]
    log.info("web.grid_reported", account=session.user, case_id=case.case_id)
    return RedirectResponse(f"/report/done/{case.case_id}", status_code=303)


@router.get("/report/done/{case_id}")
def reported(request: Request, case_id: str, session: Annotated[Session, Depends(user_session)],
             node: Annotated[Node, Depends(locked_node)]) -> Response:
    """The confirmation: the new case's number, to write down or tell the mediator."""
    _refuse_readers(session)
    case = node.store.load_case(case_id)
    if case is None:
        raise HTTPException(404)
    return page(request, "grid_reported.html", title=N_("Reported"), case_id=case.case_id,
                dispute_type=str(case.facts.get("dispute_type", "")))
