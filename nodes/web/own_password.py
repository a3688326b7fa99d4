""""Change my password" (issue 17), for every logged-in user: the current password first (a
session left open on a shared PC must not be enough), then the new one twice. A wrong current
password counts as a failed login, so the lockout holds here too. Afterwards every other session
of the account ends and this one is replaced. The log names the account, never a password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from nodes.i18n import N_, t
from nodes.node import Node
from nodes.store import users
from nodes.web.accounts import authenticate, hash_password
from nodes.web.core import LoginNeeded, locked_node, log, page, posted_form, state_of, user_session
from nodes.web.sessions import Session
from nodes.web.user_admin import new_password_errors

router = APIRouter()
PATH = "/account/password"


def _page(request: Request, errors: dict[str, str], done: bool = False,
          status: int = 200) -> Response:
    return page(request, "password.html", status=status, title=N_("Change my password"),
                errors=errors, done=done)


@router.get(PATH)
def password_page(request: Request, session: Annotated[Session, Depends(user_session)]
                  ) -> Response:
    return _page(request, {}, done=request.query_params.get("done") == "1")


@router.post(PATH)
def change_password(request: Request, session: Annotated[Session, Depends(user_session)],
                    form: Annotated[FormData, Depends(posted_form)],
                    node: Annotated[Node, Depends(locked_node)]) -> Response:
    if session.user is None:  # user_session saw to it
        raise LoginNeeded()
    current = form.get("current")
    errors = new_password_errors(form, session.lang)
    result = authenticate(node.store, session.user,
                          current if isinstance(current, str) else "", node.clock.now())
    if result.user is None:
        log.info("web.own_password_refused", account=session.user, locked=result.locked)
        errors["current"] = t(N_("This is not your current password."), session.lang)
    if errors:
        return _page(request, errors, status=400)
    users.set_password(node.store, session.user, hash_password(str(form.get("password"))),
                       node.clock.now())
    web = state_of(request)
    web.sessions.drop_user(session.user)
    request.state.session = web.sessions.login(session, session.user, result.user.roles
                                               if result.user else session.role)
    log.info("web.own_password_changed", account=session.user)
    return RedirectResponse(f"{PATH}?done=1", status_code=303)
