"""The web app's doors (issue 17): login and lockout, sessions in HttpOnly SameSite=Strict
cookies, CSRF on every POST, the security headers, the language switch, the [web] config."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from nodes.config import ConfigError, load_config
from nodes.i18n import render
from nodes.store import users
from nodes.web.accounts import LOCKOUT_MINUTES, MAX_FAILED_LOGINS
from nodes.web.server import WebServer, WebStartFailed
from nodes.web.sessions import cookie_name
from tests.support.nodes import build_node, write_config
from tests.unit.web_support import PASSWORD, VILLAGE, Site, site

__all__ = ["site"]


def test_pages_need_a_login_and_a_good_login_opens_them(site: Site) -> None:
    site.add_user("wang", "mediator")
    assert site.client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert site.login("wang", "wrong-password") == 401
    assert site.login("wang") == 303
    site.english()
    today = site.client.get("/")
    assert today.status_code == 200
    assert "<h1>Today" in today.text
    assert "wang" in today.text


def test_the_session_cookie_is_httponly_strict_and_replaced_at_login(site: Site) -> None:
    site.add_user("wang", "mediator")
    first = site.client.get("/login")
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie
    name = cookie_name(site.node.config.node_id)
    before = site.client.cookies.get(name)
    site.login("wang")
    assert site.client.cookies.get(name) not in (None, before)  # no session fixation


def test_lockout_after_repeated_failures_even_for_the_right_password(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.english()
    for _ in range(MAX_FAILED_LOGINS):
        assert site.login("wang", "wrong-password") == 401
    answer = site.client.post("/login", data={"name": "wang", "password": PASSWORD,
                                              "csrf_token": site.token()})
    assert answer.status_code == 401
    assert "locked" in answer.text
    site.clock.advance(minutes=LOCKOUT_MINUTES + 1)
    assert site.login("wang") == 303
    assert users.user(site.node.store, "wang").failed_logins == 0  # type: ignore[union-attr]


def test_a_disabled_account_cannot_log_in(site: Site) -> None:
    site.add_user("wang", "mediator")
    users.set_disabled(site.node.store, "wang", True, site.clock.now())
    assert site.login("wang") == 401


def test_every_post_without_the_sessions_token_is_refused(site: Site) -> None:
    site.add_user("wang", "mediator")
    assert site.client.post("/login", data={"name": "wang", "password": PASSWORD}).status_code \
        == 403
    site.login("wang")
    for path in ("/logout", "/lang", "/cases/new", "/cases/search"):
        answer = site.client.post(path, data={"csrf_token": "forged"}, follow_redirects=False)
        assert answer.status_code == 403, path
    assert site.client.get("/").status_code == 200  # still logged in: the logout was refused


def test_security_headers_and_no_store_on_every_page(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    for path in ("/login", "/", "/cases", "/cases/new", "/no-such-page"):
        h = site.client.get(path).headers
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert "script-src 'self'" in csp
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
        assert h["cache-control"] == "no-store"
    js = site.client.get("/static/htmx.min.js")
    assert js.status_code == 200
    assert "Zero-Clause BSD" in js.text[:400]


def test_no_inline_script_and_htmx_keeps_no_history(site: Site) -> None:
    html = site.client.get("/login").text
    assert "<script>" not in html
    assert "<script src=\"/static/htmx.min.js\"" in html
    assert '"historyCacheSize":0' in html


def test_language_switch_is_kept_in_the_session(site: Site) -> None:
    assert '<html lang="zh-CN">' in site.client.get("/login").text  # Chinese first
    site.post("/lang", {"lang": "en", "next": "/login"}, "/login")
    assert '<html lang="en">' in site.client.get("/login").text
    back = site.post("/lang", {"lang": "zh", "next": "//evil.example/"}, "/login")
    assert back.headers["location"] == "/"  # never off-site
    assert '<html lang="zh-CN">' in site.client.get("/login").text


def test_idle_session_ends(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    sessions = site.client.app.state.web.sessions  # type: ignore[attr-defined]
    sessions.idle_s = 0.0
    assert site.client.get("/", follow_redirects=False).status_code == 303


def test_web_listen_is_checked_with_one_sentence(tmp_path: Path) -> None:
    path = write_config(tmp_path, VILLAGE)
    text = path.read_text(encoding="utf-8")
    assert '[web]\nlisten = ""' in text  # the tests' nodes serve no web app
    path.write_text(text.replace('listen = ""', 'listen = "127.0.0.1:99999"'), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "web.listen" in render(caught.value, "en")
    path.write_text(path.read_text(encoding="utf-8").replace("99999", "8081"), encoding="utf-8")
    assert load_config(path).web.host_port == ("127.0.0.1", 8081)


def test_the_server_starts_stops_and_says_when_the_address_is_taken(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        first = build_node(tmp_path, VILLAGE)
        config = first.config
        first.close()
        config = config.model_copy(update={"web": type(config.web)(listen=f"127.0.0.1:{port}")})
        server = WebServer(config, lambda: build_node(tmp_path, VILLAGE, declare=False))
        with pytest.raises(WebStartFailed):
            server.start()
    finally:
        taken.close()
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    config = config.model_copy(update={"web": type(config.web)(listen=f"127.0.0.1:{port}")})
    server = WebServer(config, lambda: build_node(tmp_path, VILLAGE, declare=False))
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET /login HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            assert b"200 OK" in conn.recv(100)
    finally:
        server.stop()
    assert not server.thread or not server.thread.is_alive()
