"""The grid worker's short report (/report): a report recorded in the worker's role with the
source a grid report and only role, name and phone of the parties, its number shown; a bad field
shown beside it with nothing written; a form without the session's token, or from a role that
records nothing, refused; the long form and the today page pointing to it."""

from __future__ import annotations

import re

from nodes.domain.states import CaseState
from tests.unit.web_support import Site, site

__all__ = ["site"]
PHONE = "13800138000"
GRID = "330106001001007"
REPORT = {"dispute_type": "02", "facts": "两家因院墙边界发生争执", "grid_id": GRID, "people": "3",
          "role_1": "applicant", "name_1": "张三", "phone_1": PHONE,
          "role_2": "respondent", "name_2": "李四", "phone_2": ""}
DONE = re.compile(r"^/report/done/(\d{12}-\d{4}-\d{5})$")


def grid_worker(site: Site, roles: str = "grid_worker") -> None:
    site.add_user("zhao", roles)
    site.login("zhao")
    site.english()


def test_a_grid_worker_reports_and_sees_the_case_number(site: Site) -> None:
    grid_worker(site)
    form = site.client.get("/report").text
    assert 'action="/report"' in form
    assert 'name="id_number_1"' not in form
    assert 'name="address_1"' not in form
    assert f'value="{GRID}"' not in form  # nothing remembered yet
    # fields the short form does not have are not taken, even if sent
    answer = site.post("/report", {**REPORT, "source": "application", "id_number_1":
                                   "11010519491231002X", "accusation": "1"}, "/report")
    assert answer.status_code == 303, answer.text[-800:]
    match = DONE.match(answer.headers["location"])
    assert match, answer.headers["location"]
    case = site.node.store.load_case(match.group(1))
    assert case is not None
    assert case.state is CaseState.REPORTED
    assert case.facts["source"] == "grid_report"
    assert (case.facts["dispute_type"], case.facts["grid_id"]) == ("02", GRID)
    assert case.facts["people_involved"] == 3
    assert not case.facts.get("accusation")
    assert (case.events[-1].actor_user, case.events[-1].actor_role) == ("zhao", "grid_worker")
    parties = site.node.store.parties(case.case_id)
    assert [(p.role, p.name, p.phone, p.id_number, p.address) for p in parties] == [
        ("applicant", "张三", PHONE, None, None), ("respondent", "李四", None, None, None)]
    assert site.woken  # the relay is woken
    done = site.client.get(answer.headers["location"])
    assert done.status_code == 200
    assert case.case_id in done.text
    assert 'href="/report"' in done.text
    assert f'href="/cases/{case.case_id}"' in done.text
    assert "张三" not in done.text
    assert PHONE not in done.text
    again = site.client.get("/report").text  # the grid is remembered for the next report
    assert f'id="grid_id" name="grid_id" inputmode="numeric" value="{GRID}"' in again


def test_bad_input_is_shown_beside_its_field_and_nothing_is_written(site: Site) -> None:
    grid_worker(site)
    answer = site.post("/report", {**REPORT, "dispute_type": "", "grid_id": "12345",
                                   "phone_1": "12345"}, "/report")
    assert answer.status_code == 400
    html = answer.text
    for field in ("dispute_type", "grid_id", "phone_1"):
        assert re.search(rf'class="problem" id="{field}-error">[^<]+<', html), field
        assert re.search(rf'id="{field}" name="{field}"[^>]*aria-invalid="true" '
                         rf'aria-describedby="{field}-error"', html), field
    assert "15 digits" in html
    assert 'id="facts-error"' not in html
    assert 'id="name_1-error"' not in html
    assert 'value="张三"' in html  # what was typed is kept
    assert "两家因院墙边界发生争执</textarea>" in html
    assert site.node.store.case_rows() == []
    nothing = site.post("/report", {**REPORT, "facts": "", "name_1": "", "phone_1": "",
                                    "name_2": ""}, "/report")
    assert nothing.status_code == 400
    assert re.search(r'id="facts-error">[^<]+<', nothing.text)
    assert re.search(r'id="name_1-error">[^<]+<', nothing.text)  # one party is needed
    assert site.node.store.case_rows() == []
    assert f'value="{GRID}"' not in site.client.get("/report").text  # nothing remembered


def test_a_grid_of_another_village_is_refused_beside_the_grid_id(site: Site) -> None:
    grid_worker(site)
    answer = site.post("/report", {**REPORT, "grid_id": "330106002001001"}, "/report")
    assert answer.status_code == 400
    assert re.search(r'id="grid_id-error">[^<]+<', answer.text)
    assert site.node.store.case_rows() == []


def test_a_report_without_the_sessions_token_is_refused(site: Site) -> None:
    grid_worker(site)
    for token in ({}, {"csrf_token": "forged"}):
        answer = site.client.post("/report", data={**REPORT, **token}, follow_redirects=False)
        assert answer.status_code == 403
    assert site.node.store.case_rows() == []


def test_a_role_that_records_nothing_is_refused(site: Site) -> None:
    site.add_user("audit", "auditor")
    site.login("audit")
    site.english()
    assert site.client.get("/report").status_code == 403
    answer = site.post("/report", REPORT, "/")
    assert answer.status_code == 403
    assert "may not record" in answer.text
    assert site.node.store.case_rows() == []
    assert 'href="/report"' not in site.client.get("/").text


def test_the_today_page_and_the_long_form_point_a_grid_worker_to_the_report(site: Site) -> None:
    grid_worker(site)
    assert 'href="/report"' in site.client.get("/").text
    assert 'href="/report"' in site.client.get("/cases/new").text
    site.client.cookies.clear()
    site.add_user("wang", "grid_worker,mediator")  # also deciding: the long form is theirs
    site.login("wang")
    assert 'href="/report"' in site.client.get("/").text
    assert 'href="/report"' not in site.client.get("/cases/new").text
