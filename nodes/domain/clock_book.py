"""Every clock a case has (DOMAIN §5: "every waiting item has a clock"), read from its events.

A case carries several named clocks, each a `Deadline` (with its legal basis, or the setting that
set it) and whether it runs in the case's current state:

- ``acceptance``: registration (or a grid report) to the acceptance decision, at every tier,
  an arrival at a hub included; stopped by accepting, rejecting, referring out, escalating or
  handing down. 人民调解法 sets no limit: it is the node's `acceptance_days`.
- ``target``: this tier's mediation target (人民调解法, about a month, configurable), or the
  report-back date of a hand-down (交办): at the hub that handed the case down, and at the tier
  that must report back. Runs in `CLOCK_RUNNING`.
- ``jc``: the 30-day window for judicial confirmation (人民调解法 Art. 33). A window, not a duty:
  it closes, it is never overdue.
- ``perform.N``: the performance dates the parties agreed (fixed: never recomputed).
- ``follow_up``: the follow-up visit (回访) after the last performance date, or after a tier
  above settled the case (SETTLED_ABOVE); the node's `follow_up_days`.

The book only reads what the events recorded (and the older keys of cases recorded before it:
``target``, ``jc_due``, ``report_back_by``, ``performance``). Clocks a recorded case should have
but whose deadline no event holds yet are planned from the rules by `nodes.domain.clock_plan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from nodes.domain.deadlines import SET_ABOVE, DayUnit, Deadline, provisional_note
from nodes.domain.states import CLOCK_RUNNING, Action, CaseState

S = CaseState
DEFAULT_ACCEPTANCE_DAYS = 7  # no statutory limit for people's mediation: configuration
DEFAULT_FOLLOW_UP_DAYS = 30  # no statutory limit for the follow-up visit: configuration
DEFAULT_DUE_SOON_DAYS = 3  # "due soon": due within this many days (setting due_soon_days)

ACCEPTANCE_BASIS = ("acceptance decision: 人民调解法 sets no limit; node setting "
                    "acceptance_days")
FOLLOW_UP_BASIS = "follow-up visit (回访): no statutory limit; node setting follow_up_days"
JC_BASIS = "人民调解法 Art. 33: joint application for judicial confirmation within 30 days"
PERFORMANCE_BASIS = "performance date agreed in the mediation agreement"
HAND_DOWN_BASIS = "交办 report-back date set by this tier (case hand-down --days)"

WAITING_FOR_ACCEPTANCE = frozenset({S.REPORTED, S.REGISTERED})
AGREEMENT_OPEN = frozenset({S.AGREED, S.PERFORMING})
FOLLOW_UP_DUE = frozenset({S.AGREED, S.PERFORMING, S.SETTLED_ABOVE})
#: States in which some clock may run (the others need not be read to find overdue cases).
MAY_RUN = WAITING_FOR_ACCEPTANCE | CLOCK_RUNNING | FOLLOW_UP_DUE


class ClockKind(StrEnum):
    ACCEPTANCE = "acceptance"
    MEDIATION = "mediation"
    REPORT_BACK = "report_back"
    JC_WINDOW = "jc_window"
    PERFORMANCE = "performance"
    FOLLOW_UP = "follow_up"


@dataclass(frozen=True)
class Clock:
    """One named clock of a case: its deadline and whether it runs now. `derived`: planned from
    the rules, not yet recorded in the case's events (see `nodes.domain.clock_plan`)."""

    name: str
    kind: ClockKind
    deadline: Deadline
    running: bool
    derived: bool = False
    detail: str = ""

    @property
    def due(self) -> date:
        return self.deadline.due

    @property
    def is_window(self) -> bool:
        """A window (judicial confirmation) closes; nobody is late when it does."""
        return self.kind is ClockKind.JC_WINDOW

    def is_overdue(self, today: date) -> bool:
        return self.running and not self.is_window and self.deadline.is_overdue(today)

    def due_within(self, today: date, days: int) -> bool:
        """Running and due by `today + days`: overdue ones too, closed windows not."""
        if not self.running or self.due > today + timedelta(days=days):
            return False
        return not (self.is_window and self.due < today)


def _kind(name: str, target_kind: ClockKind) -> ClockKind | None:
    """The kind of the clock `name` (None: a name this version does not know)."""
    if name == "target":
        return target_kind
    if name.startswith("perform."):
        return ClockKind.PERFORMANCE
    return {"acceptance": ClockKind.ACCEPTANCE, "jc": ClockKind.JC_WINDOW,
            "follow_up": ClockKind.FOLLOW_UP}.get(name)


