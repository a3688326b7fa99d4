"""The new case form: type, facts, source, grid, people involved, an accusation (检举控告) with the
accused unit's area code, and `PARTY_ROWS` party rows to start with (a row left empty is no
party). "Add a party" is a plain submit that shows the form again with one more row, nothing
written: it works without JavaScript. Every field is checked before anything is written, each problem
shown beside its field; the case is recorded only when all is valid (`CaseService.new_case`,
one transaction), by the logged-in user in their role (a grid worker's is a grid report)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from nodes.domain.case import DomainError, local_date
from nodes.domain.roles import DECIDING, GRID_WORKER, records, roles_of
from nodes.i18n import N_, render, t
from nodes.node import Node
from nodes.service import PartyInput, accusation_facts, check_party
from nodes.text_input import check_facts
from nodes.web.core import Refused, locked_node, log, page, posted_form, state_of, user_session
from nodes.web.sessions import Session
from protocol.messages import MAX_PEOPLE, MAX_SHORT
from protocol.reference import DISPUTE_TYPES, DISPUTE_TYPES_VERSION, CaseSource

router = APIRouter()
PARTY_ROWS = 4
MAX_ROWS = 60  # rows on the form; a bigger group dispute is recorded from the command line
PARTY_FIELDS = ("role", "name", "id_number", "phone", "address")
SOURCES = [s.value for s in CaseSource if s is not CaseSource.ESCALATION]
TYPES = DISPUTE_TYPES[DISPUTE_TYPES_VERSION]


def rows_of(values: dict[str, str]) -> int:
    """How many party rows the form shows: as many as it had (`rows`), within bounds."""
    given = values.get("rows", "")
    rows = int(given) if given.isdigit() else PARTY_ROWS
    return max(PARTY_ROWS, min(rows, MAX_ROWS))


def _form_page(request: Request, values: dict[str, str], errors: dict[str, str],
               status: int = 200, grid: bool = False) -> Response:
    """The form; `grid`: for a grid worker, a note pointing to the short report (/report)."""
    rows = rows_of(values)
    return page(request, "new_case.html", status=status, title=N_("New case"), values=values,
                errors=errors, types=list(TYPES.values()), sources=SOURCES,
                rows=range(1, rows + 1), row_count=rows, more=rows < MAX_ROWS, grid=grid)


def _refuse_readers(session: Session) -> None:
    if not records(session.role):
        raise Refused(t(N_("Your role may not record cases."), session.lang))


@router.get("/cases/new")
def new_case_form(request: Request, session: Annotated[Session, Depends(user_session)]
                  ) -> Response:
    _refuse_readers(session)
    roles = roles_of(session.role)
    grid = GRID_WORKER in roles and not roles & DECIDING
    return _form_page(request, {"source": "grid_report" if grid else "application",
                                "role_1": "applicant", "role_2": "respondent"}, {}, grid=grid)


def check(values: dict[str, str], today: Any, lang: str) -> tuple[dict[str, str],
                                                                     list[PartyInput]]:
    """Every field's problem (field name -> sentence) and the parties as given."""
    errors: dict[str, str] = {}
    if values.get("dispute_type") not in TYPES:
        errors["dispute_type"] = t(N_("Choose the type of dispute."), lang)
    if values.get("source") not in SOURCES:
        errors["source"] = t(N_("Choose how the case came."), lang)
    try:
        if not check_facts(values.get("facts", "")):
            errors["facts"] = t(N_("Write what the dispute is about."), lang)
    except DomainError as exc:
        errors["facts"] = render(exc, lang)
    grid = values.get("grid_id", "")
    if grid and (len(grid) != 15 or not grid.isdigit()):
        errors["grid_id"] = t(N_("A grid id has 15 digits."), lang)
    people = values.get("people", "")
    if people and (not people.isdigit() or not 1 <= int(people) <= MAX_PEOPLE):
        errors["people"] = t(N_("A number from 1 to {limit}."), lang, limit=MAX_PEOPLE)
    try:
        accusation_facts(values.get("accusation") == "1", values.get("accused") or None)
    except DomainError as exc:
        errors["accused"] = render(exc, lang)
    parties = []
    for n in range(1, rows_of(values) + 1):
        given = {f: values.get(f"{f}_{n}", "") for f in PARTY_FIELDS}
        if not any(given[f] for f in PARTY_FIELDS if f != "role"):
            continue
        if any(len(v) > MAX_SHORT for v in given.values()):
            errors[f"name_{n}"] = t(N_("At most {limit} characters."), lang, limit=MAX_SHORT)
            continue
        party = PartyInput(given["role"], given["name"], given["id_number"].upper() or None,
                           given["phone"] or None, given["address"] or None)
        try:
            parties.append(check_party(party, today))
        except DomainError as exc:
            errors[_party_field(exc.code, n)] = render(exc, lang)
    if not parties and "name_1" not in errors:
        errors["name_1"] = t(N_("At least one party is needed."), lang)
    return errors, parties


def _party_field(code: str, n: int) -> str:
    """The field a party's problem concerns (by the domain error's code)."""
    for field in ("id_number", "phone", "role"):
        if field.split("_")[0] in code:
            return f"{field}_{n}"
    return f"name_{n}"


@router.post("/cases/new")
def new_case(request: Request, session: Annotated[Session, Depends(user_session)],
             form: Annotated[FormData, Depends(posted_form)],
             node: Annotated[Node, Depends(locked_node)]) -> Response:
    _refuse_readers(session)
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    if values.pop("more", ""):  # "add a party": the same form, one row more, nothing written
        values["rows"] = str(rows_of(values) + 1)
        return _form_page(request, values, {})
    errors, parties = check(values, local_date(node.clock.now()), session.lang)
    if errors:
        return _form_page(request, values, errors, status=400)
    try:
        case = node.service.new_case(
            source=CaseSource(values["source"]), dispute_type=values["dispute_type"],
            facts=values["facts"], parties=parties,
            people_involved=int(values["people"]) if values.get("people") else None,
            grid_id=values.get("grid_id") or None, role=session.role, user=session.user,
            accusation=values.get("accusation") == "1", accused=values.get("accused") or None)
    except DomainError as exc:
        return _form_page(request, values, {"form": render(exc, session.lang)}, status=400)
    state_of(request).on_commit()
    log.info("web.case_created", account=session.user, case_id=case.case_id)
    return RedirectResponse(f"/cases/{case.case_id}", status_code=303)
