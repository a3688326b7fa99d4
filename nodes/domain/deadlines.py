"""Statutory time limits: counting, pausing and the single extension (DOMAIN §5).

The start day is not counted; a calendar-day period ending on a non-working day ends on the next
working day (民法典 Arts. 201, 203). A deadline keeps its basis, pauses, extension and calendar
note so it can be explained, and recomputed when the operator installs a newer calendar.
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
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deadline:
        """Inverse of `to_dict`; raises ValueError/KeyError on malformed data."""
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
            calendar_note=str(data.get("calendar_note", "")),
        )


def _note(start: date, last: date, days: WorkingDays, extra: list[str]) -> str:
    first = start + _ONE_DAY
    bases = [days.basis_for(date(y, 1, 1)) for y in range(first.year, last.year + 1)]
    return "; ".join(bases + extra)


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
                    pauses=pauses, calendar_note=note)


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
    return replace(deadline, due=due, pauses=pauses, calendar_note=note)
