"""Holiday calendars and the working-day test (DOMAIN §5).

Holidays are data an operator updates each year from the State Council's notice; this module
never guesses them. A year without a calendar falls back to weekends plus the statutory holidays
of 全国年节及纪念日放假办法 (`nodes.domain.statutory`) and says so in every note: a deadline
counted that way (or with a sample calendar) is *provisional*, recognised and recomputed when the
year's arrangement is installed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from nodes.domain import statutory
from protocol.text import N_, WEEKDAYS, Phrase, Translatable

_SATURDAY = 5


class CalendarInvalid(Translatable, ValueError):
    """A holiday calendar contradicts itself."""


@dataclass(frozen=True)
class HolidayCalendar:
    """One year of statutory days off and make-up working days (调休)."""

    year: int
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    source: str
    is_sample: bool

    def __post_init__(self) -> None:
        """Reject calendars that contradict themselves; field names appear in the message."""
        for field_name, dates in (("holidays", self.holidays),
                                  ("makeup_workdays", self.makeup_workdays)):
            outside = sorted(d for d in dates if d.year != self.year)
            if outside:
                raise CalendarInvalid(
                    "calendar_year", N_("field '{field}' has {date}, which is not in year {year}"),
                    field=field_name, date=outside[0].isoformat(), year=self.year)
        both = sorted(self.holidays & self.makeup_workdays)
        if both:
            raise CalendarInvalid(
                "calendar_both", N_("{date} is both in 'holidays' and in 'makeup_workdays'"),
                date=both[0].isoformat())
        weekdays = sorted(d for d in self.makeup_workdays if d.weekday() < _SATURDAY)
        if weekdays:
            raise CalendarInvalid(
                "calendar_makeup_weekday",
                N_("field 'makeup_workdays' has {date}, a {weekday}; make-up workdays must be a "
                   "Saturday or Sunday"), date=weekdays[0].isoformat(),
                weekday=Phrase(WEEKDAYS[weekdays[0].weekday()]))


class WorkingDays:
    """Answers "is this a working day?" from one calendar per year, weekends-only otherwise."""

    def __init__(self, calendars: Iterable[HolidayCalendar]) -> None:
        self._by_year: dict[int, HolidayCalendar] = {}
        for cal in calendars:
            if cal.year in self._by_year:
                raise ValueError(f"Two holiday calendars were given for year {cal.year}.")
            self._by_year[cal.year] = cal

    @classmethod
    def empty(cls) -> WorkingDays:
        """No calendars at all: every year counts weekends and statutory holidays only."""
        return cls(())

    def covers(self, year: int) -> bool:
        """True when the operator supplied a calendar for `year`."""
        return year in self._by_year

    def calendar_for(self, year: int) -> HolidayCalendar | None:
        """The calendar for `year`, if any."""
        return self._by_year.get(year)

    @property
    def years(self) -> tuple[int, ...]:
        """Covered years, ascending."""
        return tuple(sorted(self._by_year))

    def is_working_day(self, d: date) -> bool:
        """Holidays are off, 调休 weekend days are on; an uncovered year has Mon-Fri less the
        statutory holidays it can name (`nodes.domain.statutory`)."""
        cal = self._by_year.get(d.year)
        if cal is None:
            return d.weekday() < _SATURDAY and d not in statutory.statutory_days(d.year)
        if d in cal.holidays:
            return False
        return d.weekday() < _SATURDAY or d in cal.makeup_workdays

    def provisional(self, year: int) -> bool:
        """True unless an official (not sample) arrangement for `year` is installed: a deadline
        counted over such a year may move when the arrangement comes."""
        cal = self._by_year.get(year)
        return cal is None or cal.is_sample

    def basis_for(self, d: date) -> str:
        """A short note saying which calendar decides working days in `d`'s year."""
        cal = self._by_year.get(d.year)
        if cal is None:
            if not statutory.covers(d.year):
                return f"no calendar for {d.year}: weekends only"
            which = "" if statutory.lunar_known(d.year) else "fixed-date "
            return (f"no calendar for {d.year}: weekends and {which}statutory holidays only, "
                    "provisional")
        if cal.is_sample:
            return f"calendar {cal.year} (SAMPLE, not official; source: {cal.source})"
        return f"calendar {cal.year} (source: {cal.source})"

    def __repr__(self) -> str:
        return f"WorkingDays(years={list(self.years)})"
