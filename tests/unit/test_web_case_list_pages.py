"""The case list is paged (issue 17): PAGE rows a page, newest first, "next" and "previous"
links that keep the filters and hold nothing personal; a search shows at most PAGE rows."""

from __future__ import annotations

import pytest

from nodes.service import PartyInput
from nodes.web import case_list
from protocol.reference import CaseSource
from tests.unit.web_support import Site, site

__all__ = ["site"]


def made(site: Site, count: int) -> list[str]:
    """`count` cases, oldest first, each with the same applicant's name."""
    return [site.node.service.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                                       facts="院墙", parties=[PartyInput("applicant", "张三")]
                                       ).case_id for _ in range(count)]


def test_pages_of_rows_with_links_that_keep_the_filters(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    site.english()
    ids = made(site, 5)[::-1]  # newest first, as listed
    monkeypatch.setattr(case_list, "PAGE", 2)
    first = site.client.get("/cases?dispute_type=02").text
    assert [i in first for i in ids] == [True, True, False, False, False]
    assert "page 1 of 3" in first
    assert 'href="/cases?dispute_type=02&amp;page=2"' in first
    assert 'rel="prev"' not in first
    middle = site.client.get("/cases?dispute_type=02&page=2").text
    assert [i in middle for i in ids] == [False, False, True, True, False]
    assert 'href="/cases?dispute_type=02&amp;page=1"' in middle
    assert 'href="/cases?dispute_type=02&amp;page=3"' in middle
    last = site.client.get("/cases?dispute_type=02&page=3").text
    assert [i in last for i in ids] == [False, False, False, False, True]
    assert 'rel="next"' not in last
    assert site.client.get("/cases?dispute_type=02&page=99").text.count(ids[4]) >= 1  # last
    assert ids[0] in site.client.get("/cases?page=abc").text  # not a number: the first page
    assert "张三" not in first  # no name in the links (nor in the rows)


def test_a_search_shows_at_most_a_page(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    site.english()
    ids = made(site, 3)
    monkeypatch.setattr(case_list, "PAGE", 2)
    found = site.post("/cases/search", {"q": "张三"}, "/cases").text
    assert "3 cases found" in found
    assert "the newest 2 shown" in found
    assert sum(i in found for i in ids) == 2
    assert "page=" not in found  # the search is a POST: no link carries it
