"""Setting and recomputing a case's clocks from the rules (`nodes.domain.clock_book` reads them).

- `acceptance_started`, `follow_up_started`: what a command records when its event starts the
  clock (the deadline is kept in the event, so a later change of setting does not move it).
- `clocks_of`: the recorded clocks plus the running ones no event holds yet (cases recorded
  before the clock existed, or by a command that had no rules at hand), planned from the rules
  and marked `derived`, so `case list --overdue` sees them at once.
- `update_clocks`: one appended `clocks` event that records the derived clocks and recomputes
  every running one a newly installed calendar moves (events are append-only: nothing is
  rewritten). Dates the tier above set, report-back dates already given to the tier below and
  dates the parties agreed are never recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from nodes.domain.case import Actor, Case, CaseEvent, Rules, local_date
from nodes.domain.clock_book import (
    ACCEPTANCE_BASIS,
    FOLLOW_UP_BASIS,
    Clock,
    ClockKind,
    performance_date,
)
from nodes.domain.deadlines import DayUnit, Deadline, make_deadline, with_pauses
from nodes.domain.states import Action


def acceptance_started(case: Case, at: datetime, rules: Rules) -> dict[str, Any]:
    """The `clocks` data of an event that opens a wait for acceptance (the next event)."""
    deadline = make_deadline(ACCEPTANCE_BASIS, DayUnit.CALENDAR, rules.acceptance_days,
                             local_date(at), case.seq + 1, rules.days)
    return {"acceptance": deadline.to_dict()}


def follow_up_started(case: Case, start: date, rules: Rules) -> dict[str, Any]:
    """The `clocks` data of an event after which a follow-up visit is due, counted from
    `start` (the last performance date, or the day the tier above settled the case)."""
    deadline = make_deadline(FOLLOW_UP_BASIS, DayUnit.CALENDAR, rules.follow_up_days, start,
                             case.seq + 1, rules.days)
    return {"follow_up": deadline.to_dict()}


def follow_up_start(agreed_on: date, performance: Sequence[Mapping[str, Any]]) -> date:
    """A follow-up visit is due after the last agreed performance date (or the agreement)."""
    dates = [d for item in performance if (d := performance_date(item)) is not None]
    return max([agreed_on, *dates])


def planned(case: Case, rules: Rules) -> dict[str, Deadline]:
    """Running clocks whose deadline no event recorded, as the rules set them now."""
    out: dict[str, Deadline] = {}
    book, state = case.book, case.state
    if (book.runs("acceptance", state, case.jc_status) and "acceptance" not in book.deadlines
            and book.acceptance_from):
        opened = case.events[book.acceptance_from - 1]
        out["acceptance"] = make_deadline(ACCEPTANCE_BASIS, DayUnit.CALENDAR,
                                          rules.acceptance_days, local_date(opened.at),
                                          opened.seq, rules.days)
    if (book.runs("follow_up", state, case.jc_status) and "follow_up" not in book.deadlines
            and book.follow_up_from):
        event = case.events[book.follow_up_from - 1]
        start = local_date(event.at)
        if event.action is Action.AGREE:
            start = follow_up_start(date.fromisoformat(str(event.data["effective_date"])),
                                    list(event.data.get("performance") or []))
        out["follow_up"] = make_deadline(FOLLOW_UP_BASIS, DayUnit.CALENDAR, rules.follow_up_days,
                                         start, event.seq, rules.days)
    return out


def clocks_of(case: Case, rules: Rules | None) -> list[Clock]:
    """Every clock of the case: recorded, plus (given the rules) the planned ones, `derived`."""
    clocks = case.clocks()
    if rules is not None:
        kinds = {"acceptance": ClockKind.ACCEPTANCE, "follow_up": ClockKind.FOLLOW_UP}
        clocks += [Clock(name, kinds[name], deadline, True, derived=True)
                   for name, deadline in planned(case, rules).items()]
    return sorted(clocks, key=lambda c: (c.due, c.name))


def recomputed(case: Case, rules: Rules) -> dict[str, Deadline]:
    """Running recorded clocks whose due date, calendar note or provisional mark the calendars
    in `rules` change."""
    out: dict[str, Deadline] = {}
    for clock in case.clocks():
        d = clock.deadline
        if not clock.running or d.fixed or clock.kind is ClockKind.REPORT_BACK:
            continue
        fresh = with_pauses(d, d.pauses, rules.days)
        if (fresh.due, fresh.calendar_note, fresh.provisional) != (d.due, d.calendar_note,
                                                                   d.provisional):
            out[clock.name] = fresh
    return out


def update_clocks(case: Case, actor: Actor, at: datetime, rules: Rules) -> CaseEvent | None:
    """Record the clocks still to be recorded and recompute those the calendars move: one
    `clocks` event whose note says which calendar the dates were counted with (None: nothing
    to change)."""
    case.next_state(Action.CLOCKS)
    moved, added = recomputed(case, rules), planned(case, rules)
    if not moved and not added:
        return None
    changed = {**moved, **added}
    notes = list(dict.fromkeys(part for d in changed.values()
                               for part in d.calendar_note.split("; ") if part))
    calendar = "; ".join(notes)
    said = []
    if moved:
        said.append(f"recomputed with {calendar}: {', '.join(sorted(moved))}")
    if added:
        said.append(f"set from this node's settings: {', '.join(sorted(added))}")
    return case.record(Action.CLOCKS, actor, at, "",
                       clocks={name: d.to_dict() for name, d in changed.items()},
                       recomputed=sorted(moved), set=sorted(added), calendar=calendar,
                       note="deadlines " + "; ".join(said))
