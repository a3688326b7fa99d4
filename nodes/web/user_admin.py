"""The accounts page (issue 17): the committee head (role `station_head`; at a hub, the centre's
head, whose account holds `hub_staff,station_head`) lists the node's accounts, adds one, changes
its roles, disables or enables it, sets a new password and lifts a lockout. Everything on one page
(`/users`), each change a POST naming the account in the form, so no person's name is ever in a
URL. Bad input is shown beside its field and nothing is written. The head may not disable their
own account or drop their own `station_head` role: the node keeps a manager. Each change is
logged as who did what to which account; a password never is, and never goes back to the page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from nodes.domain.roles import ACCOUNT_ROLES, STATION_HEAD, manages_users, roles_of
from nodes.i18n import N_, render, t
from nodes.node import Node
from nodes.store import users
from nodes.web.accounts import AccountError, check_password, check_roles, check_user_name, hash_password
from nodes.web.core import (
    Refused,
    locked_node,
    log,
    page,
    posted_form,
    session_of,
    state_of,
    text,
    user_session,
)
from nodes.web.sessions import Session

router = APIRouter()
Form = Annotated[FormData, Depends(posted_form)]
Head = Annotated[Session, Depends(user_session)]
Locked = Annotated[Node, Depends(locked_node)]
# What the page says after a change (`/users?done=...`: a code, never a name).
DONE = {
    "added": N_("The account was added."), "roles": N_("The roles were changed."),
    "disabled": N_("The account was disabled."), "enabled": N_("The account was enabled."),
    "password": N_("The new password was set."), "unlocked": N_("The account was unlocked."),
}


def _refuse_others(session: Session) -> None:
    if not manages_users(session.role):
        raise Refused(t(N_("Only the committee head manages the accounts."), session.lang))


def new_password_errors(form: FormData, lang: str) -> dict[str, str]:
    """The problems of a new password typed twice (`password`, `password2`), by field."""
    first, second = _raw(form, "password"), _raw(form, "password2")
    try:
        check_password(first)
    except AccountError as exc:
        return {"password": render(exc, lang)}
    if first != second:
        return {"password2": t(N_("The two passwords differ."), lang)}
    return {}


def _raw(form: FormData, name: str) -> str:
    """A password as typed (spaces count)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _roles(form: FormData, lang: str) -> tuple[str, dict[str, str]]:
    """The ticked roles in their fixed order, or the problem beside the checkboxes."""
    ticked = [v for v in form.getlist("roles") if isinstance(v, str)]
    if not ticked:
        return "", {"roles": t(N_("Choose at least one role."), lang)}
    try:
        return check_roles(",".join(ticked)), {}
    except AccountError as exc:
        return "", {"roles": render(exc, lang)}


def _rows(node: Node) -> list[dict[str, Any]]:
    now = node.clock.now()
    return [{"name": r.name, "roles": r.roles, "role_set": roles_of(r.roles),
             "disabled": r.disabled, "last_login_at": r.last_login_at,
             "locked_until": r.locked_until if r.locked_until is not None and
             datetime.fromisoformat(r.locked_until) > now else None}
            for r in users.users(node.store)]


def _page(request: Request, node: Node, *, errors: dict[str, str] | None = None,
          target: str = "", values: dict[str, Any] | None = None, done: str = "",
          status: int = 200) -> Response:
    """The page; `errors` belong to the add form, or to `target`'s row when one is given."""
    return page(request, "users.html", status=status, title=N_("Accounts"), rows=_rows(node),
                all_roles=ACCOUNT_ROLES, errors=errors or {}, target=target,
                values=values or {}, done=DONE.get(done, ""))


def _done(what: str) -> Response:
    return RedirectResponse(f"/users?done={what}", status_code=303)


def _log_out_everywhere(request: Request, name: str, node: Node) -> None:
    """The account's sessions end (its roles or password changed, or it was disabled); the
    head's own session is replaced by a fresh one with the roles as they are now."""
    web, session = state_of(request), session_of(request)
    web.sessions.drop_user(name)
    row = users.user(node.store, name)
    if name == session.user and row is not None and not row.disabled:
        request.state.session = web.sessions.login(session, name, row.roles)


