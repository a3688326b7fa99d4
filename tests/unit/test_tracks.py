"""Fast tracks (issue 18 item 4): configured rules put a case on 重点办 / 快速办 / 简易办 at the tier
that registers it, and accepting it starts that track's shorter target, shown on the case; a
node without rules keeps one target for all; a bad rule stops the config with its field named."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from nodes.cli.case_render import show_json
from nodes.config import ConfigError, load_config
from nodes.domain import commands as cmd
from nodes.domain.case import local_date
from nodes.domain.tracks import TrackRule, track_for
from nodes.service import PartyInput
from protocol.reference import CaseSource
from tests.support.clock import FakeClock
from tests.support.nodes import build_node, write_config

VILLAGE = "330681111242"
RULES = (TrackRule(track="fast", target_days=10, dispute_types=("10",)),
         TrackRule(track="key", target_days=20, min_people=10),
         TrackRule(track="simple", target_days=7, dispute_types=("02",), max_people=2))


@pytest.mark.parametrize(("dispute_type", "people", "track"), [
    ("10", 3, "fast"), ("10", 50, "fast"),  # the first rule that takes it
    ("04", 12, "key"), ("02", 2, "simple"), ("02", 3, None), ("04", 3, None)])
def test_the_first_rule_that_takes_the_case(dispute_type: str, people: int,
                                            track: str | None) -> None:
    rule = track_for(RULES, dispute_type, people)
    assert (rule.track if rule else None) == track


def accepted(tmp_path: Path, tracks: tuple[TrackRule, ...], dispute_type: str) -> Any:
    clock = FakeClock()
    node = build_node(tmp_path, VILLAGE, clock=clock, tracks=tracks)
    try:
        case = node.service.new_case(source=CaseSource.APPLICATION, dispute_type=dispute_type,
                                     facts="拖欠工资", parties=[PartyInput("applicant", "甲"),
                                                            PartyInput("respondent", "乙")])
        rules = node.service.rules

        def accept(c: Any, a: Any, t: Any) -> None:
            cmd.consent(c, a, t, scope="mediation", given=True)
            cmd.accept(c, a, t, rules)
        node.service.act(case.case_id, accept)
        loaded = node.store.load_case(case.case_id)
        assert loaded is not None
        return loaded, local_date(clock.now()), show_json(loaded, [], local_date(clock.now()),
                                                          "zh")
    finally:
        node.close()


def test_a_fast_track_case_gets_the_shorter_target(tmp_path: Path) -> None:
    case, today, shown = accepted(tmp_path, RULES, "10")
    assert case.facts["track"] == "fast"
    assert case.target is not None
    assert case.target.due == today + timedelta(days=10)
    assert shown["track"] == "fast"
    (target,) = [c for c in shown["clocks"] if c["kind"] == "mediation"]
    assert target["due"] == (today + timedelta(days=10)).isoformat()
    assert "[[tracks]]" in target["basis_label"]  # the basis says it is the track's limit


def test_without_rules_every_case_keeps_the_tiers_target(tmp_path: Path) -> None:
    case, today, shown = accepted(tmp_path, (), "10")
    assert "track" not in case.facts
    assert case.target is not None
    assert case.target.due == today + timedelta(days=30)
    assert shown["track"] is None


def test_a_bad_rule_stops_the_config_naming_the_field(tmp_path: Path) -> None:
    path = write_config(tmp_path, VILLAGE)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + '\n[[tracks]]\ntrack = "urgent"\ntarget_days = 5\n', encoding="utf-8")
    with pytest.raises(ConfigError) as bad:
        load_config(path)
    assert "tracks" in str(bad.value)
