"""What a case page's step is made of (`nodes.web.actions`, `nodes.web.path_steps`): its fields,
the command it builds (or, for a correction, the service call it runs), and when it is offered.

Kept apart from the table of steps so that the table can be split across modules without an
import cycle."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from nodes.domain.case import Case, DomainError
from nodes.domain.states import Action
from nodes.i18n import N_
from nodes.service import CaseService, Command

MAX_DAYS = 365


@dataclass(frozen=True)
class Field:
    name: str
    label: str  # message id
    # text, textarea, check, select, date, days; "party": a choice of the case's parties (or all
    # of them); "personal": a text field for a party's details (the browser keeps none of it)
    kind: str = "text"
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (value, message id of its label)
    default: str = ""
    # How a choice's label is found: "msg" (its message id), "ref" (`nodes.labels.ref_label` of
    # the value) or "word" (`nodes.labels.word` of the value).
    labels: str = "msg"


class FieldProblem(DomainError):
    """A form field's value cannot be used: shown beside `field`."""

    def __init__(self, field: str, message: str, **params: Any) -> None:
        super().__init__("web_field", message, **params)
        self.field = field


Values = Mapping[str, str]
Build = Callable[[Values, CaseService, date], Command]
# A step the service runs itself rather than through `act` (a correction writes a party's new
# version beside its event): values, service, case id, role, user.
Run = Callable[[Values, CaseService, str, str, "str | None"], Case]


@dataclass(frozen=True)
class Step:
    action: Action
    fields: tuple[Field, ...]
    build: Build | None = None
    run: Run | None = None
    # Offered only when this holds too (a report-up only when a tier above waits for one).
    when: Callable[[Case], bool] | None = None


def days(values: Values, name: str) -> int:
    v = values.get(name, "")
    if not v.isdigit() or not 1 <= int(v) <= MAX_DAYS:
        raise FieldProblem(name, N_("a number of days from 1 to {limit}"), limit=MAX_DAYS)
    return int(v)


def date_of(values: Values, name: str, default: date) -> date:
    v = values.get(name, "")
    try:
        return date.fromisoformat(v) if v else default
    except ValueError:
        raise FieldProblem(name, N_("a date such as 2026-03-05")) from None


def check(values: Values, name: str) -> bool:
    return values.get(name, "") in ("1", "on", "yes", "true")


def party_of(values: Values, name: str = "party") -> int | None:
    """The party chosen (its number as the case page lists them), None for the parties as a
    whole."""
    v = values.get(name, "")
    if not v:
        return None
    if not v.isdigit() or int(v) < 1:
        raise FieldProblem(name, N_("choose a party from the list"))
    return int(v)
