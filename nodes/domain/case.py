"""The case aggregate: named commands with their guards, state derived from the event list.

A command checks its guard against the current state, then records one event; `Case.replay` of
the stored events rebuilds exactly the same case. Nothing here touches a database or a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from nodes.domain.calendar import WorkingDays
from nodes.domain.clock_book import DEFAULT_ACCEPTANCE_DAYS, DEFAULT_FOLLOW_UP_DAYS, Clock, ClockBook
from nodes.domain.consent import MEDIATION, standing
from nodes.domain.deadlines import DayUnit, Deadline, make_deadline
from nodes.domain.risk import Colour, RiskFacts, RiskRules, days_late, risk_of
from nodes.domain.roles import may
from nodes.domain.states import (
    NOTE_ALLOWED,
    OPENING,
    TRANSITIONS,
    Action,
    CaseState,
)
from nodes.domain.tracks import TRACK_BASIS, TrackRule
from protocol.text import N_, Code, Translatable

SHANGHAI = ZoneInfo("Asia/Shanghai")
JC_WINDOW_DAYS = 30  # 人民调解法 Art. 33: joint application within 30 days of effect (statutory)


def local_date(at: datetime) -> date:
    """Days are counted on the Beijing-time calendar, wherever the server's clock is."""
    return at.astimezone(SHANGHAI).date()


class DomainError(Translatable):
    """A rule of the procedure forbids this: a code, an English template (the catalogue's message
    id) and its parameters; the edge chooses the language (`nodes.i18n.render`)."""


class IllegalTransition(DomainError):
    """The action is not allowed in the case's state. Its parameters are codes (`state`, `action`);
    the edge shows their names in the reader's language."""

    def __init__(self, state: CaseState | None, action: Action) -> None:
        if state is None:
            super().__init__("illegal_new", N_("cannot {action} a new case"),
                             action=Code("action", action.value))
        else:
            super().__init__("illegal_transition", N_("cannot {action} a case in state {state}"),
                             action=Code("action", action.value),
                             state=Code("state", state.value))
        self.state = state
        self.action = action


@dataclass(frozen=True)
class Actor:
    """Who acts: the node, the role (`nodes.domain.roles`) and the named user, if a person."""

    node_id: str
    role: str = "mediator"
    user: str | None = None


@dataclass(frozen=True)
class CaseEvent:
    case_id: str
    seq: int
    action: Action
    at: datetime
    node_id: str
    actor_role: str
    reason: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    actor_user: str | None = None  # the named person who acted (None: the node, or older files)


@dataclass(frozen=True)
class Rules:
    """Configurable policy (DOMAIN §3: target duration and its one extension) plus the calendar."""

    target_days: int = 30
    max_extension_days: int = 30
    days: WorkingDays = field(default_factory=WorkingDays.empty)
    acceptance_days: int = DEFAULT_ACCEPTANCE_DAYS  # registration to acceptance decision
    follow_up_days: int = DEFAULT_FOLLOW_UP_DAYS  # to the follow-up visit (回访)
    tracks: tuple[TrackRule, ...] = ()  # fast tracks with shorter targets (`nodes.domain.tracks`)
    risk: RiskRules = field(default_factory=RiskRules)  # risk colour (`nodes.domain.risk`)


