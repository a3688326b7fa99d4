"""Today's lists are paged (issue 17): the count is every overdue case, the rows only the first
few, and a link opens the case list's overdue filter, which lists them all."""

from __future__ import annotations

import pytest

from nodes.cli.clock_render import due_within_ids, overdue_ids, running_clocks
from nodes.domain.case import local_date
from nodes.service import PartyInput
from nodes.web import today
from protocol.reference import CaseSource
from tests.unit.web_support import Site, site

__all__ = ["site"]


def test_today_shows_the_first_overdue_cases_and_links_to_all(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    site.english()
    made = [site.node.service.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                                       facts="院墙", parties=[PartyInput("applicant", "甲")]
                                       ).case_id for _ in range(3)]
    site.clock.advance(days=30)  # every acceptance clock is past its due date
    monkeypatch.setattr(today, "SHOWN", 1)
    html = site.client.get("/").text
    assert "Overdue (3)" in html
    assert sum(case_id in html for case_id in made) == 1
    assert 'href="/cases?overdue=1"' in html
    listed = site.client.get("/cases?overdue=1").text
    assert all(case_id in listed for case_id in made)
    monkeypatch.setattr(today, "SHOWN", 50)
    html = site.client.get("/").text
    assert all(case_id in html for case_id in made)
    assert 'href="/cases?overdue=1"' not in html


def test_today_counts_equal_replaying_every_case_across_dates(site: Site) -> None:
    """The counts come from the stored due dates; they must be what reading every case gives,
    and the rows shown come earliest due first."""
    site.add_user("wang", "mediator")
    site.login("wang")
    site.english()
    for _ in range(4):  # registered a few days apart: their clocks fall due on different days
        site.node.service.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                                   facts="院墙", parties=[PartyInput("applicant", "甲")])
        site.clock.advance(days=2)
    counts = set()
    for _ in range(8):
        now = local_date(site.clock.now())
        clocks = running_clocks(site.node.store.load_case, site.node.store.case_rows(),
                                site.node.service.rules)
        late = overdue_ids(clocks, now)
        soon = due_within_ids(clocks, now, today.DUE_SOON_DAYS) - late
        html = site.client.get("/").text
        listed = site.client.get("/cases?overdue=1").text  # the projection decides it too
        assert f"{len(late)} cases" in listed
        assert all(i in listed for i in late)
        assert f"Overdue ({len(late)})" in html
        assert f"Due within {today.DUE_SOON_DAYS} days ({len(soon)})" in html
        shown = sorted(late, key=lambda i: (min(c.due for c in clocks[i] if c.is_overdue(now)), i))
        assert [html.index(i) for i in shown] == sorted(html.index(i) for i in shown)
        counts.add((len(late), len(soon)))
        site.clock.advance(days=1)
    assert len(counts) > 2  # the dates tried move cases between the lists


def test_the_link_section_alone_and_a_lapsed_session_sends_the_window_to_login(
        site: Site) -> None:
    """The today page reloads its link section every minute (htmx): the part holds the
    section only; asked without a session it tells htmx to take the whole window to login."""
    site.add_user("wang", "mediator")
    site.login("wang")
    site.english()
    site.node.service.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts="院墙",
                               parties=[PartyInput("applicant", "甲")])
    part = site.client.get("/today/link")
    assert part.status_code == 200
    assert part.text.lstrip().startswith(("{#", "<section"))
    assert "<html" not in part.text
    assert 'id="link"' in part.text
    assert "waiting to be sent" in part.text
    site.client.cookies.clear()
    lapsed = site.client.get("/today/link", headers={"HX-Request": "true"})
    assert (lapsed.status_code, lapsed.headers["HX-Redirect"]) == (204, "/login")
    assert site.client.get("/today/link", follow_redirects=False).headers["location"] == "/login"
