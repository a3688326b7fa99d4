"""The station's pages through their forms (issue 17): a case recorded and accepted, only the
steps the state and role allow, the law's refusal beside the form with nothing written, a bad
field shown beside it with nothing written, personal details masked until a recorded reveal,
and no personal data in URLs or titles."""

from __future__ import annotations

import re

import httpx

from nodes.domain.states import CaseState
from nodes.store import users
from tests.unit.web_support import Site, site

__all__ = ["site"]
PHONE = "13800138000"
ID_NUMBER = "11010519491231002X"
CASE = {"dispute_type": "01", "facts": "两家为宅基地边界争执", "source": "application",
        "role_1": "applicant", "name_1": "张三", "phone_1": PHONE, "id_number_1": ID_NUMBER,
        "address_1": "状元村5号", "role_2": "respondent", "name_2": "李四"}


def new_case(site: Site, **changes: str) -> str:
    answer = site.post("/cases/new", {**CASE, **changes}, "/cases/new")
    assert answer.status_code == 303, answer.text[-800:]
    return answer.headers["location"]


def seq_of(html: str) -> str:
    match = re.search(r'name="seq" value="(\d+)"', html)
    assert match
    return match.group(1)


def step(site: Site, url: str, action: str, **fields: str) -> httpx.Response:
    page = site.client.get(url).text
    return site.post(f"{url}/act/{action}", {"seq": seq_of(page), **fields}, url)


def test_a_case_is_recorded_and_accepted_through_the_forms(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    url = new_case(site)
    case_id = url.rsplit("/", 1)[1]
    case = site.node.store.load_case(case_id)
    assert case is not None
    assert case.state is CaseState.REGISTERED
    assert case.events[-1].actor_user == "wang"
    assert case.events[-1].actor_role == "mediator"
    assert site.woken  # the relay is woken by a commit made through the web
    page = site.client.get(url).text
    assert "act/accept" in page
    assert "act/agree" not in page
    answer = step(site, url, "accept", consent="1")
    assert answer.status_code == 303
    case = site.node.store.load_case(case_id)
    assert case is not None
    assert case.state is CaseState.ACCEPTED
    assert case.events[-1].actor_user == "wang"
    assert "act/mediate" in site.client.get(url).text


def test_the_laws_refusal_is_shown_beside_the_form_and_nothing_is_written(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    site.english()
    url = new_case(site)
    case_id = url.rsplit("/", 1)[1]
    before = site.node.store.load_case(case_id).seq  # type: ignore[union-attr]
    answer = step(site, url, "accept")  # no consent recorded, none given
    assert answer.status_code == 400
    assert 'class="problem"' in answer.text
    assert "consent" in answer.text
    assert site.node.store.load_case(case_id).seq == before  # type: ignore[union-attr]


def test_a_stale_form_writes_nothing(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    url = new_case(site)
    stale = seq_of(site.client.get(url).text)
    assert step(site, url, "accept", consent="1").status_code == 303
    answer = site.post(f"{url}/act/red_flag", {"seq": stale, "note": "x",
                                               "police_reported": "1"}, url)
    assert answer.status_code == 409
    case = site.node.store.load_case(url.rsplit("/", 1)[1])
    assert case is not None
    assert not case.red_flag


def test_a_grid_worker_cannot_accept(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.add_user("zhao", "grid_worker")
    site.login("wang")
    url = new_case(site)
    site.client.cookies.clear()
    site.login("zhao")
    assert "act/accept" not in site.client.get(url).text
    answer = step(site, url, "accept", consent="1")
    assert answer.status_code == 403
    case = site.node.store.load_case(url.rsplit("/", 1)[1])
    assert case is not None
    assert case.state is CaseState.REGISTERED


def test_a_bad_field_is_shown_beside_it_and_nothing_is_written(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    site.english()
    answer = site.post("/cases/new", {**CASE, "id_number_1": "110105194912310021",
                                      "grid_id": "12"}, "/cases/new")
    assert answer.status_code == 400
    html = answer.text
    assert 'id="id_number_1" name="id_number_1"' in html
    assert re.search(r'id="id_number_1-error">[^<]+<', html)
    assert re.search(r'id="grid_id-error">[^<]+<', html)
    assert 'value="两家为宅基地边界争执"' not in html
    assert "两家为宅基地边界争执" in html
    assert site.node.store.case_rows() == []


def test_parties_are_masked_until_a_recorded_reveal(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.add_user("audit", "auditor")
    site.login("wang")
    url = new_case(site)
    case_id = url.rsplit("/", 1)[1]
    page = site.client.get(url).text
    assert PHONE not in page
    assert ID_NUMBER not in page
    assert "状元村5号" not in page
    assert "••••8000" in page
    assert users.access_log(site.node.store) == []
    shown = site.post(f"{url}/reveal", {}, url)
    assert shown.status_code == 200
    assert PHONE in shown.text
    assert ID_NUMBER in shown.text
    assert shown.headers["cache-control"] == "no-store"
    log = users.access_log(site.node.store)
    assert [(r["user"], r["role"], r["case_id"]) for r in log] == [("wang", "mediator", case_id)]
    assert PHONE not in str(log)
    assert "张三" not in str(log)
    site.client.cookies.clear()
    site.login("audit")
    assert "reveal" not in site.client.get(url).text
    assert site.post(f"{url}/reveal", {}, url).status_code == 403
    assert "act/" not in site.client.get(url).text  # an auditor records nothing
    assert len(users.access_log(site.node.store)) == 1


def test_no_personal_data_in_urls_or_titles(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    url = new_case(site)
    found = site.post("/cases/search", {"q": "张三"}, "/cases")
    assert found.status_code == 200
    assert url.rsplit("/", 1)[1] in found.text
    nothing = site.post("/cases/search", {"q": "王五"}, "/cases")
    assert url.rsplit("/", 1)[1] not in nothing.text
    for page in (url, "/", "/cases", "/cases?overdue=1"):
        html = site.client.get(page).text
        title = re.search(r"<title>(.*?)</title>", html)
        hrefs = re.findall(r'(?:href|action)="([^"]+)"', html)
        assert title
        assert "张三" not in title.group(1)
        assert PHONE not in title.group(1)
        for value in ("张三", "李四", PHONE, ID_NUMBER):
            assert all(value not in h for h in hrefs)


def test_case_list_filters_by_state_and_red_flag(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    first, second = new_case(site), new_case(site, name_1="王五", phone_1="", id_number_1="")
    assert step(site, second, "red_flag", note="扬言报复", police_reported="1").status_code == 303
    flagged = site.client.get("/cases?red_flag=1").text
    assert second.rsplit("/", 1)[1] in flagged
    assert first.rsplit("/", 1)[1] not in flagged
    accepted = site.client.get("/cases?state=ACCEPTED").text
    assert first.rsplit("/", 1)[1] not in accepted
    assert second.rsplit("/", 1)[1] in site.client.get("/").text  # today: its red flag
