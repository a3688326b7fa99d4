"""Printable documents (issue 17 item 3): each shows what its paper needs, in full; each exists
only in the states where it makes sense; only roles that may reveal personal details open them,
and every view is logged (who, role, case, document, never the data); nothing personal in the
URL or the title; the page is not kept by the browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nodes.domain.case import Actor
from nodes.domain.commands import open_case
from nodes.domain.states import CaseState
from nodes.keyring import process_keyring
from nodes.records import PartyRow
from nodes.store import users
from nodes.web.app import create_app
from protocol.reference import CaseSource
from tests.support.clock import FakeClock
from tests.support.nodes import build_node
from tests.unit.test_web_cases import ID_NUMBER, PHONE, new_case, step
from tests.unit.web_support import VILLAGE, Site, site

__all__ = ["site"]
TOWNSHIP = "330106001000"
TERMS = "李四拆除越界院墙，赔偿张三800元"
AGREEMENT = {"form": "written", "terms": TERMS, "perform_what": "赔偿800元",
             "perform_due": "2026-03-20", "manner": "现金支付", "place": "状元村村委会",
             "signed": "1", "sealed": "1"}


def mediated(site: Site) -> str:
    """A case accepted with consent and under mediation, by the mediator wang (English pages)."""
    site.add_user("wang", "mediator")
    site.login("wang")
    site.english()
    url = new_case(site)
    assert step(site, url, "accept", consent="1").status_code == 303
    assert step(site, url, "mediate").status_code == 303
    return url


def printed(site: Site, url: str, doc: str) -> str:
    answer = site.client.get(f"{url}/print/{doc}")
    assert answer.status_code == 200, answer.text[-600:]
    assert answer.headers["cache-control"] == "no-store"
    title = re.search(r"<title>(.*?)</title>", answer.text)
    assert title
    for value in ("张三", "李四", PHONE, ID_NUMBER):
        assert value not in title.group(1)
    html: str = answer.text
    return html


def test_the_agreement_shows_its_terms_performance_parties_and_signature_lines(
        site: Site) -> None:
    url = mediated(site)
    assert step(site, url, "agree", **AGREEMENT).status_code == 303
    assert f"{url}/print/agreement" in site.client.get(url).text  # linked from the case page
    html = printed(site, url, "agreement")
    for shown in (TERMS, "赔偿800元", "现金支付", "状元村村委会", "2026-03-20", "张三", "李四",
                  PHONE, ID_NUMBER, "状元村5号", "两家为宅基地边界争执"):
        assert shown in html, shown
    assert "judicial confirmation within 30 days" in html
    assert "2026-04-01" in html  # 30 days from 2026-03-02, the effective date
    assert html.count('class="sign"') == 3  # both parties and the mediator
    assert "Mediator wang (signature)" in html
    assert "seal of the people&#39;s mediation committee" in html
    assert "3 copies" in html


def test_every_print_view_is_logged_without_the_data(site: Site) -> None:
    url = mediated(site)
    case_id = url.rsplit("/", 1)[1]
    assert step(site, url, "agree", **AGREEMENT).status_code == 303
    printed(site, url, "agreement")
    printed(site, url, "application")
    log = users.access_log(site.node.store)
    assert [(r["user"], r["role"], r["case_id"], r["what"]) for r in log] == [
        ("wang", "mediator", case_id, "print:agreement"),
        ("wang", "mediator", case_id, "print:application")]
    assert all(r["at"] for r in log)
    for value in ("张三", PHONE, ID_NUMBER, TERMS):
        assert value not in str(log)


def test_the_application_form_shows_the_registration(site: Site) -> None:
    url = mediated(site)
    html = printed(site, url, "application")
    case_id = url.rsplit("/", 1)[1]
    for shown in (case_id, "张三", "李四", PHONE, ID_NUMBER, "状元村5号", "两家为宅基地边界争执",
                  "party&#39;s application", "2026-03-02", "wang"):
        assert shown in html, shown
    assert "applicant 张三 (signature or fingerprint)" in html
    assert "Registrar (signature)" in html


def test_documents_exist_only_in_their_states(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    site.english()
    url = new_case(site)
    page = site.client.get(url).text
    assert f"{url}/print/application" in page
    assert "/print/agreement" not in page
    for doc in ("agreement", "termination", "follow_up", "hand_down"):
        answer = site.client.get(f"{url}/print/{doc}")
        assert answer.status_code == 404, doc
        assert "no such document in its present state" in answer.text
        assert "张三" not in answer.text
    assert site.client.get(f"{url}/print/nonsense").status_code == 404
    assert users.access_log(site.node.store) == []  # nothing shown, nothing logged
    assert step(site, url, "accept", consent="1").status_code == 303
    assert step(site, url, "mediate").status_code == 303
    assert step(site, url, "agree", **{**AGREEMENT, "form": "oral", "signed": "",
                                       "sealed": ""}).status_code == 303
    assert site.client.get(f"{url}/print/agreement").status_code == 404  # oral: not signed


def test_the_termination_notice_gives_the_reason_and_the_other_routes(site: Site) -> None:
    url = mediated(site)
    assert step(site, url, "terminate", reason="双方分歧过大", remedies_notified="1"
                ).status_code == 303
    assert f"{url}/print/termination" in site.client.get(url).text
    html = printed(site, url, "termination")
    for shown in ("双方分歧过大", "arbitration", "administrative organ", "lawsuit",
                  "people&#39;s court", "To 张三, 李四:", "Received by 张三 (signature)"):
        assert shown in html, shown


def test_the_follow_up_record_shows_each_visit(site: Site) -> None:
    url = mediated(site)
    assert step(site, url, "agree", **AGREEMENT).status_code == 303
    assert step(site, url, "perform").status_code == 303
    site.clock.advance(days=20)
    assert step(site, url, "follow_up", honoured="yes", note="已按期付清").status_code == 303
    html = printed(site, url, "follow_up")
    for shown in ("已按期付清", "yes, honoured", "2026-03-22", TERMS, "Visitor (signature)"):
        assert shown in html, shown


def test_a_role_that_may_not_reveal_cannot_print(site: Site) -> None:
    url = mediated(site)
    site.client.cookies.clear()
    site.add_user("audit", "auditor")
    site.add_user("boss", "leader")
    for name in ("audit", "boss"):
        site.client.cookies.clear()
        site.login(name)
        assert "/print/" not in site.client.get(url).text
        answer = site.client.get(f"{url}/print/application")
        assert answer.status_code == 403
        assert "张三" not in answer.text
    site.client.cookies.clear()
    answer = site.client.get(f"{url}/print/application", follow_redirects=False)
    assert answer.status_code == 303  # not logged in: to the login page
    assert users.access_log(site.node.store) == []


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[Site, str]]:
    """A township with a case escalated from the village, and its centre's staffer logged in."""
    clock = FakeClock()
    process_keyring().pair(VILLAGE)  # the hand-down seals the parties to the village
    node = build_node(tmp_path, TOWNSHIP, clock=clock)
    case_id = f"{VILLAGE}-2026-00001"
    with node.store.atomic():
        case = open_case(case_id, Actor(TOWNSHIP, "system"), clock.now(), tier="township",
                         source=CaseSource.ESCALATION, dispute_type="02", facts="排水沟堵塞纠纷",
                         origin_node=VILLAGE, escalated_from=VILLAGE, rules=node.service.rules)
        node.service.commit(case, [PartyRow("applicant", "张三", "a" * 64, None, PHONE, None)],
                            new=True)
    with TestClient(create_app(node), base_url="http://127.0.0.1") as client:
        site = Site(node, client, clock)
        site.add_user("xu", "hub_staff")
        site.login("xu")
        site.english()
        yield site, f"/cases/{case_id}"
    node.close()


def test_the_hand_down_letter_names_the_lower_tier_the_instruction_and_the_date(
        hub: tuple[Site, str]) -> None:
    site, url = hub
    assert site.client.get(f"{url}/print/hand_down").status_code == 404
    assert step(site, url, "hand_down", instruction="请村调委会三日内约谈双方", days="10"
                ).status_code == 303
    case = site.node.store.load_case(url.rsplit("/", 1)[1])
    assert case is not None
    assert case.state is CaseState.HANDED_DOWN
    html = printed(site, url, "hand_down")
    for shown in (VILLAGE, "请村调委会三日内约谈双方", "2026-03-12", "张三", "排水沟堵塞纠纷"):
        assert shown in html, shown
    assert "Report the outcome to us by 2026-03-12." in html
    assert [r["what"] for r in users.access_log(site.node.store)] == ["print:hand_down"]


def test_print_css_hides_navigation_and_sets_a4() -> None:
    css = (Path(__file__).parents[2] / "nodes/web/static/print.css").read_text()
    assert "size: A4" in css
    assert re.search(r"@media print \{[^@]*header\.top[^}]*display: none", css)
