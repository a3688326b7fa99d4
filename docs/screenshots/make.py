"""Make the README's screenshots: a sample village in Debian's Chromium (sample data only).

    .venv/bin/python docs/screenshots/make.py      # writes docs/screenshots/*.png
"""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from fengqiao.bootstrap import bootstrap
from nodes.config import NodeConfig
from nodes.crypto import new_key
from nodes.messaging.memory import MemoryBroker
from nodes.store import users
from nodes.web.accounts import hash_password
from nodes.web.server import WebServer

OUT = Path(__file__).parent
PASSWORD = "sample-2026"  # noqa: S105 - a sample account on a throw-away file


def port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def step(page: Page, name: str) -> None:
    details = page.locator(f"#step-{name}")
    if details.get_attribute("open") is None:  # folded under its name: a click unfolds it
        details.locator("summary").click()
    with page.expect_navigation():
        page.click(f"#step-{name} button")


def main() -> None:
    folder, listen = Path(tempfile.mkdtemp(prefix="fengqiao-shots-")), port()
    config = NodeConfig(node_id="330681111242", tier="village", name="状元村（示例）",
                        database=folder / "node.db", broker_url="memory://",
                        identity_key="sample-identity-key-000001", data_key=new_key(),
                        identity_cost="test", declare_topology=True,
                        web={"listen": f"127.0.0.1:{listen}"})
    broker = MemoryBroker()
    staff = bootstrap(config, broker=broker)
    users.add_user(staff.store, "王芳", "mediator", hash_password(PASSWORD), staff.clock.now())
    server = WebServer(config, lambda: bootstrap(config, broker=broker))
    server.start()
    url = f"http://127.0.0.1:{listen}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1200, "height": 800}, locale="zh-CN")
            page.goto(f"{url}/login")
            page.fill("#name", "王芳")
            page.fill("#password", PASSWORD)
            with page.expect_navigation():
                page.click('form[action="/login"] button')
            page.goto(f"{url}/cases/new")
            page.select_option("#dispute_type", "02")
            page.fill("#facts", "（示例）两家因院墙边界发生争执")
            page.fill("#name_1", "张某（示例）")
            page.fill("#phone_1", "13800000000")
            page.select_option("#role_2", "respondent")
            page.fill("#name_2", "李某（示例）")
            with page.expect_navigation():
                page.click("form.wide button.primary")
            if page.locator("#step-accept").get_attribute("open") is None:
                page.click("#step-accept > summary")
            page.check("#accept-consent")
            step(page, "accept")
            page.screenshot(path=str(OUT / "case-page.png"), full_page=True)
            page.goto(f"{url}/")
            page.screenshot(path=str(OUT / "today.png"), full_page=True)
            phone = browser.new_page(viewport={"width": 375, "height": 800}, locale="zh-CN")
            phone.context.add_cookies(page.context.cookies())
            phone.goto(f"{url}/report")
            phone.screenshot(path=str(OUT / "report-375px.png"), full_page=True)
            browser.close()
    finally:
        server.stop()
        staff.close()


if __name__ == "__main__":
    main()
