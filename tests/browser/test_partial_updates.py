"""htmx's partial updates in a real browser (issue 17): showing the parties' details replaces
only their section, and the case list's filters apply as they change, both without loading the
page again (a mark set on the window survives), and the filter lands in the address bar."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from nodes.store import users
from tests.browser.conftest import Station
from tests.browser.test_station_pages import new_case


def mark(page: Page) -> None:
    """A flag on the window: gone if the browser loads a whole page again."""
    page.evaluate("window.samePage = true")


def still_same_page(page: Page) -> bool:
    return bool(page.evaluate("window.samePage === true"))


def test_details_shown_in_place_and_recorded(station: Station, browser: Browser) -> None:
    station.add_user("王芳", "mediator")
    page = station.page(browser)
    station.login(page, "王芳")
    case_id = new_case(page, station.url)
    expect(page.locator("#parties")).not_to_contain_text("13800000000")
    before = len(users.access_log(station.node.store, case_id))
    mark(page)
    page.click("#parties form button")
    expect(page.locator("#parties")).to_contain_text("13800000000")
    assert still_same_page(page)
    after = users.access_log(station.node.store, case_id)
    assert len(after) == before + 1
    assert after[-1]["user"] == "王芳"


def test_filters_apply_as_they_change(station: Station, browser: Browser) -> None:
    station.add_user("王芳", "mediator")
    page = station.page(browser)
    station.login(page, "王芳")
    new_case(page, station.url)
    page.goto(f"{station.url}/cases")
    expect(page.locator("table.cases tbody tr")).to_have_count(1)
    mark(page)
    page.select_option("#state", "CLOSED")
    expect(page.locator("table.cases tbody tr")).to_have_count(0)
    assert still_same_page(page)
    assert "state=CLOSED" in page.url
    expect(page.locator("#state")).to_have_value("CLOSED")
