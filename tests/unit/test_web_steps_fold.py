"""A case page folds its steps under their names when it offers many (issue 17: a hub's page
offers a dozen): the first is open, and so is the one a refusal sent back; with few, all are."""

from __future__ import annotations

import re

from nodes.service import PartyInput
from protocol.reference import CaseSource
from tests.unit.web_support import Site, site

__all__ = ["site"]
STEP = re.compile(r'<details class="card step" id="step-(\w+)" ?(open)?>')


def steps_open(html: str) -> dict[str, bool]:
    return {name: bool(is_open) for name, is_open in STEP.findall(html)}


def test_many_steps_fold_but_the_first_and_the_refused_one(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    site.english()
    case_id = site.node.service.new_case(
        source=CaseSource.APPLICATION, dispute_type="02", facts="院墙",
        parties=[PartyInput("applicant", "甲"), PartyInput("respondent", "乙")]).case_id
    shown = steps_open(site.client.get(f"/cases/{case_id}").text)
    assert len(shown) > 3
    first = next(iter(shown))
    assert shown[first]
    assert not any(is_open for name, is_open in shown.items() if name != first)
    assert first != "escalate"
    refused = site.post(f"/cases/{case_id}/act/escalate", {"seq": "1"}, f"/cases/{case_id}")
    assert refused.status_code == 400  # no reason, no consent
    again = steps_open(refused.text)
    assert again["escalate"], again
