"""Days and calendars (issue 16 item 6; DOMAIN §5): the shipped 2026 arrangement against the
State Council's notice, the statutory holidays counted without an arrangement, provisional
deadlines, and the recompute when a calendar is installed (a command, and at a node's start).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from fengqiao.bootstrap import bootstrap
from nodes.calendar_loader import SHIPPED_HOLIDAY_DIR, load_calendar_file, load_node_calendars
from nodes.cli import main as cli_main
from nodes.cli import run_cmds
from nodes.clock import FixedClock
from nodes.clock_sync import SyncResult, sync_clocks
from nodes.config import load_config
from nodes.domain import commands as cmd
from nodes.domain.calendar import WorkingDays
from nodes.domain.case import SHANGHAI, Rules
from nodes.domain.states import Action
from nodes.domain.statutory import LUNAR_DATES, statutory_days
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from nodes.service import PartyInput
from nodes.store.audit import verify_file
from protocol.reference import CaseSource
from tests.support.nodes import build_node, write_config

D = date.fromisoformat
VILLAGE = "330681111242"
LATE_2026 = datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI)  # Monday
# A 2027 arrangement for the tests only (not the State Council's: none is published yet).
TEST_2027 = """year = 2027
source = "test arrangement 2027"
sample = false
holidays = ["2027-01-01", "2027-01-02", "2027-01-03", "2027-01-04"]
makeup_workdays = []
"""


def days_between(first: str, last: str) -> set[date]:
    start, end = D(first), D(last)
    return {start + timedelta(days=i) for i in range((end - start).days + 1)}


# --- the shipped 2026 arrangement -------------------------------------------------------------
# 国办发明电〔2025〕7号, item by item: (first day off, last day off, the notice's weekdays), and the
# working weekend days it names.
NOTICE_2026 = [("2026-01-01", "2026-01-03", "四六"), ("2026-02-15", "2026-02-23", "日一"),
               ("2026-04-04", "2026-04-06", "六一"), ("2026-05-01", "2026-05-05", "五二"),
               ("2026-06-19", "2026-06-21", "五日"), ("2026-09-25", "2026-09-27", "五日"),
               ("2026-10-01", "2026-10-07", "四三")]
NOTICE_2026_WORK = {"2026-01-04": "日", "2026-02-14": "六", "2026-02-28": "六", "2026-05-09": "六",
                    "2026-09-20": "日", "2026-10-10": "六"}
WEEKDAY = "一二三四五六日"


def test_the_shipped_2026_calendar_is_the_notice_day_by_day() -> None:
    cal = load_calendar_file(SHIPPED_HOLIDAY_DIR / "2026.toml")
    assert not cal.is_sample
    assert "国办发明电〔2025〕7号" in cal.source
    expected: set[date] = set()
    for first, last, weekdays in NOTICE_2026:
        expected |= days_between(first, last)
        assert WEEKDAY[D(first).weekday()] + WEEKDAY[D(last).weekday()] == weekdays
    assert cal.holidays == expected
    assert len(cal.holidays) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert cal.makeup_workdays == {D(d) for d in NOTICE_2026_WORK}
    for day, weekday in NOTICE_2026_WORK.items():
        assert WEEKDAY[D(day).weekday()] == weekday


def test_the_lunar_table_agrees_with_the_2026_notice() -> None:
    official = load_calendar_file(SHIPPED_HOLIDAY_DIR / "2026.toml").holidays
    assert statutory_days(2026) <= official
    assert D("2026-02-16") in statutory_days(2026)  # 除夕 (腊月二十九: a short twelfth month)
    assert len(statutory_days(2026)) == 13  # Art. 2 of the Measures as revised in 2024


def test_every_node_counts_with_the_shipped_arrangement() -> None:
    days = load_node_calendars(None)
    assert not days.is_working_day(D("2026-02-23"))  # 正月初七, made free
    assert days.is_working_day(D("2026-02-28"))  # a working Saturday
    assert not days.provisional(2026)


def test_the_operators_folder_overrides_a_year_but_a_sample_never_replaces_the_official(
        tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(TEST_2027, encoding="utf-8")
    (tmp_path / "b.toml").write_text('year = 2026\nsource = "示例"\nsample = true\n'
                                     'holidays = ["2026-03-02"]\n', encoding="utf-8")
    days = load_node_calendars(tmp_path)
    assert days.years == (2026, 2027)
    assert days.is_working_day(D("2026-03-02"))  # the sample did not replace the notice
    assert not days.is_working_day(D("2027-01-04"))
    assert not days.provisional(2027)


# --- without an arrangement: the statutory holidays, provisional -------------------------------
def test_a_year_without_arrangement_keeps_the_statutory_holidays() -> None:
    days = WorkingDays.empty()
    new_year, qingming, duanwu, zhongqiu = (D(f"2027-{md}") for md in LUNAR_DATES[2027])
    named = {D("2027-01-01"), D("2027-05-03") - timedelta(days=2), D("2027-05-03")
             - timedelta(days=1), D("2027-10-01"), D("2027-10-02"), D("2027-10-03"),
             *(new_year + timedelta(days=i) for i in range(-1, 3)), qingming, duanwu, zhongqiu}
    assert named == statutory_days(2027)
    assert all(not days.is_working_day(d) for d in named)
    assert days.is_working_day(D("2027-02-09"))  # 初四, a Tuesday: only the arrangement frees it
    assert days.basis_for(D("2027-06-01")).endswith("statutory holidays only, provisional")


def test_beyond_the_lunar_table_only_the_fixed_dates_count_and_the_note_says_so() -> None:
    days = WorkingDays.empty()
    assert 2041 not in LUNAR_DATES
    assert not days.is_working_day(D("2041-01-01"))  # a Tuesday: 元旦
    assert not days.is_working_day(D("2041-10-03"))  # a Thursday: 国庆
    assert "fixed-date statutory holidays only" in days.basis_for(D("2041-03-01"))
    assert days.basis_for(D("2024-03-01")) == "no calendar for 2024: weekends only"
    assert days.is_working_day(D("2024-01-01"))  # before the 2024 revision took effect


# --- recomputing when a calendar comes --------------------------------------------------------
def _case_late_in_2026(node: Node) -> str:
    return node.service.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts="院墙",
                                 parties=[PartyInput("applicant", "甲")]).case_id


def test_installing_a_calendar_recomputes_the_open_deadlines_it_moves(tmp_path: Path) -> None:
    node = build_node(tmp_path, VILLAGE, clock=FixedClock(LATE_2026), broker=MemoryBroker())
    try:
        case_id = _case_late_in_2026(node)
        before = node.store.load_case(case_id)
        assert before is not None
        (acceptance,) = [c.deadline for c in before.clocks() if c.name == "acceptance"]
        assert (acceptance.due, acceptance.provisional) == (D("2027-01-04"), True)
        own = tmp_path / "holidays"
        own.mkdir()
        (own / "2027.toml").write_text(TEST_2027, encoding="utf-8")
        rules = Rules(days=load_node_calendars(own))
        assert sync_clocks(node, rules) == SyncResult(cases=1, recomputed=1, set=0)
        after = node.store.load_case(case_id)
        assert after is not None
        event = after.events[-1]
        assert event.action is Action.CLOCKS
        assert event.seq == before.seq + 1  # appended; the earlier events are untouched
        assert after.events[:-1] == before.events
        assert "recomputed with" in event.data["note"]
        assert "test arrangement 2027" in event.data["note"]
        (moved,) = [c.deadline for c in after.clocks() if c.name == "acceptance"]
        assert (moved.due, moved.provisional) == (D("2027-01-05"), False)
        assert verify_file(str(node.config.database)).intact
        assert sync_clocks(node, rules) == SyncResult()  # nothing left to move
    finally:
        node.close()


def test_dates_agreed_or_set_above_are_not_recomputed(tmp_path: Path) -> None:
    node = build_node(tmp_path, VILLAGE, clock=FixedClock(LATE_2026), broker=MemoryBroker())
    try:
        case_id = _case_late_in_2026(node)
        rules = node.service.rules

        def agree(case: object, actor: object, at: datetime) -> None:
            cmd.consent(case, actor, at)  # type: ignore[arg-type]
            cmd.accept(case, actor, at, rules)  # type: ignore[arg-type]
            cmd.mediate(case, actor, at, rules)  # type: ignore[arg-type]
            cmd.agree(case, actor, at, rules, form="oral", terms="赔偿",  # type: ignore[arg-type]
                      effective_date=at.date(), performance=[{"what": "付款", "due": "2027-01-04"}])

        node.service.act(case_id, agree)
        own = tmp_path / "holidays"
        own.mkdir()
        (own / "2027.toml").write_text(TEST_2027, encoding="utf-8")
        result = sync_clocks(node, Rules(days=load_node_calendars(own)))
        case = node.store.load_case(case_id)
        assert case is not None
        event = case.events[-1]
        assert result.cases == 1
        assert "perform.1" not in event.data["recomputed"]  # the parties' date stands
        assert {c.name: c.due for c in case.clocks()}["perform.1"] == D("2027-01-04")
    finally:
        node.close()


def test_a_node_recomputes_when_it_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    own = tmp_path / "holidays"
    own.mkdir()
    path = write_config(tmp_path, VILLAGE, calendar_dir=own)
    node = bootstrap(load_config(path), clock=FixedClock(LATE_2026), broker=MemoryBroker())
    case_id = _case_late_in_2026(node)
    node.close()
    (own / "2027.toml").write_text(TEST_2027, encoding="utf-8")  # installed while it was down
    monkeypatch.setattr(run_cmds, "configure", lambda **kw: None)  # keep the tests' logging
    monkeypatch.setattr(run_cmds, "serve_until_failed", lambda runtime: None)
    monkeypatch.setenv("FENGQIAO_NOW", "2026-12-29T09:00:00+08:00")
    assert cli_main.main(["node", "run", "--config", str(path)], cli_main.GROUPS,
                         lambda config, *, clock=None: bootstrap(config, clock=clock,
                                                                 broker=MemoryBroker())) == 0
    node = bootstrap(load_config(path), broker=MemoryBroker())
    try:
        case = node.store.load_case(case_id)
        assert case is not None
        assert case.events[-1].action is Action.CLOCKS
        assert "test arrangement 2027" in case.events[-1].data["note"]
        assert {c.name: c.due for c in case.clocks()}["acceptance"] == D("2027-01-05")
    finally:
        node.close()
