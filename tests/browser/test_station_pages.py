"""A mediator's day in a real browser (issue 17): log in, record a case with two parties, accept
with the parties' consent, mediate, record a written agreement (and print it: the terms on the
sheet, no navigation on paper), follow up and close; a grid
worker on a 375-px phone reports a case with the short form (/report) and is offered no
decision; bad input is shown beside its field with nothing written. No request leaves
127.0.0.1 (the `station` fixture's guard)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from nodes.store import users
from tests.browser.conftest import Station, open_step

TERMS = "李四拆除越界院墙，赔偿张三800元"
CASE_URL = re.compile(r"/cases/(\d{12}-\d{4}-\d{5})$")
REPORTED = re.compile(r"/report/done/(\d{12}-\d{4}-\d{5})$")


def no_sideways_scroll(page: Page) -> bool:
    """The page fits a 375-px phone: nothing to scroll sideways."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= 375"))


def submit(page: Page, step: str) -> None:
    """Send the case page's small form of one step, and wait for the page it leads to."""
    open_step(page, step)
    with page.expect_navigation():
        page.click(f"#step-{step} button")


def new_case(page: Page, url: str) -> str:
    page.goto(f"{url}/cases/new")
    page.select_option("#dispute_type", "02")
    page.fill("#facts", "两家因院墙边界发生争执")
    page.select_option("#role_1", "applicant")
    page.fill("#name_1", "张三")
    page.fill("#phone_1", "13800000000")
    page.select_option("#role_2", "respondent")
    page.fill("#name_2", "李四")
    with page.expect_navigation():
        page.click("form.wide button.primary")
    match = CASE_URL.search(page.url)
    assert match, page.url
    return match.group(1)


def written_agreement(page: Page) -> None:
    """From a registered case's page: accept with consent, mediate, record a written agreement."""
    open_step(page, "accept")
    page.check("#accept-consent")
    submit(page, "accept")
    expect(page.locator("p.state")).to_contain_text("已受理")
    submit(page, "mediate")
    open_step(page, "agree")
    page.select_option("#agree-form", "written")
    page.fill("#agree-terms", TERMS)
    page.fill("#agree-perform_what", "赔偿800元")
    page.fill("#agree-perform_due", "2026-03-20")
    page.fill("#agree-manner", "现金")
    page.fill("#agree-place", "村委会")
    page.check("#agree-signed")
    page.check("#agree-sealed")
    submit(page, "agree")


def test_a_mediator_records_mediates_agrees_and_closes(station: Station, browser: Browser) -> None:
    station.add_user("王芳", "mediator")
    page = station.page(browser)
    station.login(page, "王芳")
    case_id = new_case(page, station.url)
    assert "张三" not in page.title()  # no personal data in page titles
    expect(page.locator("p.state")).to_contain_text("已登记")

    written_agreement(page)
    expect(page.locator("p.state")).to_contain_text("已达成协议")
    expect(page.locator("body")).to_contain_text("李四拆除越界院墙，赔偿张三800元")
    submit(page, "perform")
    open_step(page, "follow_up")
    page.select_option("#follow_up-honoured", "yes")
    submit(page, "follow_up")
    submit(page, "close")
    expect(page.locator("p.state")).to_contain_text("已结案")

    case = station.node.store.load_case(case_id)
    assert case is not None
    assert str(case.state) == "CLOSED"
    assert {e.actor_role for e in case.events} == {"mediator"}
    assert [p.name for p in station.node.store.parties(case_id)] == ["张三", "李四"]
    expect(page.locator("body")).not_to_contain_text("13800000000")  # masked by default


def test_a_refused_step_says_why_beside_its_form_and_writes_nothing(
        station: Station, browser: Browser) -> None:
    station.add_user("王芳", "mediator")
    page = station.page(browser)
    station.login(page, "王芳")
    case_id = new_case(page, station.url)
    submit(page, "accept")  # without the parties' consent
    expect(page.locator("#step-accept .problem")).to_contain_text("同意")
    case = station.node.store.load_case(case_id)
    assert case is not None
    assert str(case.state) == "REGISTERED"


