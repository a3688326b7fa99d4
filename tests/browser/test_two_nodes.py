"""A village and its township, each a real `fengqiao node run` / `hub run` process serving its web
app on its own port, linked by a real RabbitMQ (issue 17, "Tests"): the village mediator records a
case and escalates it with consent; a township staffer, in another browser context at the
township's address, sees it arrive and hands it down with an instruction; the village's page shows
the instruction; the village mediates, agrees and closes; the township's page shows the report-back.
Every request stays on 127.0.0.1 (the route guard of `conftest.Station`)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from nodes.messaging.amqp_admin import AmqpAdmin
from protocol.areas import tier_of
from protocol.topology import node_queue, node_queue_name
from tests.browser.conftest import PASSWORD, free_port, open_step
from tests.browser.test_station_pages import new_case, submit
from tests.support.program import FENGQIAO
from tests.support.wait import wait_until

pytestmark = pytest.mark.broker

# A branch of the tree no other test uses (台州 codes; sample data).
TOWNSHIP, VILLAGE = "331003102000", "331003102201"
WAIT_S = 60.0
INSTRUCTION = "请村调委会组织现场勘查后调解"
TERMS = "共同出资疏通排水沟"


@dataclass
class Site:
    """One node process's web address, and the requests its pages tried to send elsewhere."""

    url: str
    outside: list[str]

    def page(self, browser: Browser) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")

        def guard(route: Route) -> None:
            host = urllib.parse.urlsplit(route.request.url).hostname
            if host != "127.0.0.1":
                self.outside.append(route.request.url)
                route.abort()
            else:
                route.continue_()
        context.route("**/*", guard)
        return context.new_page()

    def login(self, page: Page, name: str) -> None:
        page.goto(f"{self.url}/login")
        page.fill("#name", name)
        page.fill("#password", PASSWORD)
        page.click("form[action=\"/login\"] button")
        page.wait_for_url(lambda url: "/login" not in url)


def _run(*args: str, stdin: str | None = None) -> None:
    done = subprocess.run([*FENGQIAO, *args], input=stdin, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


def _listening(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/login", timeout=2) as answer:  # noqa: S310 - loopback
            return int(answer.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def sites(tmp_path: Path, amqp_url: str) -> Iterator[dict[str, Site]]:
    configs: dict[str, Path] = {}
    found: dict[str, Site] = {}
    for code, user, roles in ((TOWNSHIP, "李受理", "hub_staff"), (VILLAGE, "王芳", "mediator")):
        folder = tmp_path / code
        _run("node", "init", "--code", code, "--dir", str(folder), "--broker-url", amqp_url,
             "--identity-key", "e2e-shared-identity-key-0001")
        configs[code] = folder / "fengqiao.toml"
        port = free_port()
        text = configs[code].read_text(encoding="utf-8")
        assert "require_user_id = true" in text  # what `node init` writes
        assert "[web]" not in text
        # One shared broker user here (guest), not one per node as `deploy apply` makes.
        text = text.replace("require_user_id = true", "require_user_id = false")
        configs[code].write_text(f"{text}\n[web]\nlisten = \"127.0.0.1:{port}\"\n",
                                 encoding="utf-8")
        _run("--config", str(configs[code]), "user", "add", user, "--roles", roles,
             "--password-stdin", stdin=PASSWORD + "\n")
        found[code] = Site(f"http://127.0.0.1:{port}", [])
    _run("deploy", "keys", *(str(p.parent / "public-keys.json") for p in configs.values()),
         "--out", str(tmp_path / "keys.json"), "--configs", *(str(p) for p in configs.values()))
    for path in configs.values():
        shutil.copy(tmp_path / "keys.json", path.parent / "keys.json")
    transport = AmqpAdmin(amqp_url)
    transport.declare([node_queue(code, tier_of(code)) for code in configs])
    for code in configs:
        transport.purge(node_queue_name(code))
    logs = {code: (tmp_path / f"{code}.log").open("w") for code in configs}
    procs = {code: subprocess.Popen(
        [*FENGQIAO, "node" if code == VILLAGE else "hub", "run", "--config", str(path)],
        stdout=logs[code], stderr=subprocess.STDOUT,
        env={**os.environ, "FENGQIAO_LOG_LEVEL": "INFO"}) for code, path in configs.items()}
    try:
        for code, site in found.items():
            wait_until(partial(_listening, site.url), f"the web app of {code}", WAIT_S, every=0.2)
        yield found
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for code, proc in procs.items():
            assert proc.wait(timeout=45) == 0, (tmp_path / f"{code}.log").read_text()
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        for log in logs.values():
            log.close()
        transport.close()
    for site in found.values():
        assert site.outside == [], f"requests left 127.0.0.1: {site.outside}"


def reload_until(page: Page, url: str, text: str, where: str = "body") -> None:
    """Open `url` again until `where` shows `text`: the other node's message has to travel."""
    def shown() -> bool:
        page.goto(url)
        return text in page.locator(where).inner_text()
    wait_until(shown, f"{text!r} at {url}", WAIT_S, every=0.5)


def test_escalated_handed_down_settled_and_reported_back(sites: dict[str, Site],
                                                          browser: Browser) -> None:
    village, township = sites[VILLAGE], sites[TOWNSHIP]
    mediator = village.page(browser)
    village.login(mediator, "王芳")
    case_id = new_case(mediator, village.url)
    open_step(mediator, "accept")
    mediator.check("#accept-consent")
    submit(mediator, "accept")
    open_step(mediator, "escalate")
    mediator.select_option("#escalate-reason", "no_agreement")
    mediator.check("#escalate-consent")
    submit(mediator, "escalate")
    expect(mediator.locator("p.state")).to_contain_text("已上报上级")

    staffer = township.page(browser)  # another browser context: its own cookies
    township.login(staffer, "李受理")
    reload_until(staffer, f"{township.url}/", case_id, "table.arrivals")
    with staffer.expect_navigation():
        staffer.click(f"table.arrivals a[href='/cases/{case_id}']")
    expect(staffer.locator("p.state")).to_contain_text("已登记")
    open_step(staffer, "hand_down")
    staffer.fill("#hand_down-instruction", INSTRUCTION)
    staffer.fill("#hand_down-days", "15")
    submit(staffer, "hand_down")
    expect(staffer.locator("p.state")).not_to_contain_text("已登记")

    reload_until(mediator, f"{village.url}/cases/{case_id}", "上级交办", "p.state")
    expect(mediator.locator("body")).to_contain_text(INSTRUCTION)
    submit(mediator, "mediate")
    open_step(mediator, "agree")
    mediator.select_option("#agree-form", "oral")
    mediator.fill("#agree-terms", TERMS)
    submit(mediator, "agree")
    submit(mediator, "perform")
    open_step(mediator, "follow_up")
    mediator.select_option("#follow_up-honoured", "yes")
    submit(mediator, "follow_up")
    submit(mediator, "close")
    expect(mediator.locator("p.state")).to_contain_text("已结案")

    reload_until(staffer, f"{township.url}/cases/{case_id}", "下级已办结", "p.state")
    expect(staffer.locator("body")).to_contain_text(TERMS)
    staffer.goto(f"{township.url}/")
    expect(staffer.locator("body")).to_contain_text(case_id)
    expect(staffer.locator("table.arrivals")).to_have_count(0)  # nothing waits from below
