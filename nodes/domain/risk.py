"""Risk colour (issue 18 item 5): red, yellow or green per case, from configurable rules, so a
list shows at a glance which cases need a leader's eye. Each colour comes with the reasons that
gave it, shown beside it (a colour alone says nothing to a screen reader or on a grey printout).

Red: a red flag (民转刑 risk, `nodes.domain.commands.red_flag`), a group of `red_people` or more,
overdue by `red_overdue_days` or more, or under listed supervision (挂牌督办). Yellow: overdue at
all, `yellow_people` or more, a party seen in another case here (a repeat dispute), or under
supervision (督办). Green: none of these. Pure: the caller gathers the facts it knows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Colour = Literal["red", "yellow", "green"]
COLOURS: tuple[Colour, ...] = ("red", "yellow", "green")


class RiskRules(BaseModel):
    """`[risk]` in a node's config; the defaults follow DOMAIN §3.2 (5 or more people is a group
    case)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    red_people: int = Field(default=10, ge=2, le=100_000)
    yellow_people: int = Field(default=5, ge=2, le=100_000)
    red_overdue_days: int = Field(default=15, ge=1, le=365)
    repeat_is_yellow: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> RiskRules:
        if self.yellow_people > self.red_people:
            raise ValueError("yellow_people must not be above red_people")
        return self


@dataclass(frozen=True)
class RiskFacts:
    red_flag: bool = False
    people: int = 1
    overdue_days: int = 0  # how many days the most overdue clock is late (0: none is)
    repeat_party: bool = False
    supervision: str | None = None  # the highest open order's level, if any


@dataclass(frozen=True)
class Risk:
    colour: Colour
    reasons: tuple[str, ...]  # codes: red_flag, people, overdue, repeat, supervision


def days_late(clocks: Iterable[Any], today: date) -> int:
    """How many days the most overdue of these clocks is late (0: none is)."""
    return max(((today - c.due).days for c in clocks if c.is_overdue(today)), default=0)


def risk_of(facts: RiskFacts, rules: RiskRules) -> Risk:
    red = [code for code, hit in (
        ("red_flag", facts.red_flag), ("people", facts.people >= rules.red_people),
        ("overdue", facts.overdue_days >= rules.red_overdue_days),
        ("supervision", facts.supervision == "listed_supervision")) if hit]
    if red:
        return Risk("red", tuple(red))
    yellow = [code for code, hit in (
        ("overdue", facts.overdue_days > 0), ("people", facts.people >= rules.yellow_people),
        ("repeat", facts.repeat_party and rules.repeat_is_yellow),
        ("supervision", facts.supervision == "supervise")) if hit]
    return Risk("yellow", tuple(yellow)) if yellow else Risk("green", ())
