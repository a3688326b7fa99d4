"""The accessibility audit (issue 17 item 6): axe-core, vendored for the tests only
(tests/browser/vendor/, MPL-2.0, its licence beside it), runs in Chromium on every page of a
village and its township: login, today, case list, new case (empty and with errors), the grid
worker's short report (empty, with errors, sent), the case page in several states, every
printable document, the hub's today, case and flow pages, and 督办: the county supervisor's
orders page and issue form (empty and with errors), the village's orders to answer. No
violation of impact serious or critical may be found.

The app's CSP allows no inline script and `page.add_script_tag(path=...)` inlines the file, so
the browser refuses it; axe is given to every page as an init script instead
(`context.add_init_script`, run by the browser's debugging protocol, which the CSP does not
govern). The app's own CSP stays on: nothing is bypassed for the pages' own scripts."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route

import fengqiao.bootstrap  # noqa: F401 - the composition root adds the hub's flow page
from fengqiao.bootstrap import bootstrap
from nodes.domain import commands as cmd
from nodes.domain import paths
from nodes.domain.case import Case
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from nodes.service import PartyInput
from nodes.store import users
from nodes.web.accounts import hash_password
from nodes.web.server import WebServer
from protocol.reference import CaseSource, EscalationReason
from tests.browser.conftest import PASSWORD, free_port
from tests.support.clock import FakeClock
from tests.support.nodes import build_node

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
VILLAGE, TOWNSHIP, COUNTY = "330106001001", "330106001000", "330106000000"
SEVERE = {"serious", "critical"}
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " " + n.failureSummary)}));
}"""


@dataclass
class Net:
    nodes: dict[str, Node]
    urls: dict[str, str]
    cases: dict[str, str] = field(default_factory=dict)  # what it shows -> case id
    outside: list[str] = field(default_factory=list)

    def pump(self) -> None:
        while sum(n.publish() for n in self.nodes.values()) + sum(
                n.consume() for n in self.nodes.values()):
            pass


def _new(node: Node) -> str:
    return node.service.new_case(
        source=CaseSource.APPLICATION, dispute_type="02", facts="两家因院墙边界发生争执",
        parties=[PartyInput("applicant", "张三", None, "13800000000", "状元村3组"),
                 PartyInput("respondent", "李四")], people_involved=2).case_id


def _prepare(net: Net) -> None:
    """Cases in the states the pages differ by; one escalated and handed down."""
    village, township = net.nodes[VILLAGE], net.nodes[TOWNSHIP]
    rules = village.service.rules
    net.cases["registered"] = _new(village)

    def agreed(case: Case, actor: Any, at: Any) -> None:
        paths.accept_with_consent(case, actor, at, rules)
        cmd.mediate(case, actor, at, rules)
        cmd.agree(case, actor, at, rules, form="written", terms="李四拆除越界院墙，赔偿张三800元",
                  effective_date=at.date(),
                  performance=[{"what": "赔偿800元", "due": (at.date() + timedelta(days=30))
                                .isoformat()}], signed_by_all=True,
                  sealed=True, manner="现金", place="村委会")
        cmd.perform(case, actor, at)
        paths.follow_up(case, actor, at, honoured=True, note="回访确认已履行")
    net.cases["followed_up"] = _new(village)
    village.service.act(net.cases["followed_up"], agreed)

    def ended(case: Case, actor: Any, at: Any) -> None:
        paths.accept_with_consent(case, actor, at, rules)
        cmd.mediate(case, actor, at, rules)
        cmd.red_flag(case, actor, at, note="一方扬言报复", police_reported=True)
        cmd.terminate(case, actor, at, reason="未达成协议", remedies_notified=True)
    net.cases["terminated"] = _new(village)
    village.service.act(net.cases["terminated"], ended)

    def escalated(case: Case, actor: Any, at: Any) -> None:
        paths.accept_with_consent(case, actor, at, rules)
        cmd.escalate(case, actor, at, reason=EscalationReason.NO_AGREEMENT, consent_given=True,
                     note="村里调解不成")
    for name in ("arrived", "handed_down"):
        net.cases[name] = _new(village)
        village.service.act(net.cases[name], escalated)
    net.pump()
    township.service.act(net.cases["handed_down"], lambda case, actor, at: cmd.hand_down(
        case, actor, at, township.service.rules, instruction="请村调委会组织现场勘查后调解",
        report_back_days=15), role="hub_staff")
    net.pump()
    supervision = net.nodes[COUNTY].supervision
    assert supervision is not None
    supervision.issue(net.cases["registered"], reason="请于一周内组织调解并报告进展",
                      respond_by=township.clock.now().date() + timedelta(days=7), user="赵督查")
    net.pump()


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    broker, clock = MemoryBroker(), FakeClock()
    nodes, servers, urls = {}, [], {}
    for code, user, roles in ((VILLAGE, "王芳", "mediator,station_head"),
                              (TOWNSHIP, "李受理", "hub_staff"),
                              (COUNTY, "赵督查", "supervisor")):
        port = free_port()
        node = build_node(tmp_path, code, broker=broker, clock=clock,
                          web={"listen": f"127.0.0.1:{port}"})
        users.add_user(node.store, user, roles, hash_password(PASSWORD), clock.now())
        nodes[code], urls[code] = node, f"http://127.0.0.1:{port}"
    found = Net(nodes, urls)
    _prepare(found)
    try:
        for node in nodes.values():
            server = WebServer(node.config, partial(bootstrap, node.config, clock=clock,
                                                    broker=broker))
            server.start()
            servers.append(server)
        yield found
    finally:
        for server in servers:
            server.stop()
        for node in nodes.values():
            node.close()
    assert found.outside == [], f"requests left 127.0.0.1: {found.outside}"


