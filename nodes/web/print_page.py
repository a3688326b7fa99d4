"""Printable documents (issue 17): `GET /cases/{case_id}/print/{document}`, an A4 page in the
reader's language with the parties' details in full, as the paper needs them.

A printed document shows what the case page masks, so it is open only to the roles that may
reveal a party's details (`case_page.REVEAL_ROLES`), and every view is written to `access_log`
(who, in what role, when, which case, which document) and the log, never the data. The URL and
the page title name the case number and the document only; the page is not kept (no-store, as
every page). A document the case's state does not have yet answers 404 with a sentence.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from nodes import i18n
from nodes.domain.roles import roles_of
from nodes.i18n import N_, t
from nodes.node import Node
from nodes.store import users
from nodes.web.case_page import REVEAL_ROLES, load
from nodes.web.core import Refused, locked_node, log, page, user_session
from nodes.web.documents import BY_NAME, context
from nodes.web.sessions import Session

router = APIRouter()
PRINTED = "print:"  # access_log.what for a printed document: "print:agreement"


def may_print(role: str) -> bool:
    """Whether this role may open printable documents (they show personal details in full)."""
    return bool(roles_of(role) & REVEAL_ROLES)


@router.get("/cases/{case_id}/print/{name}")
def print_document(request: Request, case_id: str, name: str,
                   session: Annotated[Session, Depends(user_session)],
                   node: Annotated[Node, Depends(locked_node)]) -> Response:
    document = BY_NAME.get(name)
    if document is None:
        raise HTTPException(404)
    case = load(node, case_id)
    if not may_print(session.role):
        raise Refused(t(N_("Your role does not print documents: they show parties' personal "
                           "details."), session.lang))
    if not document.exists(case):
        return page(request, "refused.html", status=404, title=document.title,
                    message=t(N_("This case has no such document in its present state."),
                              session.lang))
    assert session.user is not None  # noqa: S101 - user_session guarantees it
    users.log_access(node.store, session.user, session.role, case.case_id,
                     PRINTED + document.name, node.clock.now())
    log.info("web.document_printed", account=session.user, case_id=case.case_id,
             document=document.name)
    issuer = node.config.name or node.config.node_id
    with i18n.language(session.lang):  # dates and words of the sheet in the reader's language
        values = context(case, node.store.parties(case.case_id), issuer)
    return page(request, f"print/{document.name}.html", title=document.title, doc=document,
                **values)