@router.get("/users")
def users_page(request: Request, session: Head, node: Locked) -> Response:
    _refuse_others(session)
    done = request.query_params.get("done", "")
    return _page(request, node, done=done)


@router.post("/users/add")
def add_user(request: Request, session: Head, form: Form, node: Locked) -> Response:
    _refuse_others(session)
    lang, name = session.lang, text(form, "name")
    roles, errors = _roles(form, lang)
    try:
        name = check_user_name(name)
    except AccountError as exc:
        errors["name"] = render(exc, lang)
    errors |= new_password_errors(form, lang)
    if not errors and not users.add_user(node.store, name, roles, hash_password(
            _raw(form, "password")), node.clock.now()):
        errors["name"] = t(N_("There is already an account with this name."), lang)
    if errors:
        values = {"name": name, "roles": {v for v in form.getlist("roles") if isinstance(v, str)}}
        return _page(request, node, errors=errors, values=values, status=400)
    log.info("web.user_added", by=session.user, account=name, roles=roles)
    return _done("added")


def _target(form: FormData, node: Node, session: Session) -> str:
    """The account a row's form names; an unknown one is a 404 (a stale page)."""
    name = text(form, "name")
    if not name or users.user(node.store, name) is None:
        raise HTTPException(404, t(N_("There is no such account."), session.lang))
    return name


def _keep_a_manager(request: Request, node: Node, name: str, field: str) -> Response:
    """The refusal when the head would lock themself out of managing (nothing written)."""
    session = session_of(request)
    log.info("web.user_change_refused", by=session.user, account=name, reason="own_manager")
    return _page(request, node, target=name, status=409, errors={field: t(N_(
        "You cannot do this to your own account: no one would be left to manage the "
        "accounts. Ask another committee head to do it."), session.lang)})


@router.post("/users/roles")
def change_roles(request: Request, session: Head, form: Form, node: Locked) -> Response:
    _refuse_others(session)
    name = _target(form, node, session)
    roles, errors = _roles(form, session.lang)
    if errors:
        return _page(request, node, errors=errors, target=name, status=400)
    if name == session.user and STATION_HEAD not in roles_of(roles):
        return _keep_a_manager(request, node, name, "roles")
    before = users.user(node.store, name)
    users.set_roles(node.store, name, roles, node.clock.now())
    _log_out_everywhere(request, name, node)
    log.info("web.user_roles_changed", by=session.user, account=name,
             roles_before=before.roles if before else "", roles=roles)
    return _done("roles")


@router.post("/users/disable")
def disable(request: Request, session: Head, form: Form, node: Locked) -> Response:
    _refuse_others(session)
    name = _target(form, node, session)
    if name == session.user:
        return _keep_a_manager(request, node, name, "status")
    users.set_disabled(node.store, name, True, node.clock.now())
    _log_out_everywhere(request, name, node)
    log.info("web.user_disabled", by=session.user, account=name)
    return _done("disabled")


@router.post("/users/enable")
def enable(request: Request, session: Head, form: Form, node: Locked) -> Response:
    _refuse_others(session)
    name = _target(form, node, session)
    users.set_disabled(node.store, name, False, node.clock.now())
    log.info("web.user_enabled", by=session.user, account=name)
    return _done("enabled")


@router.post("/users/password")
def reset_password(request: Request, session: Head, form: Form, node: Locked) -> Response:
    _refuse_others(session)
    name = _target(form, node, session)
    errors = new_password_errors(form, session.lang)
    if errors:
        return _page(request, node, errors=errors, target=name, status=400)
    users.set_password(node.store, name, hash_password(_raw(form, "password")), node.clock.now())
    _log_out_everywhere(request, name, node)
    log.info("web.user_password_reset", by=session.user, account=name)
    return _done("password")


@router.post("/users/unlock")
def unlock(request: Request, session: Head, form: Form, node: Locked) -> Response:
    _refuse_others(session)
    name = _target(form, node, session)
    users.unlock(node.store, name, node.clock.now())
    log.info("web.user_unlocked", by=session.user, account=name)
    return _done("unlocked")
