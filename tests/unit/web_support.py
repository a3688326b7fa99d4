"""A village node with its web app under FastAPI's TestClient, and helpers to log in and post
forms the way a browser does (the CSRF token read from the page)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from nodes.node import Node
from nodes.store import users
from nodes.web.accounts import hash_password
from nodes.web.app import create_app
from tests.support.clock import FakeClock
from tests.support.nodes import build_node

VILLAGE = "330106001001"
PASSWORD = "correct-horse-1"  # noqa: S105 - the tests' invented accounts
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    node: Node
    client: TestClient
    clock: FakeClock
    woken: list[int] = field(default_factory=list)

    def add_user(self, name: str, roles: str) -> None:
        users.add_user(self.node.store, name, roles, hash_password(PASSWORD), self.clock.now())

    def token(self, path: str = "/login") -> str:
        match = TOKEN.search(self.client.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, name: str, password: str = PASSWORD) -> int:
        status: int = self.client.post("/login", data={"name": name, "password": password,
                                                  "csrf_token": self.token()},
                                  follow_redirects=False).status_code
        return status

    def english(self) -> None:
        """Pages in English from now on (the tests read the message ids, which hold whether or
        not the Chinese catalogue has caught up)."""
        self.post("/lang", {"lang": "en", "next": "/"}, "/login")

    def post(self, path: str, data: dict[str, str], page: str = "/") -> httpx.Response:
        answer: httpx.Response = self.client.post(
            path, data={**data, "csrf_token": self.token(page)}, follow_redirects=False)
        return answer


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    clock = FakeClock()
    node = build_node(tmp_path, VILLAGE, clock=clock)
    woken: list[int] = []
    app = create_app(node, on_commit=lambda: woken.append(1))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield Site(node, client, clock, woken)
    node.close()
