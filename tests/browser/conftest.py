"""Pages in a real browser (issue 17): Debian's Chromium driven by Playwright, against a node's web
app served by uvicorn on 127.0.0.1, as `node run` serves it.

Every page gets a route guard: a request for anything not on 127.0.0.1 is aborted and recorded,
and the test fails if there was one (no CDN, no font service, no analytics: a station has no
internet). `.ci/run` installs `chromium` and `fonts-noto-cjk` when they are missing.
"""

from __future__ import annotations

import shutil
import socket
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, sync_playwright

from fengqiao.bootstrap import bootstrap
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from nodes.store import users
from nodes.web.accounts import hash_password
from nodes.web.server import WebServer
from tests.support.clock import FakeClock
from tests.support.nodes import node_config

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct-horse-1"  # noqa: S105 - the tests' invented accounts
VILLAGE = "330106001001"


def open_step(page: Page, step: str) -> None:
    """Unfold a case page's step (each is folded under its name when there are many), as a
    user does: a click on its name."""
    details = page.locator(f"#step-{step}")
    if details.get_attribute("open") is None:
        details.locator("summary").click()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    path = shutil.which("chromium") or CHROMIUM
    if not Path(path).exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
    yield browser
    browser.close()


@dataclass
class Station:
    """A village node serving its web app, with accounts added straight into its file."""

    url: str
    node: Node
    clock: FakeClock
    outside: list[str] = field(default_factory=list)  # requests the guard stopped

    def add_user(self, name: str, roles: str) -> None:
        users.add_user(self.node.store, name, roles, hash_password(PASSWORD), self.clock.now())

    def page(self, browser: Browser, width: int = 1280) -> Page:
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      locale="zh-CN")
        context.route("**/*", self._guard)
        return context.new_page()

    def _guard(self, route: Route) -> None:
        host = urllib.parse.urlsplit(route.request.url).hostname
        if host != "127.0.0.1":
            self.outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    def login(self, page: Page, name: str) -> None:
        page.goto(f"{self.url}/login")
        page.fill("#name", name)
        page.fill("#password", PASSWORD)
        page.click("form[action=\"/login\"] button")
        page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    clock = FakeClock()
    port = free_port()
    config = node_config(tmp_path, VILLAGE, web={"listen": f"127.0.0.1:{port}"})
    broker = MemoryBroker()
    staff = bootstrap(config, clock=clock, broker=broker)  # the file, and a handle on it
    server = WebServer(config, lambda: bootstrap(config, clock=clock, broker=broker))
    server.start()
    site = Station(f"http://127.0.0.1:{port}", staff, clock)
    try:
        yield site
    finally:
        server.stop()
        staff.close()
    assert site.outside == [], f"requests left 127.0.0.1: {site.outside}"