def _page(net: Net, browser: Browser, width: int = 1280) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    context.add_init_script(path=str(AXE))

    def guard(route: Route) -> None:
        if urllib.parse.urlsplit(route.request.url).hostname != "127.0.0.1":
            net.outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()
    context.route("**/*", guard)
    return context.new_page()


def _login(page: Page, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("form[action=\"/login\"] button")
    page.wait_for_url(lambda u: "/login" not in u)


def _audit(page: Page, where: str) -> list[str]:
    """The serious and critical violations on the page now open, one line each."""
    found = page.evaluate(RUN_AXE)
    return [f"{where}: {v['id']} ({v['impact']}) {v['help']}: {v['nodes']}"
            for v in found if v["impact"] in SEVERE]


def test_no_page_has_a_serious_or_critical_violation(net: Net, browser: Browser) -> None:
    problems: list[str] = []
    village, township = net.urls[VILLAGE], net.urls[TOWNSHIP]
    for width in (1280, 375):
        page = _page(net, browser, width)
        page.goto(f"{village}/login")
        problems += _audit(page, f"login@{width}")
        _login(page, village, "王芳")
        pages = ["/", "/cases", "/cases/new", "/report", "/users", "/account/password", "/orders",
                 *(f"/cases/{net.cases[n]}" for n in ("registered", "followed_up", "terminated",
                                                      "handed_down"))]
        for path in pages:
            page.goto(f"{village}{path}")
            problems += _audit(page, f"village {path}@{width}")
        page.goto(f"{village}/cases/new")
        with page.expect_navigation():
            page.click("form.wide button.primary")  # nothing filled in: the errors beside fields
        problems += _audit(page, f"village new case with errors@{width}")
        page.goto(f"{village}/report")
        with page.expect_navigation():
            page.click("form.grid-report button.primary")  # the short report, empty
        problems += _audit(page, f"village report with errors@{width}")
        page.select_option("#dispute_type", "02")
        page.fill("#facts", "两家因院墙边界发生争执")
        page.fill("#name_1", "张三")
        with page.expect_navigation():
            page.click("form.grid-report button.primary")
        assert "/report/done/" in page.url, page.url
        problems += _audit(page, f"village report sent@{width}")
        page.context.close()
    page = _page(net, browser)
    _login(page, village, "王芳")
    for name in ("followed_up", "terminated"):
        page.goto(f"{village}/cases/{net.cases[name]}")
        links = page.locator("section.documents a")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert hrefs, f"no document to print for the {name} case"
        for href in hrefs:
            page.goto(f"{village}{href}")
            problems += _audit(page, f"village {href}")
    page.context.close()
    page = _page(net, browser)
    _login(page, township, "李受理")
    for path in ("/", "/flow", "/cases", f"/cases/{net.cases['arrived']}",
                 f"/cases/{net.cases['handed_down']}",
                 f"/cases/{net.cases['handed_down']}/print/hand_down", "/orders", "/supervision"):
        page.goto(f"{township}{path}")
        problems += _audit(page, f"township {path}")
    page.context.close()
    page = _page(net, browser)
    county = net.urls[COUNTY]
    _login(page, county, "赵督查")
    for path in ("/", "/orders", "/supervision", f"/orders/new?case={net.cases['arrived']}"):
        page.goto(f"{county}{path}")
        problems += _audit(page, f"county {path}")
    page.fill("#respond_by", "2020-01-01")
    with page.expect_navigation():
        page.click("form.wide button.primary")  # no reason, a past date: errors beside fields
    assert page.locator("[aria-invalid=true]").count() >= 1
    problems += _audit(page, "county issue form with errors")
    page.context.close()
    assert problems == [], "\n".join(problems)


def test_the_audit_finds_a_field_without_its_label(net: Net, browser: Browser) -> None:
    """The audit can fail: the new-case form with one label taken away is reported."""
    page = _page(net, browser)
    _login(page, net.urls[VILLAGE], "王芳")
    page.goto(f"{net.urls[VILLAGE]}/cases/new")
    assert _audit(page, "new case") == []
    page.evaluate("document.querySelector('label[for=facts]').remove()")
    found = _audit(page, "new case without a label")
    assert any("label" in line and "#facts" in line for line in found), found
    page.context.close()
