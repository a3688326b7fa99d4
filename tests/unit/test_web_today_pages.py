"""Today's lists are paged (issue 17): the count is every overdue case, the rows only the first
few, and a link opens the case list's overdue filter, which lists them all."""

from __future__ import annotations

import pytest

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
