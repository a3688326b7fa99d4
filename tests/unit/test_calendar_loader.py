"""Loading the operator's yearly holiday TOML files; every mistake is one clear sentence."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from nodes.calendar_loader import (
    SHIPPED_HOLIDAY_DIR,
    CalendarError,
    load_calendar_dir,
    load_calendar_file,
)

GOOD = """\
year = 2026
source = "test notice"
sample = false
holidays = ["2026-01-01", "2026-10-01"]
makeup_workdays = ["2026-10-10"]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads(tmp_path: Path) -> None:
    cal = load_calendar_file(write(tmp_path, "2026.toml", GOOD))
    assert cal.year == 2026
    assert cal.source == "test notice"
    assert not cal.is_sample
    assert cal.holidays == {date(2026, 1, 1), date(2026, 10, 1)}
    assert cal.makeup_workdays == {date(2026, 10, 10)}


def test_native_toml_dates_and_missing_makeup_list_are_fine(tmp_path: Path) -> None:
    text = 'year = 2026\nsource = "x"\nsample = true\nholidays = [2026-01-01]\n'
    cal = load_calendar_file(write(tmp_path, "a.toml", text))
    assert cal.holidays == {date(2026, 1, 1)}
    assert cal.makeup_workdays == frozenset()


def test_shipped_2026_is_the_official_arrangement() -> None:
    days = load_calendar_dir(SHIPPED_HOLIDAY_DIR)
    assert days.covers(2026)
    cal = days.calendar_for(2026)
    assert cal is not None
    assert not cal.is_sample
    assert "国办发明电〔2025〕7号" in cal.source
    assert not days.provisional(2026)
    assert "SAMPLE" not in days.basis_for(date(2026, 6, 1))
    assert days.is_working_day(date(2026, 10, 10))  # make-up Saturday (国庆节)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("year = 2026\nholidays = [", "is not valid TOML"),
        (GOOD.replace('"2026-10-01"', '"2025-12-31"'),
         "field 'holidays' has 2025-12-31, which is not in year 2026"),
        (GOOD.replace('"2026-10-10"', '"2026-10-01"'),
         "2026-10-01 is both in 'holidays' and in 'makeup_workdays'"),
        (GOOD.replace('"2026-10-10"', '"2026-10-09"'),
         "field 'makeup_workdays' has 2026-10-09, a Friday"),
        (GOOD.replace('"2026-10-01"', '"2026-01-01"'),
         "field 'holidays' lists 2026-01-01 more than once"),
        (GOOD + 'extra = "x"\n', "field 'extra' is not allowed"),
        (GOOD.replace('sample = false\n', ''), "field 'sample' is missing"),
        (GOOD.replace('"2026-10-01"', '"2026-13-01"'), "'2026-13-01', which is not a real date"),
        (GOOD.replace('"2026-10-01"', '"20261001"'), "which is not a YYYY-MM-DD date"),
        (GOOD.replace('"2026-10-01"', '1790000000'), "which is not a YYYY-MM-DD date"),
        (GOOD.replace('year = 2026', 'year = "2026"'), "field 'year'"),
        (GOOD.replace('"test notice"', '"  "'), "field 'source' must be a non-empty text"),
    ],
)
def test_bad_file_gives_one_sentence_naming_file(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, "2026.toml", text)
    with pytest.raises(CalendarError) as info:
        load_calendar_file(path)
    message = str(info.value)
    assert str(path) in message
    assert expected in message
    assert message.endswith(".")
    assert "\n" not in message
    assert isinstance(info.value, ValueError)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match="cannot be read"):
        load_calendar_file(tmp_path / "nope.toml")


def test_dir_loads_each_year_and_ignores_other_files(tmp_path: Path) -> None:
    write(tmp_path, "2026.toml", GOOD)
    write(tmp_path, "2027.toml", GOOD.replace("2026", "2027").replace("2027-10-10", "2027-10-09"))
    write(tmp_path, "notes.txt", "not a calendar")
    days = load_calendar_dir(tmp_path)
    assert days.years == (2026, 2027)
    assert days.is_working_day(date(2027, 10, 9))  # a Saturday made a workday


def test_dir_with_two_files_for_one_year_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", GOOD)
    write(tmp_path, "b.toml", GOOD)
    with pytest.raises(CalendarError, match="both define year 2026"):
        load_calendar_dir(tmp_path)


def test_missing_dir_means_weekends_and_statutory_holidays(tmp_path: Path) -> None:
    days = load_calendar_dir(tmp_path / "missing")
    assert days.years == ()
    assert days.basis_for(date(2026, 1, 1)) == (
        "no calendar for 2026: weekends and statutory holidays only, provisional")
    assert days.provisional(2026)
    assert not days.is_working_day(date(2026, 1, 3))
    assert not days.is_working_day(date(2026, 1, 1))  # 元旦, from the Measures
    assert days.is_working_day(date(2026, 1, 2))  # made free only by the arrangement


def test_dir_path_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match="is not a folder"):
        load_calendar_dir(write(tmp_path, "x.toml", GOOD))
