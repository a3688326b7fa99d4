"""The node's web app (issue 17): `create_app(node)` gives the FastAPI application.

Every response carries the security headers (a CSP with no inline script, no framing, no
sniffing, no referrer); every page but the static files is `Cache-Control: no-store` (pages show
personal data, and a shared PC's browser must not keep them). The session cookie is HttpOnly and
SameSite=Strict, Secure when the node is behind TLS (`[web] secure_cookies`). Every POST route
checks the CSRF token: `create_app` refuses to build an app with one that does not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from nodes import i18n
from nodes.node import Node
from nodes.web import (
    auth,
    case_list,
    case_page,
    grid_report,
    mine,
    new_case,
    orders_page,
    own_password,
    print_page,
    today,
    user_admin,
)
from nodes.web.core import LoginNeeded, WebState, page, posted_form, session_of
from nodes.web.sessions import Sessions, cookie_name
from nodes.web.view import helpers

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# Pages the packages above add (the hub's flow page, `hub.web_flow`): the composition root
# (`fengqiao.bootstrap`) registers them, since nodes never import hub code.
EXTRA_PAGES: list[APIRouter] = []


def add_pages(router: APIRouter) -> None:
    """Serve `router`'s pages in every app built from now on (once, however often called)."""
    if router not in EXTRA_PAGES:
        EXTRA_PAGES.append(router)


def create_app(node: Node, *, secure_cookies: bool | None = None, idle_minutes: int | None = None,
               on_commit: Callable[[], None] | None = None) -> FastAPI:
    """The app for `node` (its store is used from the request threads, one at a time).
    `on_commit`: called after each commit made through the web (`NodeRuntime.wake.set`)."""
    web_config = node.config.web
    idle = (idle_minutes or web_config.idle_minutes) * 60
    state = WebState(node, Sessions(idle),
                     web_config.secure_cookies if secure_cookies is None else secure_cookies,
                     on_commit or (lambda: None))
    state.env.globals.update(helpers())
    cookie = cookie_name(node.config.node_id)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = state
    for module in (auth, today, case_list, new_case, grid_report, case_page, print_page,
                   user_admin, own_password, orders_page, mine):
        app.include_router(module.router)
    for router in EXTRA_PAGES:
        app.include_router(router)
    _check_csrf_everywhere(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def sessions_and_headers(request: Request,
                                   call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        session = state.sessions.lookup(request.cookies.get(cookie))
        request.state.session = session
        response = await call_next(request)
        session = request.state.session  # a login or logout may have replaced it
        if session.new:
            session.new = False
            response.set_cookie(cookie, session.token, httponly=True, samesite="strict",
                                secure=state.secure_cookies, path="/")
        response.headers.update(HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(LoginNeeded)
    async def to_login(request: Request, exc: LoginNeeded) -> Response:
        if request.headers.get("HX-Request"):  # a part of a page: the whole window goes to login
            return Response(status_code=204, headers={"HX-Redirect": "/login"})
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def refused(request: Request, exc: StarletteHTTPException) -> Response:
        with i18n.language(session_of(request).lang):
            message = exc.detail if exc.status_code == 403 else i18n._(
                "This page does not exist.") if exc.status_code == 404 else str(exc.detail)
        return page(request, "refused.html", status=exc.status_code, message=message)

    return app


def _check_csrf_everywhere(app: FastAPI) -> None:
    """Every POST route depends on `posted_form` (the CSRF check): a route added without it is a
    bug found when the app is built, not in production."""
    for route in app.routes:
        if isinstance(route, APIRoute) and "POST" in (route.methods or set()):
            calls = {d.call for d in route.dependant.dependencies}
            if posted_form not in calls:
                raise RuntimeError(f"POST {route.path} does not check the CSRF token")
