"""What every page needs: the node (one connection, one request at a time), the session, the
CSRF check of every POST, the templates in the reader's language, and the refusals (403).

The web app has its own `Node` (its own SQLite connection, as every thread of a running node
has); requests are served on a thread pool, so they take turns on it under `lock`. A station has
a handful of users: turns cost nothing there, and the service layer stays single-threaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import structlog
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from nodes import i18n
from nodes.domain.case import local_date
from nodes.node import Node
from nodes.web.sessions import Session, Sessions

log = structlog.get_logger("fengqiao.web")
TEMPLATES = Path(__file__).parent / "templates"
CSRF_FIELD = "csrf_token"


def environment() -> Environment:
    """Jinja2 with gettext from the one catalogue (`{{ _("...") }}`, extracted by Babel as
    `nodes.i18n.catalogue` says); the language is the request's (`i18n.language`)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n._, ngettext=lambda s, p, n, **kw: i18n._(s if n == 1 else p, **kw),
        pgettext=lambda c, m, **kw: i18n.pt(c, m, **kw), newstyle=False)
    return env


@dataclass
class WebState:
    node: Node
    sessions: Sessions
    secure_cookies: bool = False
    # Called after every commit made through the web: the running node's relay wakes at once.
    on_commit: Callable[[], None] = lambda: None
    lock: threading.Lock = field(default_factory=threading.Lock)
    env: Environment = field(default_factory=environment)

    def today(self) -> date:
        return local_date(self.node.clock.now())


def state_of(request: Request) -> WebState:
    web: WebState = request.app.state.web
    return web


def session_of(request: Request) -> Session:
    session: Session = request.state.session
    return session


class Refused(HTTPException):
    """403 with a sentence for the page (a role that may not, a missing CSRF token)."""

    def __init__(self, message: str) -> None:
        super().__init__(403, detail=message)


class LoginNeeded(Exception):
    """No logged-in user: the handler answers with a redirect to the login page."""


def user_session(request: Request) -> Session:
    """Dependency: the logged-in session, else LoginNeeded (a redirect to /login)."""
    session = session_of(request)
    if session.user is None:
        raise LoginNeeded()
    return session


def locked_node(request: Request) -> Iterator[Node]:
    """Dependency: the web app's node, this request's turn on it."""
    web = state_of(request)
    with web.lock:
        yield web.node


async def posted_form(request: Request) -> FormData:
    """Dependency of every POST route: the form, refused (403) without this session's token."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not session_of(request).csrf_ok(token if isinstance(token, str) else None):
        log.warning("web.csrf_refused", path=request.url.path)
        raise Refused(i18n.t(i18n.N_(
            "This form has expired or did not come from this site. Open the page again and "
            "send it once more."), session_of(request).lang))
    return form


def text(form: FormData | Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A template rendered in the session's language, with what every page shows."""
    web, session = state_of(request), session_of(request)
    with i18n.language(session.lang):
        html = web.env.get_template(template).render(
            request=request, session=session, csrf_field=CSRF_FIELD, node=web.node.config,
            path=request.url.path, lang=session.lang, **values)
    return HTMLResponse(html, status_code=status)
