"""督办 in the web app (issue 18 item 7), on the in-memory network city > county > township >
village with each node's web app under TestClient: a city supervisor issues through the form, the
village answers through its form, the city reads the answer; bad input comes back beside its
field with nothing written; only a supervisor at a county or city hub issues; every form needs
its CSRF token; no party's name or order's text is ever in a URL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial

import httpx
import pytest
from fastapi.testclient import TestClient

from nodes.domain import commands as cmd
from nodes.store import supervision as orders
from nodes.web.app import create_app
from protocol.reference import EscalationReason
from tests.unit.test_outcomes import CITY, COUNTY, TOWNSHIP, VILLAGE, Net, escalated_case, net
from tests.unit.test_supervision import REASON, in_days, outbox_size, sup, village_case
from tests.unit.web_support import Site

__all__ = ["net"]
ANSWER = "已约张三、李四本周五再次调解"
LINKS = re.compile(r'(?:href|action)="([^"]+)"')


@pytest.fixture
def sites(net: Net) -> Iterator[dict[str, Site]]:
    with ExitStack() as stack:
        out = {}
        for code in (CITY, COUNTY, TOWNSHIP, VILLAGE):
            woken: list[int] = []
            app = create_app(net.nodes[code], on_commit=partial(woken.append, 1))
            client = stack.enter_context(TestClient(app, base_url="http://127.0.0.1"))
            out[code] = Site(net.nodes[code], client, net.clock, woken)
        yield out


def as_user(site: Site, name: str, roles: str) -> Site:
    site.add_user(name, roles)
    assert site.login(name) == 303
    site.english()
    return site


def issue(site: Site, **fields: str) -> httpx.Response:
    return site.post("/orders/new", fields, "/orders/new")


def form_of(case_id: str, **given: str) -> dict[str, str]:
    return {"case": case_id, "level": "supervise", "reason": REASON,
            "respond_by": given.pop("respond_by", "2026-03-12"), **given}


def urls(html: str) -> list[str]:
    return LINKS.findall(html)


def test_an_order_issued_through_the_form_is_answered_through_the_village_form(
        net: Net, sites: dict[str, Site]) -> None:
    case_id = village_case(net)
    city = as_user(sites[CITY], "督查甲", "supervisor")
    blank = city.client.get(f"/orders/new?case={case_id}")
    assert blank.status_code == 200
    assert f'value="{case_id}"' in blank.text  # the case id prefilled from the link
    assert f'value="{in_days(net, 7).isoformat()}"' in blank.text  # a week from today
    seen: list[str] = urls(blank.text)

    sent = issue(city, **form_of(case_id, respond_by=in_days(net, 10).isoformat()))
    assert sent.status_code == 303, sent.text
    (issued,) = orders.orders(net.nodes[CITY].store)
    assert sent.headers["location"] == f"/orders?issued={issued.order_id}#order-{issued.order_id}"
    assert city.woken == [1]  # the relay wakes to send the order down
    listed = city.client.get(sent.headers["location"])
    assert f"Order {issued.order_id} was issued on case {case_id}" in listed.text
    assert REASON in listed.text
    assert "waiting for the answer" in listed.text

    net.pump()
    village = as_user(sites[VILLAGE], "王芳", "mediator")
    today = village.client.get("/")
    assert "Supervision orders waiting for this node&#39;s answer: 1" in today.text
    assert 'href="/orders"' in today.text  # the navigation and the alert
    page = village.client.get("/orders")
    assert REASON in page.text
    assert f'action="/orders/{issued.order_id}/answer"' in page.text
    case_page = village.client.get(f"/cases/{case_id}")
    assert f'action="/orders/{issued.order_id}/answer"' in case_page.text
    assert '<input type="hidden" name="back" value="case">' in case_page.text

    empty = village.post(f"/orders/{issued.order_id}/answer", {"text": " ", "back": "orders"},
                         "/orders")
    assert empty.status_code == 400
    assert re.search(rf'id="answer-{issued.order_id}" name="text" rows="3" aria-invalid="true"',
                     empty.text)
    assert "write what was done" in empty.text
    held = orders.order(net.nodes[VILLAGE].store, issued.order_id)
    assert held is not None
    assert held.answered_at is None

    done = village.post(f"/orders/{issued.order_id}/answer", {"text": ANSWER, "back": "case"},
                        f"/cases/{case_id}")
    assert done.status_code == 303
    assert done.headers["location"] == f"/cases/{case_id}#order-{issued.order_id}"
    assert village.woken == [1]
    again = village.post(f"/orders/{issued.order_id}/answer", {"text": "又办", "back": "case"},
                         f"/cases/{case_id}")
    assert again.status_code == 409  # answered already: a stale form writes nothing
    assert "answered already" in again.text

    net.pump()
    back = city.client.get("/orders").text
    assert ANSWER in back
    assert "状元村" in back
    assert "answered" in back
    seen += urls(page.text) + urls(case_page.text) + urls(back) + urls(today.text)
    seen += [sent.headers["location"], done.headers["location"]]
    for url in seen:  # ids only: no party's name, no order's text
        assert not any(word in url for word in ("张三", "李四", "王芳", "督查", "调解")), url


@pytest.mark.parametrize(("given", "field", "sentence"), [
    ({"respond_by": "2026-03-02"}, "respond_by", "is not after today"),
    ({"respond_by": "2026-12-31"}, "respond_by", "at most 90 days away"),
    ({"respond_by": "next week"}, "respond_by", "Give the answer date as a date"),
    ({"reason": "  "}, "reason", "write what is to be done"),
    ({"case": "330781001001-2026-00001"}, "case", "is not in this hub"),
    ({"case": ""}, "case", "This field is required."),
    ({"level": "urgent"}, "level", "choose the level"),
])
def test_bad_input_comes_back_beside_its_field_and_nothing_is_written(
        net: Net, sites: dict[str, Site], given: dict[str, str], field: str,
        sentence: str) -> None:
    case_id = village_case(net)
    city = as_user(sites[CITY], "督查甲", "supervisor")
    before = outbox_size(net, CITY)
    answer = issue(city, **form_of(case_id, **given))
    assert answer.status_code == 400
    error = re.search(rf'<p class="problem" id="{field}-error">([^<]*)</p>', answer.text)
    assert error is not None, answer.text
    assert sentence in error.group(1)
    assert f'aria-describedby="{field}-error"' in answer.text
    for key, value in given.items():  # what was typed is kept
        if value.strip() and key != "level":
            assert value in answer.text
    assert orders.orders(net.nodes[CITY].store) == []
    assert outbox_size(net, CITY) == before
    assert city.woken == []


def test_the_city_does_not_order_a_case_it_holds(net: Net, sites: dict[str, Site]) -> None:
    case_id = escalated_case(net, up_to=COUNTY)
    county = as_user(sites[COUNTY], "督查乙", "supervisor")
    answer = issue(county, **form_of(case_id))
    assert answer.status_code == 400
    assert 'id="case-error"' in answer.text
    assert "holds the case itself" in answer.text


@pytest.mark.parametrize(("code", "roles"), [
    (CITY, "hub_staff"), (CITY, "leader"), (CITY, "auditor"), (TOWNSHIP, "supervisor")])
def test_only_a_supervisor_at_a_county_or_city_hub_issues(
        net: Net, sites: dict[str, Site], code: str, roles: str) -> None:
    case_id = village_case(net)
    site = as_user(sites[code], "某人", roles)
    assert site.client.get("/orders/new").status_code == 403
    refused = site.post("/orders/new", form_of(case_id), "/orders")
    assert refused.status_code == 403
    assert "Only a supervisor" in refused.text
    assert orders.orders(net.nodes[code].store) == []
    assert 'href="/orders/new"' not in site.client.get("/orders").text


def test_a_form_without_its_csrf_token_is_refused(net: Net, sites: dict[str, Site]) -> None:
    case_id = village_case(net)
    city = as_user(sites[CITY], "督查甲", "supervisor")
    refused = city.client.post("/orders/new", data=form_of(case_id), follow_redirects=False)
    assert refused.status_code == 403
    assert orders.orders(net.nodes[CITY].store) == []
    sup(net, CITY).issue(case_id, reason=REASON, respond_by=in_days(net, 5))
    net.pump()
    (held,) = orders.orders(net.nodes[VILLAGE].store)
    village = as_user(sites[VILLAGE], "王芳", "mediator")
    forged = village.client.post(f"/orders/{held.order_id}/answer", data={"text": ANSWER},
                                 follow_redirects=False)
    assert forged.status_code == 403
    row = orders.order(net.nodes[VILLAGE].store, held.order_id)
    assert row is not None
    assert row.answered_at is None


def test_a_reader_sees_the_order_but_does_not_answer(net: Net, sites: dict[str, Site]) -> None:
    case_id = village_case(net)
    order = sup(net, CITY).issue(case_id, reason=REASON, respond_by=in_days(net, 5))
    net.pump()
    village = as_user(sites[VILLAGE], "审计", "auditor")
    page = village.client.get("/orders").text
    assert REASON in page
    assert 'name="text"' not in page
    refused = village.post(f"/orders/{order.order_id}/answer", {"text": ANSWER}, "/orders")
    assert refused.status_code == 403


def test_listed_first_overdue_first_and_the_alerts(net: Net, sites: dict[str, Site]) -> None:
    first, second = village_case(net), village_case(net)
    late = sup(net, CITY).issue(first, reason="请三日内报告", respond_by=in_days(net, 2))
    listed = sup(net, CITY).issue(second, reason="挂牌督办此案", respond_by=in_days(net, 20),
                                  level="listed_supervision")
    plain = sup(net, CITY).issue(second, reason="一般督办", respond_by=in_days(net, 20))
    net.pump()
    net.clock.advance(days=3)
    city = as_user(sites[CITY], "督查甲", "supervisor")
    page = city.client.get("/orders").text
    where = [page.index(f'id="order-{o.order_id}"') for o in (listed, late, plain)]
    assert where == sorted(where)  # listed on top, then the overdue one, then the rest
    assert "listed supervision" in page
    assert "Orders issued here past their date without an answer: 1" in city.client.get(
        "/").text
    village = as_user(sites[VILLAGE], "王芳", "mediator")
    today = village.client.get("/").text
    assert "answer: 3" in today
    assert "(1 of them overdue)" in today
    held = village.client.get("/orders").text
    assert held.index(f'id="order-{late.order_id}"') < held.index(f'id="order-{plain.order_id}"')
    township = as_user(sites[TOWNSHIP], "李受理", "hub_staff")
    record = township.client.get("/orders").text  # passed on: in the small table
    assert 'class="cases orders-passed"' in record
    assert late.order_id in record
    assert "Supervision orders waiting" not in township.client.get("/").text


def test_an_automatic_answer_is_explained(net: Net, sites: dict[str, Site]) -> None:
    case_id = escalated_case(net, up_to=TOWNSHIP)
    sup(net, CITY).issue(case_id, reason=REASON, respond_by=in_days(net, 5))
    net.nodes[TOWNSHIP].service.act(case_id, lambda c, a, t: cmd.escalate(
        c, a, t, reason=EscalationReason.MAJOR_MATTER, consent_given=True))
    net.pump()
    city = as_user(sites[CITY], "督查甲", "supervisor")
    assert "the case had gone up from 状元镇" in city.client.get("/orders").text


def test_the_navigation_shows_supervision_only_where_it_matters(
        net: Net, sites: dict[str, Site]) -> None:
    nav = '<a href="/orders"'
    assert nav in as_user(sites[CITY], "领导", "leader").client.get("/cases").text
    village = as_user(sites[VILLAGE], "王芳", "mediator")
    assert nav not in village.client.get("/cases").text  # no order here yet
    case_id = village_case(net)
    sup(net, CITY).issue(case_id, reason=REASON, respond_by=in_days(net, 5))
    net.pump()
    assert nav in village.client.get("/cases").text


def test_a_handed_down_case_page_offers_the_order_form(net: Net, sites: dict[str, Site]) -> None:
    case_id = escalated_case(net, up_to=COUNTY)
    county_node = net.nodes[COUNTY]
    county_node.service.act(case_id, lambda c, a, t: cmd.hand_down(
        c, a, t, county_node.service.rules, instruction="请乡镇组织调解", report_back_days=15),
        role="hub_staff")
    net.pump()
    county = as_user(sites[COUNTY], "督查乙", "supervisor")
    page = county.client.get(f"/cases/{case_id}").text
    assert f'href="/orders/new?case={case_id}"' in page
    assert issue(county, **form_of(case_id)).status_code == 303
    net.pump()
    (held,) = orders.orders(net.nodes[TOWNSHIP].store)
    assert held.part == "held"
    assert f'id="order-{held.order_id}"' in county.client.get(f"/cases/{case_id}").text


def test_an_answer_to_an_order_not_held_here_is_404(net: Net, sites: dict[str, Site]) -> None:
    case_id = village_case(net)
    order = sup(net, CITY).issue(case_id, reason=REASON, respond_by=in_days(net, 5))
    net.pump()
    township = as_user(sites[TOWNSHIP], "李受理", "hub_staff")  # passed on: nothing to answer
    assert township.post(f"/orders/{order.order_id}/answer", {"text": ANSWER},
                         "/orders").status_code == 404
    assert township.post("/orders/nonesuch/answer", {"text": ANSWER}, "/orders").status_code == 404


def test_the_city_lists_a_countys_listed_order(net: Net, sites: dict[str, Site]) -> None:
    case_id = village_case(net)
    issued = sup(net, COUNTY).issue(case_id, reason=REASON, respond_by=in_days(net, 5),
                                    level="listed_supervision")
    net.pump()
    city = as_user(sites[CITY], "督查甲", "supervisor")
    html = city.client.get("/orders").text
    assert 'id="listed-h"' in html
    assert issued.order_id in html
    assert REASON not in html  # the city has the report, not the reason


def test_the_supervisors_page_brings_the_area_together(net: Net, sites: dict[str, Site]) -> None:
    """/supervision at the city: the subtree's overdue cases by tier and area, red flags, the
    listed orders and its own orders' status, with no order text; a village has no such page."""
    case_id = village_case(net)
    net.act(VILLAGE, case_id, lambda c, a, t: cmd.red_flag(c, a, t, note="扬言报复",
                                                           police_reported=True))
    listed = sup(net, CITY).issue(case_id, reason=REASON, respond_by=in_days(net, 5),
                                  level="listed_supervision")
    net.pump()
    net.clock.advance(days=30)  # its acceptance is late now
    net.nodes[VILLAGE].housekeep()
    net.pump()
    city = as_user(sites[CITY], "督查甲", "supervisor")
    html = city.client.get("/supervision").text
    for part in ('id="late-h"', 'id="red-h"', 'id="listed-h"', listed.order_id, case_id,
                 "risk-red"):
        assert part in html, part
    assert REASON not in html
    village = as_user(sites[VILLAGE], "王芳", "mediator")
    assert village.client.get("/supervision").status_code == 404