class Case:
    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        self.state: CaseState | None = None
        self.seq = 0
        self.facts: dict[str, Any] = {}
        self.mediation_consent: bool | None = None
        self.target: Deadline | None = None
        self.book = ClockBook()  # every clock of the case (nodes.domain.clock_book)
        self.extended = False
        self.agreement: dict[str, Any] | None = None
        self.jc_status: str | None = None
        self.red_flag = False
        self.events: list[CaseEvent] = []
        self.state_after: dict[int, CaseState] = {}
        self.pending: list[CaseEvent] = []

    @classmethod
    def replay(cls, case_id: str, events: Iterable[CaseEvent]) -> Case:
        case = cls(case_id)
        for event in events:
            case._apply(event)
        return case

    # --- state derivation -------------------------------------------------------------------
    def next_state(self, action: Action) -> CaseState:
        """The state `action` leads to from here, or IllegalTransition."""
        if self.state is None:
            if action in OPENING:
                return OPENING[action]
            raise IllegalTransition(None, action)
        if action in NOTE_ALLOWED:
            if self.state in NOTE_ALLOWED[action]:
                return self.state
            raise IllegalTransition(self.state, action)
        target = TRANSITIONS.get(action, {}).get(self.state)
        if target is None:
            raise IllegalTransition(self.state, action)
        return target

    def _apply(self, event: CaseEvent) -> None:
        if event.seq != self.seq + 1:
            raise ValueError(f"case {self.case_id}: event seq {event.seq} after {self.seq}")
        before, self.state = self.state, self.next_state(event.action)
        self.seq = event.seq
        self.state_after[event.seq] = self.state
        self.events.append(event)
        data = event.data
        if event.action in OPENING and not self.facts:
            self.facts = dict(data)
        if event.action in (Action.CONSENT, Action.REFUSE):
            self.mediation_consent = standing(self.events, MEDIATION).summary
        if "target" in data:
            self.target = Deadline.from_dict(data["target"])
        self.target = self.book.observe(event.seq, event.action, local_date(event.at), before,
                                        data, self.target)
        if event.action is Action.EXTEND:
            self.extended = True
        if event.action is Action.AGREE:
            self.agreement = dict(data)
            self.jc_status = None  # a new agreement has its own judicial-confirmation window
        if event.action is Action.JC_APPLY:
            self.jc_status = "applied"
        if event.action is Action.JC_RESULT:
            self.jc_status = "confirmed" if data.get("confirmed") else "refused"
        # A red flag raised here, learnt from a report, or brought by a dossier (the arrival
        # data of a hub's opening or re-registration, nodes.domain.dossier).
        if event.action is Action.RED_FLAG or (event.action is Action.REGISTER
                                               and data.get("red_flag")):
            self.red_flag = True
        if event.action is Action.CORRECT and "facts" in data:  # nodes.domain.corrections
            self.facts["facts"] = data["facts"]

    def record(self, action: Action, actor: Actor, at: datetime, reason: str = "",
                **data: Any) -> CaseEvent:
        self.next_state(action)  # guard the transition before building the event
        if not may(actor.role, action):
            raise DomainError("role_may_not", N_("a grid worker reports and follows up; "
                                                 "{action} needs a mediator"),
                              action=Code("action", action.value))
        event = CaseEvent(self.case_id, self.seq + 1, action, at, actor.node_id, actor.role,
                          reason, data, actor.user)
        self._apply(event)
        self.pending.append(event)
        return event

    @property
    def tier(self) -> str:
        return str(self.facts.get("tier", ""))

    def clocks(self) -> list[Clock]:
        """Every clock its events recorded, running or not (`nodes.domain.clock_plan.clocks_of`
        adds those still to be recorded)."""
        return self.book.clocks(self.state, self.target, self.jc_status)

    def is_overdue(self, today: date) -> bool:
        """Any running clock past its due date (a closing window is not overdue)."""
        return any(c.is_overdue(today) for c in self.clocks())

    def risk(self, today: date, rules: RiskRules) -> Colour:
        """Its risk colour from what the case itself knows (red flag, people, late clocks);
        a node adds repeat parties and supervision where it shows a list (`nodes.web`)."""
        return risk_of(RiskFacts(red_flag=self.red_flag,
                                 people=int(self.facts.get("people_involved") or 1),
                                 overdue_days=days_late(self.clocks(), today)), rules).colour

    def _target_from(self, at: datetime, basis: str, rules: Rules) -> dict[str, Any]:
        """This tier's target from `at`: its own days, or its fast track's when fewer."""
        days, track = rules.target_days, self.facts.get("track")
        track_days = self.facts.get("track_days")
        if track and isinstance(track_days, int) and track_days < days:
            days, basis = track_days, TRACK_BASIS
        deadline = make_deadline(basis, DayUnit.CALENDAR, days, local_date(at),
                                 self.seq + 1, rules.days)
        return deadline.to_dict()