def test_bad_input_is_shown_beside_the_field_and_nothing_is_written(
        station: Station, browser: Browser) -> None:
    station.add_user("王芳", "mediator")
    page = station.page(browser)
    station.login(page, "王芳")
    page.goto(f"{station.url}/cases/new")
    page.select_option("#dispute_type", "02")
    page.fill("#name_1", "张三")
    page.fill("#phone_1", "12345")
    with page.expect_navigation():
        page.click("form.wide button.primary")
    expect(page.locator("#facts-error")).to_be_visible()
    expect(page.locator("#phone_1-error")).to_be_visible()
    expect(page.locator("#name_1")).to_have_value("张三")  # what was typed is kept
    assert station.node.store.case_rows() == []


def test_a_grid_worker_reports_from_a_phone_and_decides_nothing(
        station: Station, browser: Browser) -> None:
    station.add_user("赵网格", "grid_worker")
    page = station.page(browser, width=375)
    station.login(page, "赵网格")
    with page.expect_navigation():
        page.click("main a[href='/report']")  # the short report, from the today page
    assert no_sideways_scroll(page), "the report form is wider than a 375-px phone"
    page.select_option("#dispute_type", "02")
    page.fill("#facts", "两家因院墙边界发生争执")
    page.fill("#grid_id", "330106001001003")
    page.fill("#name_1", "张三")
    page.fill("#phone_1", "12345")
    page.fill("#name_2", "李四")
    with page.expect_navigation():
        page.click("form.grid-report button.primary")
    expect(page.locator("#phone_1-error")).to_be_visible()  # beside the field, nothing written
    assert station.node.store.case_rows() == []
    assert no_sideways_scroll(page), "the report form with a problem is wider than the phone"
    page.fill("#phone_1", "13800000000")
    with page.expect_navigation():
        page.click("form.grid-report button.primary")
    match = REPORTED.search(page.url)
    assert match, page.url
    case_id = match.group(1)
    expect(page.locator(".case-number")).to_contain_text(case_id)  # the number, to write down
    assert no_sideways_scroll(page), "the confirmation is wider than a 375-px phone"
    case = station.node.store.load_case(case_id)
    assert case is not None
    assert (case.facts["source"], case.events[-1].actor_role) == ("grid_report", "grid_worker")
    with page.expect_navigation():
        page.click(f"main a[href='/cases/{case_id}']")
    assert no_sideways_scroll(page), "the case page is wider than a 375-px phone"
    assert page.locator("#step-accept").count() == 0  # a grid worker may not accept
    expect(page.locator("#step-red_flag")).to_have_count(1)
    page.goto(f"{station.url}/report")
    expect(page.locator("#grid_id")).to_have_value("330106001001003")  # the grid is remembered
    page.goto(f"{station.url}/cases/new")
    expect(page.locator("form.wide a[href='/report']")).to_be_visible()  # the long form points on
    assert no_sideways_scroll(page), "the new-case form is wider than a 375-px phone"


def test_the_agreement_prints_with_its_terms_and_without_the_navigation(
        station: Station, browser: Browser) -> None:
    station.add_user("王芳", "mediator")
    page = station.page(browser)
    station.login(page, "王芳")
    case_id = new_case(page, station.url)
    written_agreement(page)
    with page.expect_navigation():
        page.click(f"a[href='/cases/{case_id}/print/agreement']")
    paper = page.locator("article.paper")
    expect(paper).to_contain_text("李四拆除越界院墙，赔偿张三800元")
    expect(paper).to_contain_text("13800000000")  # the paper shows the parties in full
    expect(paper.locator("p.sign")).to_have_count(3)  # both parties and the mediator
    assert "张三" not in page.title()
    expect(page.locator("button.print-now")).to_be_visible()  # static/print.js shows it
    expect(page.locator("header.top nav")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator(".print-bar")).to_be_hidden()
    expect(paper).to_be_visible()
    log = users.access_log(station.node.store)
    assert [(r["user"], r["case_id"], r["what"]) for r in log] == [
        ("王芳", case_id, "print:agreement")]
