"""Day counting (DOMAIN §5): start day excluded, holiday roll-over, 调休, pauses, one extension."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodes.domain.calendar import HolidayCalendar, WorkingDays
from nodes.domain.deadlines import (
    PAUSED_INDEFINITELY,
    DayUnit,
    Deadline,
    Pause,
    compute_due,
    extend,
    make_deadline,
    with_pauses,
)
from nodes.domain.statutory import statutory_days

D = date.fromisoformat
CAL_2026 = HolidayCalendar(
    year=2026,
    holidays=frozenset({D("2026-01-01"), *(D(f"2026-10-0{i}") for i in range(1, 8))}),
    makeup_workdays=frozenset({D("2026-09-27"), D("2026-10-10")}),
    source="test notice",
    is_sample=False,
)
DAYS = WorkingDays([CAL_2026])


def test_start_day_not_counted() -> None:
    assert compute_due(D("2026-03-02"), 1, DayUnit.CALENDAR, DAYS)[0] == D("2026-03-03")
    assert compute_due(D("2026-03-02"), 15, DayUnit.CALENDAR, DAYS)[0] == D("2026-03-17")
    # Friday + 1 working day = Monday.
    assert compute_due(D("2026-03-06"), 1, DayUnit.WORKING, DAYS)[0] == D("2026-03-09")


def test_last_day_on_holiday_moves_to_next_working_day() -> None:
    due, note = compute_due(D("2026-09-21"), 10, DayUnit.CALENDAR, DAYS)  # lands on Oct 1
    assert due == D("2026-10-08")
    assert note == "calendar 2026 (source: test notice)"


def test_last_day_on_makeup_saturday_stays() -> None:
    assert compute_due(D("2026-09-30"), 10, DayUnit.CALENDAR, DAYS)[0] == D("2026-10-10")


def test_last_day_on_plain_weekend_moves_to_monday() -> None:
    assert compute_due(D("2026-03-04"), 3, DayUnit.CALENDAR, DAYS)[0] == D("2026-03-09")


def test_working_days_skip_holidays_and_count_makeup_days() -> None:
    # After Fri Sep 25: Sun 27 (调休), Mon 28, Tue 29, Wed 30, then Oct 8, Oct 9, Sat Oct 10.
    assert compute_due(D("2026-09-25"), 4, DayUnit.WORKING, DAYS)[0] == D("2026-09-30")
    assert compute_due(D("2026-09-25"), 7, DayUnit.WORKING, DAYS)[0] == D("2026-10-10")


def test_year_without_calendar_counts_statutory_holidays_and_is_provisional() -> None:
    deadline = make_deadline("x", DayUnit.WORKING, 5, D("2026-12-28"), 1, DAYS)
    # 2027 has no arrangement: 元旦 (Fri Jan 1) is still a statutory day off.
    assert deadline.due == D("2027-01-05")
    assert "calendar 2026 (source: test notice)" in deadline.calendar_note
    assert ("no calendar for 2027: weekends and statutory holidays only, provisional"
            in deadline.calendar_note)
    assert deadline.provisional
    within = make_deadline("x", DayUnit.WORKING, 5, D("2026-03-02"), 1, DAYS)
    assert not within.provisional  # counted inside the official 2026 calendar only
    before = compute_due(D("2024-03-01"), 5, DayUnit.WORKING, WorkingDays.empty())[1]
    assert before == "no calendar for 2024: weekends only"  # the 2024 Measures do not apply


def test_sample_calendar_is_flagged_in_note_and_provisional() -> None:
    sample = WorkingDays([HolidayCalendar(2026, frozenset(), frozenset(), "demo", True)])
    assert "SAMPLE, not official" in compute_due(D("2026-03-02"), 1, DayUnit.CALENDAR, sample)[1]
    assert make_deadline("x", DayUnit.CALENDAR, 1, D("2026-03-02"), 1, sample).provisional


def test_closed_pause_days_do_not_count() -> None:
    pause = Pause(D("2026-03-05"), D("2026-03-10"))  # 5 days stopped
    due, note = compute_due(D("2026-03-02"), 10, DayUnit.CALENDAR, DAYS, (pause,))
    assert due == D("2026-03-17")
    assert "paused 2026-03-05 to 2026-03-10" in note
    # A pause after the due date changes nothing.
    late = Pause(D("2026-04-01"), D("2026-04-10"))
    assert compute_due(D("2026-03-02"), 10, DayUnit.CALENDAR, DAYS, (late,))[0] == D("2026-03-12")


def test_open_pause_means_no_due_date_yet() -> None:
    deadline = make_deadline("复核", DayUnit.CALENDAR, 30, D("2026-03-02"), 7, DAYS,
                             (Pause(D("2026-03-10")),))
    assert deadline.due == PAUSED_INDEFINITELY
    assert not deadline.is_overdue(D("2027-01-01"))
    assert "no due date yet" in deadline.calendar_note
    resumed = with_pauses(deadline, (Pause(D("2026-03-10"), D("2026-03-20")),), DAYS)
    assert resumed.due == D("2026-04-13")  # Apr 11 is a Saturday


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Pause(D("2026-03-10"), D("2026-03-01"))
    with pytest.raises(ValueError, match="at least 1 day"):
        compute_due(D("2026-03-02"), 0, DayUnit.CALENDAR, DAYS)


def test_single_extension_allowed_second_refused() -> None:
    base = make_deadline("信访工作条例 第32条", DayUnit.CALENDAR, 60, D("2026-03-02"), 3, DAYS)
    assert base.due == D("2026-05-01")
    longer = extend(base, 30, DAYS)
    assert (longer.extension_days, longer.due) == (30, D("2026-06-01"))  # May 31 is a Sunday
    assert longer.amount == 60
    assert longer.start_event_seq == 3
    with pytest.raises(ValueError, match="only one extension is allowed"):
        extend(longer, 10, DAYS)


def test_deadline_round_trips_through_dict() -> None:
    d = extend(make_deadline("x", DayUnit.WORKING, 5, D("2026-03-02"), 9, DAYS,
                             (Pause(D("2026-03-03"), D("2026-03-04")), Pause(D("2026-03-20")))),
               3, DAYS)
    assert Deadline.from_dict(d.to_dict()) == d
    assert d.to_dict()["unit"] == "working_days"
    assert d.is_overdue(D("2026-03-10")) is False


# --- properties ---------------------------------------------------------------------------

YEAR_DAYS = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31))


@st.composite
def calendars(draw: st.DrawFn) -> WorkingDays:
    holidays = draw(st.frozensets(YEAR_DAYS, max_size=40))
    weekends = st.sampled_from([d for d in (date(2026, 1, 1) + timedelta(i) for i in range(365))
                                if d.weekday() >= 5 and d not in holidays])
    makeup = draw(st.frozensets(weekends, max_size=8))
    return WorkingDays([HolidayCalendar(2026, holidays, makeup, "generated", False)])


STARTS = st.dates(min_value=date(2025, 11, 1), max_value=date(2027, 2, 1))


@settings(max_examples=300)
@given(calendars(), STARTS, st.integers(1, 90))
def test_calendar_day_due_is_working_day_not_before_plain_count(
    days: WorkingDays, start: date, amount: int
) -> None:
    due, _ = compute_due(start, amount, DayUnit.CALENDAR, days)
    assert days.is_working_day(due)
    assert due >= start + timedelta(days=amount)


@given(STARTS, st.integers(1, 90))
def test_calendar_days_without_calendar_on_weekday_is_exact(start: date, amount: int) -> None:
    plain = start + timedelta(days=amount)
    due, _ = compute_due(start, amount, DayUnit.CALENDAR, WorkingDays.empty())
    if plain.weekday() < 5 and plain not in statutory_days(plain.year):
        assert due == plain
    assert due not in statutory_days(due.year)


@settings(max_examples=300)
@given(calendars(), STARTS, st.integers(1, 40))
def test_working_day_count_matches_amount(days: WorkingDays, start: date, amount: int) -> None:
    due, _ = compute_due(start, amount, DayUnit.WORKING, days)
    span = (start + timedelta(i) for i in range(1, (due - start).days + 1))
    assert sum(days.is_working_day(d) for d in span) == amount
    assert days.is_working_day(due)
