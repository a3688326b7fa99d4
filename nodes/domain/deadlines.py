"""Statutory time limits: counting, pausing and the single extension (DOMAIN §5).

The start day is not counted; a calendar-day period ending on a non-working day ends on the next
working day (民法典 Arts. 201, 203). A deadline keeps its basis, pauses, extension and calendar
note so it can be explained, and recomputed when the operator installs a newer calendar. It is
*provisional* while a year it spans has no official arrangement installed; a *fixed* one (a date
the tier above set, a date the parties agreed) is never recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from nodes.domain.calendar import WorkingDays

_ONE_DAY = timedelta(days=1)

#: Due date of a clock that is paused with no end yet: it cannot fall due until resumed.
PAUSED_INDEFINITELY = date.max


class DayUnit(StrEnum):
    CALENDAR = "calendar_days"
    WORKING = "working_days"


@dataclass(frozen=True)
class Pause:
    """A stopped clock (e.g. a 复核 hearing): days in [start, end) do not count."""

    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(
                f"A pause cannot end ({self.end.isoformat()}) before it starts "
                f"({self.start.isoformat()})."
            )

    def covers(self, d: date) -> bool:
        return self.start <= d and (self.end is None or d < self.end)


@dataclass(frozen=True)
class Deadline:
    """A computed time limit plus everything needed to justify or recompute it."""

    legal_basis: str
    unit: DayUnit
    amount: int
    start: date
    start_event_seq: int
    due: date
    extension_days: int = 0
    pauses: tuple[Pause, ...] = ()
    calendar_note: str = ""
    provisional: bool = False
    fixed: bool = False

    def is_overdue(self, today: date) -> bool:
        return today > self.due

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for an event's data (dates as ISO strings)."""
        return {
            "legal_basis": self.legal_basis,
            "unit": self.unit.value,
            "amount": self.amount,
            "start": self.start.isoformat(),
            "start_event_seq": self.start_event_seq,
            "due": self.due.isoformat(),
            "extension_days": self.extension_days,
            "pauses": [
                {"start": p.start.isoformat(), "end": p.end.isoformat() if p.end else None}
                for p in self.pauses
            ],
            "calendar_note": self.calendar_note,
            "provisional": self.provisional,
            "fixed": self.fixed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deadline:
        """Inverse of `to_dict`; raises ValueError/KeyError on malformed data."""
        note = str(data.get("calendar_note", ""))
        return cls(
            legal_basis=str(data["legal_basis"]),
            unit=DayUnit(data["unit"]),
            amount=int(data["amount"]),
            start=date.fromisoformat(data["start"]),
            start_event_seq=int(data["start_event_seq"]),
            due=date.fromisoformat(data["due"]),
            extension_days=int(data.get("extension_days", 0)),
            pauses=tuple(
                Pause(date.fromisoformat(p["start"]),
                      date.fromisoformat(p["end"]) if p.get("end") else None)
                for p in data.get("pauses", ())
            ),
            calendar_note=note,
            # Deadlines recorded before these flags existed: read them from the note.
            provisional=bool(data.get("provisional", provisional_note(note))),
            fixed=bool(data.get("fixed", note == SET_ABOVE)),
        )


#: The note of a date the tier above set (a 交办's report-back date): fixed, never recomputed.
SET_ABOVE = "set by the tier above"
_PROVISIONAL_MARKS = ("weekends only", "provisional", "SAMPLE")


def provisional_note(note: str) -> bool:
    return any(mark in note for mark in _PROVISIONAL_MARKS)


def _years(start: date, last: date) -> range:
    return range((start + _ONE_DAY).year, last.year + 1)


def _note(start: date, last: date, days: WorkingDays, extra: list[str]) -> str:
    bases = [days.basis_for(date(y, 1, 1)) for y in _years(start, last)]
    return "; ".join(bases + extra)


def is_provisional(start: date, due: date, days: WorkingDays, pauses: tuple[Pause, ...] = ()
                   ) -> bool:
    """True when a year the count crosses has no official arrangement installed (an open pause
    counts up to its start: the due date is not known yet)."""
    if due == PAUSED_INDEFINITELY:
        due = min((p.start for p in pauses if p.end is None), default=start)
    return any(days.provisional(y) for y in _years(start, max(due, start + _ONE_DAY)))


def compute_due(
    start: date, amount: int, unit: DayUnit, days: WorkingDays, pauses: tuple[Pause, ...] = ()
) -> tuple[date, str]:
    """Due date and calendar note; an open pause reached before the end gives no due date."""
    if amount < 1:
        raise ValueError(f"A time limit must be at least 1 day, got {amount}.")
    open_from = min((p.start for p in pauses if p.end is None), default=None)
    extra = [f"paused {p.start.isoformat()} to {p.end.isoformat()}"
             for p in pauses if p.end is not None]

    def stopped(d: date) -> bool:
        return open_from is not None and d >= open_from

    d, counted = start, 0
    while counted < amount or not days.is_working_day(d) or any(p.covers(d) for p in pauses):
        d += _ONE_DAY
        if stopped(d):
            note = f"clock paused since {open_from} with no end: no due date yet"
            return PAUSED_INDEFINITELY, _note(start, d, days, [*extra, note])
        if counted < amount and not any(p.covers(d) for p in pauses) and (
            unit is DayUnit.CALENDAR or days.is_working_day(d)
        ):
            counted += 1
    return d, _note(start, d, days, extra)


def make_deadline(
    legal_basis: str,
    unit: DayUnit,
    amount: int,
    start: date,
    start_event_seq: int,
    days: WorkingDays,
    pauses: tuple[Pause, ...] = (),
) -> Deadline:
    due, note = compute_due(start, amount, unit, days, pauses)
    return Deadline(legal_basis, unit, amount, start, start_event_seq, due,
                    pauses=pauses, calendar_note=note,
                    provisional=is_provisional(start, due, days, pauses))


def extend(deadline: Deadline, extra_days: int, days: WorkingDays) -> Deadline:
    """The one approved extension: recount from the original start with amount + extra."""
    if deadline.extension_days:
        raise ValueError(
            f"This deadline ({deadline.legal_basis}) was already extended by "
            f"{deadline.extension_days} days, and only one extension is allowed."
        )
    if extra_days < 1:
        raise ValueError(f"An extension must be at least 1 day, got {extra_days}.")
    return with_pauses(replace(deadline, extension_days=extra_days), deadline.pauses, days)


def with_pauses(deadline: Deadline, pauses: tuple[Pause, ...], days: WorkingDays) -> Deadline:
    """Recompute after a pause starts or ends, keeping any extension already granted."""
    total = deadline.amount + deadline.extension_days
    due, note = compute_due(deadline.start, total, deadline.unit, days, pauses)
    return replace(deadline, due=due, pauses=pauses, calendar_note=note,
                   provisional=is_provisional(deadline.start, due, days, pauses))
