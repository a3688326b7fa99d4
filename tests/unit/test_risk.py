"""Risk colour (issue 18 item 5): the rules, configurable, and the colour with its reasons in the
case list and on today's lists (never the colour alone)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from nodes.domain import commands as cmd
from nodes.domain.case import local_date
from nodes.domain.risk import RiskFacts, RiskRules, risk_of
from nodes.service import PartyInput
from nodes.store.risk_facts import repeat_party_cases
from protocol.reference import CaseSource
from tests.unit.test_outcomes import CITY, TOWNSHIP, VILLAGE, Net
from tests.unit.web_support import Site, site

__all__ = ["site"]
RULES = RiskRules()


@pytest.mark.parametrize(("facts", "colour", "reasons"), [
    (RiskFacts(), "green", ()),
    (RiskFacts(red_flag=True), "red", ("red_flag",)),
    (RiskFacts(people=10), "red", ("people",)),
    (RiskFacts(people=5), "yellow", ("people",)),
    (RiskFacts(overdue_days=3), "yellow", ("overdue",)),
    (RiskFacts(overdue_days=15), "red", ("overdue",)),
    (RiskFacts(repeat_party=True), "yellow", ("repeat",)),
    (RiskFacts(supervision="supervise"), "yellow", ("supervision",)),
    (RiskFacts(supervision="listed_supervision", overdue_days=2), "red", ("supervision",)),
    (RiskFacts(red_flag=True, people=12), "red", ("red_flag", "people")),
])
def test_the_rules(facts: RiskFacts, colour: str, reasons: tuple[str, ...]) -> None:
    risk = risk_of(facts, RULES)
    assert (risk.colour, risk.reasons) == (colour, reasons)


def test_rules_are_configurable_and_checked() -> None:
    strict = RiskRules(red_people=3, yellow_people=2, red_overdue_days=1, repeat_is_yellow=False)
    assert risk_of(RiskFacts(people=3), strict).colour == "red"
    assert risk_of(RiskFacts(overdue_days=1), strict).colour == "red"
    assert risk_of(RiskFacts(repeat_party=True), strict).colour == "green"
    with pytest.raises(ValidationError):
        RiskRules(yellow_people=8, red_people=6)


def test_the_case_list_shows_colour_and_reasons(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    site.english()
    service = site.node.service
    calm = service.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts="院墙",
                            parties=[PartyInput("applicant", "甲", None, "13800000001")])
    flagged = service.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts="院墙",
                               parties=[PartyInput("applicant", "乙", None, "13800000002")])
    service.act(flagged.case_id, lambda c, a, t: cmd.red_flag(c, a, t, note="扬言报复",
                                                              police_reported=True))
    again = service.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts="又一次",
                             parties=[PartyInput("applicant", "甲", None, "13800000001")])
    assert repeat_party_cases(site.node.store, [calm.case_id, flagged.case_id]) == {
        calm.case_id}
    html = site.client.get("/cases").text
    row = {case_id: html[html.index(case_id):].split("</tr>")[0]
           for case_id in (calm.case_id, flagged.case_id, again.case_id)}
    assert 'risk-red">red: red flag' in row[flagged.case_id]
    assert 'risk-yellow">yellow: a party of another case' in row[calm.case_id]
    assert 'risk-yellow">yellow: a party of another case' in row[again.case_id]
    site.clock.advance(days=30)  # every acceptance clock is late: today lists them with colour
    today = site.client.get("/").text
    assert "overdue" in today
    assert 'class="risk risk-' in today


def test_the_colour_goes_up_in_the_reports(tmp_path: Path) -> None:
    """Every lifecycle report carries the case's colour at its node (red flag, people, late
    clocks), and the hubs' subtree overdue list shows it."""
    net = Net(tmp_path)
    try:
        village = net.nodes[VILLAGE].service
        case = village.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts="院墙",
                                parties=[PartyInput("applicant", "甲")])
        net.pump()
        net.act(VILLAGE, case.case_id, lambda c, a, t: cmd.red_flag(
            c, a, t, note="扬言报复", police_reported=True))
        colours = [r for (r,) in net.nodes[CITY].store._all(
            "SELECT risk FROM reports WHERE case_id = ? ORDER BY seq", [case.case_id])]
        assert colours == ["green", "red"]
        net.clock.advance(days=30)  # its acceptance is late: the sweep's report is red too
        net.nodes[VILLAGE].housekeep()
        net.pump()
        today = local_date(net.clock.now())
        for code in (TOWNSHIP, CITY):
            (row,) = [r for r in net.nodes[code].store.deadlines_reported(today)
                      if r["case_id"] == case.case_id]
            assert row["risk"] == "red"
    finally:
        net.close()