@dataclass
class ClockBook:
    """The clocks' deadlines and what decides whether each runs, kept up to date event by event
    by `Case._apply` (so replaying the events rebuilds it)."""

    deadlines: dict[str, Deadline] = field(default_factory=dict)
    target_kind: ClockKind = ClockKind.MEDIATION
    acceptance_from: int = 0  # seq of the event that opened the current wait for acceptance
    follow_up_from: int = 0  # seq of the event after which a follow-up visit is due
    followed_up: int = 0  # seq of the last follow-up visit
    honoured: bool = False  # a follow-up found the agreement honoured
    details: dict[str, str] = field(default_factory=dict)

    def observe(self, seq: int, action: Action, on: date, before: CaseState | None,
                data: Mapping[str, Any], target: Deadline | None) -> Deadline | None:
        """Take in one applied event (`on`: its Beijing date); returns the case's target
        (changed if the event set it)."""
        if action is Action.REPORT or (action is Action.REGISTER
                                       and before in (None, S.HANDED_DOWN)):
            self.acceptance_from = seq
            self.deadlines.pop("acceptance", None)
        if "target" in data:
            self.target_kind = (ClockKind.REPORT_BACK if action in (Action.RETURN, Action.HAND_DOWN)
                                else ClockKind.MEDIATION)
        elif action is Action.HAND_DOWN and data.get("report_back_by"):
            target = _handed_down(seq, on, data)  # recorded before hand-downs carried a target
            self.target_kind = ClockKind.REPORT_BACK
        if action is Action.AGREE:
            self._agreed(seq, data)
        if action is Action.SETTLE_ABOVE:
            self.follow_up_from = seq
            self.deadlines.pop("follow_up", None)
        if action is Action.FOLLOW_UP:
            self.followed_up = seq
            self.honoured = bool(data.get("honoured"))
        for name, value in (data.get("clocks") or {}).items():
            if name == "target":
                target = Deadline.from_dict(value)
            else:
                self.deadlines[name] = Deadline.from_dict(value)
        return target

    def _agreed(self, seq: int, data: Mapping[str, Any]) -> None:
        for name in [n for n in self.deadlines if n.startswith("perform.") or n in
                     ("jc", "follow_up")]:
            del self.deadlines[name]
        self.details = {k: v for k, v in self.details.items() if not k.startswith("perform.")}
        self.follow_up_from, self.honoured = seq, False
        effective = date.fromisoformat(str(data.get("effective_date")))
        if data.get("jc_due"):
            self.deadlines["jc"] = Deadline.from_dict({
                "legal_basis": JC_BASIS, "unit": DayUnit.CALENDAR.value, "amount": 30,
                "start": effective.isoformat(), "start_event_seq": seq,
                "due": str(data["jc_due"]), "calendar_note": str(data.get("jc_calendar", ""))})
        for i, item in enumerate(data.get("performance") or [], start=1):
            when = performance_date(item)
            if when is None:  # a time not written as a date: no clock to keep
                continue
            name = f"perform.{i}"
            self.details[name] = str(item.get("what", ""))
            self.deadlines[name] = Deadline(
                PERFORMANCE_BASIS, DayUnit.CALENDAR, max(1, (when - effective).days), effective,
                seq, when, calendar_note="agreed by the parties", fixed=True)

    def clocks(self, state: CaseState | None, target: Deadline | None,
               jc_status: str | None) -> list[Clock]:
        """Every recorded clock, running or stopped, in a stable order."""
        out: list[Clock] = []
        if target is not None:
            out.append(Clock("target", self.target_kind, target, state in CLOCK_RUNNING))
        for name, deadline in self.deadlines.items():
            kind = _kind(name, self.target_kind)
            if kind is not None:
                out.append(Clock(name, kind, deadline, self.runs(name, state, jc_status),
                                 detail=self.details.get(name, "")))
        return sorted(out, key=lambda c: (c.due, c.name))

    def runs(self, name: str, state: CaseState | None, jc_status: str | None) -> bool:
        """Whether the clock `name` runs in `state` (its deadline may still be unrecorded)."""
        if name == "acceptance":
            return state in WAITING_FOR_ACCEPTANCE
        if name == "target":
            return state in CLOCK_RUNNING
        if name == "jc":
            return jc_status is None and state in AGREEMENT_OPEN
        if name.startswith("perform."):
            return state in AGREEMENT_OPEN and not self.honoured
        if name == "follow_up":
            return state in FOLLOW_UP_DUE and self.followed_up < self.follow_up_from
        return False


def performance_date(item: Mapping[str, Any]) -> date | None:
    """The date of an agreed performance item (`due`, or `when` from a written agreement)."""
    for key in ("due", "when"):
        try:
            return date.fromisoformat(str(item[key]))
        except (KeyError, ValueError):
            continue
    return None


def _handed_down(seq: int, on: date, data: Mapping[str, Any]) -> Deadline:
    """The report-back clock of a hand-down recorded before hand-downs carried a `target`: the
    date the lower tier was given, fixed."""
    due = date.fromisoformat(str(data["report_back_by"]))
    note = str(data.get("calendar_note") or SET_ABOVE)
    return Deadline(HAND_DOWN_BASIS, DayUnit.CALENDAR, max(1, (due - on).days), on, seq, due,
                    calendar_note=note, provisional=provisional_note(note), fixed=True)
