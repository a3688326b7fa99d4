"""The next due date kept in the `cases` projection (issue 17): it agrees with the clocks the
events give, for cases in several states, after a calendar recompute and a hand-down; the pages'
candidates pick the same overdue and due-soon cases as replaying every case; m014 backfills."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

from nodes.calendar_loader import load_node_calendars
from nodes.cli.clock_render import due_within_ids, overdue_ids, running_clocks
from nodes.clock import FixedClock
from nodes.clock_sync import sync_clocks
from nodes.domain import commands as cmd
from nodes.domain.case import SHANGHAI, Actor, Case, Rules
from nodes.domain.clock_plan import clocks_of
from nodes.domain.states import Action
from nodes.messaging.memory import MemoryBroker
from nodes.service import PartyInput
from nodes.store.due_counts import due_counts
from nodes.store.due_index import ALWAYS, candidate_rows, recent_rows, with_clock
from nodes.store.sqlite_store import SqliteStore
from protocol.reference import CaseSource
from tests.support.nodes import build_node

VILLAGE, TOWNSHIP = "330681111242", "330681111000"
ACTOR = Actor(VILLAGE)
RULES = Rules(days=load_node_calendars(None), acceptance_days=5, follow_up_days=10)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # Monday
D = date.fromisoformat


def opened(n: int, rules: Rules | None = RULES) -> Case:
    return cmd.open_case(f"{VILLAGE}-2026-{n:05d}", ACTOR, T0, tier="village",
                         source=CaseSource.APPLICATION, dispute_type="02", facts="院墙",
                         rules=rules)


def cases() -> list[Case]:
    """One case in each kind of waiting: acceptance, mediation, report-back (hand-down), an
    agreement (window, performance, follow-up), rejected (no clock), and one recorded without
    rules (its acceptance clock still to be planned)."""
    waiting = opened(1)
    mediating = opened(2)
    cmd.consent(mediating, ACTOR, T0)
    cmd.accept(mediating, ACTOR, T0, RULES)
    cmd.mediate(mediating, ACTOR, T0, RULES)
    handed = cmd.open_case(f"{VILLAGE}-2026-00003", Actor(TOWNSHIP, "system"), T0,
                           tier="township", source=CaseSource.ESCALATION, dispute_type="02",
                           facts="院墙", origin_node=VILLAGE, escalated_from=VILLAGE, rules=RULES)
    cmd.hand_down(handed, Actor(TOWNSHIP), T0, RULES, instruction="请继续调解",
                  report_back_days=10)
    agreed = opened(4)
    cmd.consent(agreed, ACTOR, T0)
    cmd.accept(agreed, ACTOR, T0, RULES)
    cmd.mediate(agreed, ACTOR, T0, RULES)
    cmd.agree(agreed, ACTOR, T0, RULES, form="oral", terms="赔偿", effective_date=T0.date(),
              performance=[{"what": "付款", "due": "2026-03-20"}])
    rejected = opened(5)
    cmd.reject(rejected, ACTOR, T0, reason="不属于调解范围")
    return [waiting, mediating, handed, agreed, rejected, opened(6, rules=None)]


def expected(case: Case) -> tuple[str | None, str | None, str | None]:
    """What the projection should say, from the clocks the events record."""
    running = [c for c in clocks_of(case, None) if c.running]
    late = sorted((c for c in running if not c.is_window), key=lambda c: (c.due, c.name))
    windows = [c.due for c in running if c.is_window]
    return (late[0].due.isoformat() if late else None, str(late[0].kind) if late else None,
            min(windows).isoformat() if windows else None)


def stored(store: SqliteStore, case_id: str) -> tuple[str | None, str | None, str | None]:
    row = store._one("SELECT due_next, due_kind, window_due FROM cases WHERE case_id = ?",
                     [case_id])
    return row[0], row[1], row[2]


def saved(tmp_path: Path) -> tuple[SqliteStore, list[Case]]:
    store = SqliteStore(tmp_path / "node.db")
    made = cases()
    with store.atomic():
        for case in made:
            store.save(case)
    return store, made


def test_the_projection_holds_the_clocks_due_dates(tmp_path: Path) -> None:
    store, made = saved(tmp_path)
    try:
        got = {c.case_id[-1]: stored(store, c.case_id) for c in made}
        for case in made[:5]:
            assert got[case.case_id[-1]] == expected(case)
        assert got["1"][:2] == ("2026-03-09", "acceptance")
        assert got["2"][1] == "mediation"
        assert got["3"] == ("2026-03-12", "report_back", None)
        assert got["4"][2] is not None  # the judicial confirmation window
        assert got["5"] == (None, None, None)  # rejected: no clock runs
        assert got["6"][0] == ALWAYS  # planned from the node's rules when read
    finally:
        store.close()


def test_a_later_event_rewrites_the_row(tmp_path: Path) -> None:
    store, made = saved(tmp_path)
    try:
        waiting = made[0]
        cmd.consent(waiting, ACTOR, T0)
        cmd.accept(waiting, ACTOR, T0, RULES)
        with store.atomic():
            store.save(waiting)
        assert stored(store, waiting.case_id) == expected(waiting)
        assert stored(store, waiting.case_id)[1] != "acceptance"  # that clock stopped
    finally:
        store.close()


def test_candidates_pick_what_replaying_every_case_picks_as_the_date_moves(
        tmp_path: Path) -> None:
    store, _made = saved(tmp_path)
    try:
        rows = store.case_rows()
        full = running_clocks(store.load_case, rows, RULES)
        for offset in range(-3, 60, 2):
            today = T0.date() + timedelta(days=offset)
            late = candidate_rows(store, rows, today - timedelta(days=1))
            assert overdue_ids(running_clocks(store.load_case, late, RULES), today) == \
                overdue_ids(full, today)
            for days in (0, 3, 14):
                soon = candidate_rows(store, rows, today + timedelta(days=days))
                assert due_within_ids(running_clocks(store.load_case, soon, RULES), today,
                                      days) == due_within_ids(full, today, days)
        assert {r["case_id"] for r in with_clock(rows)} == set(full) - {made_id(5)}
    finally:
        store.close()


def made_id(n: int) -> str:
    return f"{VILLAGE}-2026-{n:05d}"


def test_a_calendar_recompute_updates_the_row(tmp_path: Path) -> None:
    late_2026 = datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI)
    node = build_node(tmp_path, VILLAGE, clock=FixedClock(late_2026), broker=MemoryBroker())
    try:
        case_id = node.service.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                                        facts="院墙", parties=[PartyInput("applicant", "甲")]
                                        ).case_id
        assert stored(node.store, case_id)[0] == "2027-01-04"
        own = tmp_path / "holidays"
        own.mkdir()
        (own / "2027.toml").write_text(
            'year = 2027\nsource = "test"\nsample = false\nholidays = ["2027-01-01", '
            '"2027-01-02", "2027-01-03", "2027-01-04"]\nmakeup_workdays = []\n',
            encoding="utf-8")
        sync_clocks(node, Rules(days=load_node_calendars(own)))
        case = node.store.load_case(case_id)
        assert case is not None
        assert stored(node.store, case_id) == expected(case)
        assert stored(node.store, case_id)[:2] == ("2027-01-05", "acceptance")
    finally:
        node.close()


def test_m014_backfills_existing_rows_from_their_events(tmp_path: Path) -> None:
    store, made = saved(tmp_path)
    before = {c.case_id: stored(store, c.case_id) for c in made}
    store.close()
    raw = sqlite3.connect(tmp_path / "node.db")  # the file as it was before m014
    for index in ("cases_due_next", "cases_window_due", "case_events_action_at"):
        raw.execute(f"DROP INDEX {index}")
    for column in ("due_next", "due_kind", "window_due"):
        raw.execute(f"ALTER TABLE cases DROP COLUMN {column}")
    raw.execute("DELETE FROM _sqlite_migrations WHERE name = 'm014_due_dates'")
    raw.commit()
    raw.close()
    again = SqliteStore(tmp_path / "node.db")
    try:
        assert {c.case_id: stored(again, c.case_id) for c in made} == before
    finally:
        again.close()


def test_recent_rows_come_from_the_events_index(tmp_path: Path) -> None:
    store, _made = saved(tmp_path)
    try:
        rows = store.case_rows()
        handed = recent_rows(store, rows, [Action.HAND_DOWN], T0 - timedelta(days=1))
        assert [r["case_id"] for r in handed] == [made_id(3)]
        assert recent_rows(store, rows, [Action.HAND_DOWN], T0 + timedelta(days=3)) == []
    finally:
        store.close()


def test_stored_counts_equal_replaying_every_case_as_the_date_moves(tmp_path: Path) -> None:
    """The today page's counts: SQL over the stored dates plus the replayed ALWAYS rows."""
    store, _made = saved(tmp_path)
    try:
        full = running_clocks(store.load_case, store.case_rows(), RULES)
        seen_late = seen_soon = 0
        for offset in range(-3, 60):
            today = T0.date() + timedelta(days=offset)
            counted = due_counts(store, today, 3, 2)
            assert counted is not None
            assert counted.to_plan == [made_id(6)]
            planned = {i: full[i] for i in counted.to_plan}
            late, all_late = overdue_ids(planned, today), overdue_ids(full, today)
            soon = due_within_ids(planned, today, 3) - late
            all_soon = due_within_ids(full, today, 3) - all_late
            assert counted.overdue + len(late) == len(all_late)
            assert counted.soon + len(soon) == len(all_soon)
            assert set(counted.first_overdue) <= all_late - late
            assert set(counted.first_soon) <= all_soon - soon
            assert len(counted.first_overdue) == min(2, counted.overdue)
            assert len(counted.first_soon) == min(2, counted.soon)
            seen_late, seen_soon = seen_late + counted.overdue, seen_soon + counted.soon
        assert seen_late  # the dates tried cover both lists
        assert seen_soon
    finally:
        store.close()
