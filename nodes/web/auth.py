"""Login, logout and the language switch.

A login that fails says only that the name or password is wrong (or that the account is locked,
once it is): never which of the two. The log line names the account, never the password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from nodes import i18n
from nodes.i18n import LANGS
from nodes.node import Node
from nodes.web.accounts import authenticate
from nodes.web.core import locked_node, log, page, posted_form, session_of, state_of, text

router = APIRouter()
Form = Annotated[FormData, Depends(posted_form)]


def safe_next(value: str) -> str:
    """Only a path of this site (never `//host` or a full URL): where to go back to."""
    return value if value.startswith("/") and not value.startswith("//") and \
        "\\" not in value else "/"


@router.get("/login")
def login_page(request: Request) -> Response:
    if session_of(request).user is not None:
        return RedirectResponse("/", status_code=303)
    return page(request, "login.html", title=i18n.N_("Log in"))


@router.post("/login")
def login(request: Request, form: Form,
          node: Annotated[Node, Depends(locked_node)]) -> Response:
    name, password = text(form, "name"), form.get("password")
    password = password if isinstance(password, str) else ""
    result = authenticate(node.store, name, password, node.clock.now())
    if result.user is None:
        log.info("web.login_failed", account=name[:32], locked=result.locked)
        message = (i18n.N_("This account is locked after too many wrong passwords. Try again "
                           "later, or ask the committee head for a new password.")
                   if result.locked else i18n.N_("Wrong name or password."))
        return page(request, "login.html", status=401, title=i18n.N_("Log in"), error=message,
                    name=name)
    session = state_of(request).sessions.login(session_of(request), result.user.name,
                                               result.user.roles)
    request.state.session = session
    log.info("web.login", account=result.user.name)
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
def logout(request: Request, form: Form) -> Response:
    web, session = state_of(request), session_of(request)
    web.sessions.drop(session)
    request.state.session = web.sessions.lookup(None)  # a fresh anonymous one, same language
    request.state.session.lang = session.lang
    return RedirectResponse("/login", status_code=303)


@router.post("/lang")
def switch_language(request: Request, form: Form) -> Response:
    lang = text(form, "lang")
    if lang in LANGS:
        session_of(request).lang = lang
    return RedirectResponse(safe_next(text(form, "next")), status_code=303)
