"""The case page's further forms, the case list's filters and short numbers, and the new case
form's accusation and extra party rows (issue 17 item 3): each form recorded through the web,
the law's refusal beside it with nothing written, stale forms refused."""

from __future__ import annotations

import re
from datetime import datetime

from nodes.domain.states import Action, CaseState
from nodes.store import users
from tests.unit.test_web_cases import CASE, PHONE, new_case, seq_of, step
from tests.unit.web_support import Site, site

__all__ = ["site"]
NEW_PHONE = "13900139000"


def mediator(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    site.english()


def seq(site: Site, url: str) -> int:
    case = site.node.store.load_case(url.rsplit("/", 1)[1])
    assert case is not None
    return case.seq


def refused_beside(site: Site, url: str, action: str, status: int = 400,
                   **fields: str) -> str:
    """Post `action`; it must be refused with a sentence and write nothing. Returns the page."""
    before = seq(site, url)
    answer = step(site, url, action, **fields)
    assert answer.status_code == status, answer.text[-600:]
    assert re.search(r'class="problem"[^>]*>[^<]+<', answer.text)
    assert seq(site, url) == before
    return answer.text


def agreed(site: Site, form: str = "oral") -> str:
    url = new_case(site)
    assert step(site, url, "accept", consent="1").status_code == 303
    assert step(site, url, "mediate").status_code == 303
    written = {"signed": "1", "sealed": "1", "manner": "转账", "place": "村委会",
               "perform_what": "付款", "perform_due": "2026-03-20"} \
        if form == "written" else {}
    assert step(site, url, "agree", form=form, terms="赔偿500元", **written).status_code == 303
    return url


def test_consent_per_party_and_a_refusal_needs_the_remedies_told(site: Site) -> None:
    mediator(site)
    url = new_case(site)
    page = site.client.get(url).text
    assert 'id="consent-party"' in page
    assert '<option value="2"' in page  # the case's parties to choose from
    assert step(site, url, "consent", party="1", answer="consent",
                scope="mediation").status_code == 303
    case = site.node.store.load_case(url.rsplit("/", 1)[1])
    assert case is not None
    assert case.events[-1].action is Action.CONSENT
    assert (case.events[-1].data["party"], case.events[-1].data["parties"]) == (1, 2)
    html = refused_beside(site, url, "consent", party="2", answer="refuse", scope="mediation")
    assert "other routes" in html
    assert step(site, url, "consent", party="2", answer="refuse", scope="mediation",
                remedies_notified="1").status_code == 303
    case = site.node.store.load_case(url.rsplit("/", 1)[1])
    assert case is not None
    assert case.state is not CaseState.REGISTERED  # the refusal ended it before acceptance


def test_the_parties_choice_of_mediator_and_session(site: Site) -> None:
    mediator(site)
    url = new_case(site)
    refused_beside(site, url, "choice")  # neither a mediator nor a session
    assert step(site, url, "choice", mediator="李调解员", session="private").status_code == 303
    case = site.node.store.load_case(url.rsplit("/", 1)[1])
    assert case is not None
    assert case.events[-1].data == {"mediator": "李调解员", "session": "private"}


def test_an_extension_needs_both_parties_consent(site: Site) -> None:
    mediator(site)
    url = new_case(site)
    assert "act/extend" not in site.client.get(url).text  # not before acceptance
    assert step(site, url, "accept", consent="1").status_code == 303
    assert "act/extend" in site.client.get(url).text
    refused_beside(site, url, "extend", days="15")
    refused_beside(site, url, "extend", days="zero", both_consent="1")
    assert step(site, url, "extend", days="15", both_consent="1").status_code == 303
    case = site.node.store.load_case(url.rsplit("/", 1)[1])
    assert case is not None
    assert case.events[-1].action is Action.EXTEND


def test_judicial_confirmation_apply_and_result(site: Site) -> None:
    mediator(site)
    url = agreed(site, "written")
    page = site.client.get(url).text
    assert "act/jc_apply" in page
    refused_beside(site, url, "jc_result", result="confirmed")  # nothing applied for yet
    assert step(site, url, "jc_apply").status_code == 303
    assert step(site, url, "jc_result", result="confirmed").status_code == 303
    case = site.node.store.load_case(url.rsplit("/", 1)[1])
    assert case is not None
    assert case.events[-1].action is Action.JC_RESULT
    assert case.events[-1].data["confirmed"] is True


def test_judicial_confirmation_after_its_window_is_refused(site: Site) -> None:
    mediator(site)
    url = agreed(site, "written")
    site.clock.advance(days=40)
    assert "closed on" in refused_beside(site, url, "jc_apply")


def test_a_breach_needs_what_was_not_done(site: Site) -> None:
    mediator(site)
    url = agreed(site)
    refused_beside(site, url, "breach", reason="")
    assert step(site, url, "breach", reason="未按期付款").status_code == 303
    case = site.node.store.load_case(url.rsplit("/", 1)[1])
    assert case is not None
    assert case.state is CaseState.BREACHED


def test_report_up_only_when_a_tier_above_waits(site: Site) -> None:
    mediator(site)
    url = new_case(site)
    assert step(site, url, "accept", consent="1").status_code == 303
    assert "act/report_up" not in site.client.get(url).text
    html = refused_beside(site, url, "report_up", text="已调解两次")
    assert "nobody to report to" in html


def test_a_correction_of_facts_and_of_a_partys_phone(site: Site) -> None:
    mediator(site)
    url = new_case(site)
    case_id = url.rsplit("/", 1)[1]
    refused_beside(site, url, "correct", facts="两家为院墙边界争执")  # no reason
    refused_beside(site, url, "correct", phone=NEW_PHONE, reason="记错")  # which party?
    refused_beside(site, url, "correct", party="1", phone=PHONE, reason="记错")  # the same
    assert step(site, url, "correct", facts="两家为院墙边界争执",
                reason="听错了").status_code == 303
    assert step(site, url, "correct", party="1", phone=NEW_PHONE,
                reason="号码记错").status_code == 303
    case = site.node.store.load_case(case_id)
    assert case is not None
    assert case.facts["facts"] == "两家为院墙边界争执"
    assert case.events[-1].data == {"party": 1, "fields": ["phone"]}
    assert NEW_PHONE not in str([e.data for e in case.events])  # sealed, not in the log
    assert site.node.store.parties(case_id)[0].phone == NEW_PHONE


def test_a_correction_clears_a_wrong_phone_and_address_but_never_the_name(site: Site) -> None:
    mediator(site)
    url = new_case(site)
    case_id = url.rsplit("/", 1)[1]
    page = site.client.get(url).text
    assert 'name="clear_phone"' in page
    assert 'name="clear_name"' not in page
    refused_beside(site, url, "correct", clear_phone="1", reason="号码不对")  # which party?
    html = refused_beside(site, url, "correct", party="1", phone=NEW_PHONE, clear_phone="1",
                          reason="号码不对")
    assert "not both" in html
    refused_beside(site, url, "correct", party="2", clear_phone="1", reason="x")  # none to clear
    assert step(site, url, "correct", party="1", clear_phone="1", clear_address="1",
                reason="不是本人的").status_code == 303
    case = site.node.store.load_case(case_id)
    assert case is not None
    assert case.events[-1].data == {"party": 1, "fields": ["phone", "address"]}
    assert case.events[-1].reason == "不是本人的"
    first = site.node.store.parties(case_id)[0]
    assert (first.name, first.phone, first.address) == ("张三", None, None)
    assert first.id_number is not None  # left as it was

def test_a_grid_worker_may_correct_and_a_stale_correction_writes_nothing(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.add_user("zhao", "grid_worker")
    site.login("wang")
    url = new_case(site)
    stale = seq_of(site.client.get(url).text)
    assert step(site, url, "accept", consent="1").status_code == 303
    site.client.cookies.clear()
    site.login("zhao")
    page = site.client.get(url).text
    assert "act/correct" in page
    assert "act/extend" not in page
    before = seq(site, url)
    answer = site.post(f"{url}/act/correct", {"seq": stale, "facts": "新事实", "reason": "x"}, url)
    assert answer.status_code == 409
    assert seq(site, url) == before


def test_case_list_filters_by_type_source_grid_and_dates(site: Site) -> None:
    mediator(site)
    first = new_case(site).rsplit("/", 1)[1]
    site.clock.advance(days=10)
    second = new_case(site, dispute_type="02", source="own_initiative",
                      grid_id="330106001001001").rsplit("/", 1)[1]
    shown = site.client.get("/cases?dispute_type=02").text
    assert second in shown
    assert first not in shown
    shown = site.client.get("/cases?source=own_initiative").text
    assert (second in shown, first in shown) == (True, False)
    shown = site.client.get("/cases?grid=330106001001001").text
    assert (second in shown, first in shown) == (True, False)
    shown = site.client.get("/cases?opened_to=2026-03-05").text
    assert (first in shown, second in shown) == (True, False)
    shown = site.client.get("/cases?opened_from=2026-03-10&opened_to=2026-03-31").text
    assert (first in shown, second in shown) == (False, True)
    bad = site.client.get("/cases?opened_from=March").text
    assert 'id="filter-error"' in bad
    assert first in bad  # a filter it cannot read is not used


def test_short_case_numbers_in_the_search_box(site: Site) -> None:
    mediator(site)
    first = new_case(site)
    site.clock.set(datetime.fromisoformat("2027-01-05T09:00:00+08:00"))
    later = new_case(site)
    assert later.endswith("-2027-00001")
    answer = site.post("/cases/search", {"q": "2026-00001"}, "/cases")
    assert (answer.status_code, answer.headers["location"]) == (303, first)
    answer = site.post("/cases/search", {"q": "１"}, "/cases")  # full-width, both years
    assert answer.status_code == 400
    assert first.rsplit("/", 1)[1] in answer.text
    assert "matches 2 cases" in answer.text
    assert site.post("/cases/search", {"q": "00001"}, "/cases").status_code == 400
    none = site.post("/cases/search", {"q": "7"}, "/cases")  # no such case: a party search
    assert none.status_code != 303
    assert first.rsplit("/", 1)[1] not in none.text


def test_an_accusation_needs_the_accused_units_code(site: Site) -> None:
    mediator(site)
    answer = site.post("/cases/new", {**CASE, "accusation": "1"}, "/cases/new")
    assert answer.status_code == 400
    assert re.search(r'id="accused-error">[^<]+<', answer.text)
    assert site.node.store.case_rows() == []
    url = new_case(site, accusation="1", accused="330106002000")
    case = site.node.store.load_case(url.rsplit("/", 1)[1])
    assert case is not None
    assert case.facts["accusation"] is True
    assert case.facts["accused_node"] == "330106002000"


def test_five_parties_with_an_add_a_party_button(site: Site) -> None:
    mediator(site)
    assert 'name="name_5"' not in site.client.get("/cases/new").text
    answer = site.post("/cases/new", {**CASE, "rows": "4", "more": "1"}, "/cases/new")
    assert answer.status_code == 200
    assert 'name="name_5"' in answer.text
    assert 'value="张三"' in answer.text  # what was typed is kept
    assert site.node.store.case_rows() == []
    extra = {f"name_{n}": f"当事人{n}" for n in (3, 4, 5)}
    roles = {f"role_{n}": "other" for n in (3, 4, 5)}  # a browser sends each row's select
    url = new_case(site, rows="5", **roles, **extra)
    parties = site.node.store.parties(url.rsplit("/", 1)[1])
    assert [p.name for p in parties][-1] == "当事人5"
    assert len(parties) == 5
    assert users.access_log(site.node.store) == []
