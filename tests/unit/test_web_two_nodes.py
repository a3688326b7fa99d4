"""Two nodes' web apps on one machine (issue 17, "Security"): a login at one is no login at
the other, even with the other's cookie in hand, and logging in at both keeps both sessions
(a browser keeps cookies by host, not port: each node's cookie has its own name)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nodes.store import users
from nodes.web.accounts import hash_password
from nodes.web.app import create_app
from nodes.web.sessions import cookie_name
from tests.support.clock import FakeClock
from tests.support.nodes import build_node
from tests.unit.web_support import PASSWORD, TOKEN

VILLAGES = ("330106001001", "330106001002")


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[dict[str, TestClient]]:
    clock, out, nodes = FakeClock(), {}, []
    for village in VILLAGES:
        node = build_node(tmp_path, village, clock=clock)
        users.add_user(node.store, "wang", "mediator", hash_password(PASSWORD), clock.now())
        nodes.append(node)
        out[village] = TestClient(create_app(node), base_url="http://127.0.0.1")
    yield out
    for client in out.values():
        client.close()
    for node in nodes:
        node.close()


def login(client: TestClient) -> None:
    match = TOKEN.search(client.get("/login").text)
    assert match
    answer = client.post("/login", data={"name": "wang", "password": PASSWORD,
                                         "csrf_token": match.group(1)}, follow_redirects=False)
    assert answer.status_code == 303


def test_a_session_of_one_node_opens_nothing_at_the_other(
        clients: dict[str, TestClient]) -> None:
    first, second = (clients[v] for v in VILLAGES)
    login(first)
    assert first.get("/", follow_redirects=False).status_code == 200
    token = first.cookies.get(cookie_name(VILLAGES[0]))
    assert token
    for name in (cookie_name(VILLAGES[0]), cookie_name(VILLAGES[1])):  # either cookie name
        second.cookies.clear()
        second.cookies.set(name, token)
        for path in ("/", "/cases", "/cases/new", "/users"):
            answer = second.get(path, follow_redirects=False)
            assert (answer.status_code, answer.headers.get("location")) == (303, "/login"), path


def test_logging_in_at_both_keeps_both(clients: dict[str, TestClient]) -> None:
    """One browser (one cookie jar for 127.0.0.1) logged in at two nodes."""
    first, second = (clients[v] for v in VILLAGES)
    login(first)
    second.cookies.update(first.cookies)
    login(second)
    first.cookies.update(second.cookies)
    assert first.get("/", follow_redirects=False).status_code == 200
    assert second.get("/", follow_redirects=False).status_code == 200
    assert {c for c in first.cookies} >= {cookie_name(v) for v in VILLAGES}
