"""包案 on the case page (`nodes.domain.ownership`): the step that gives the case to one of this
node's leaders (a select of the enabled accounts with the leader role), and the lines the page
shows: the leader in charge since when, and the first handler (首办)."""

from __future__ import annotations

from datetime import date
from typing import Any

from nodes.cli.ownership_render import node_names, ownership_lines
from nodes.domain.case import Case, DomainError
from nodes.domain.ownership import assign
from nodes.domain.states import Action
from nodes.i18n import N_
from nodes.node import Node
from nodes.service import CaseService, Command
from nodes.store.core import StoreCore
from nodes.store.leaders import check_leader, leader_names
from nodes.web.step_kit import Field, FieldProblem, Step, Values


def _assign(v: Values, s: CaseService, today: date) -> Command:
    leader = v.get("leader", "")
    if isinstance(s.store, StoreCore):  # an enabled leader's account of this node
        try:
            check_leader(s.store, leader)
        except DomainError as exc:
            raise FieldProblem("leader", exc.message, **exc.params) from None
    return lambda case, actor, at: assign(case, actor, at, leader=leader, note=v.get("note", ""))


ASSIGN_STEP = Step(Action.ASSIGN, (Field("leader", N_("Leader in charge"), "leader", True),
                                   Field("note", N_("Note"), "textarea")), _assign)


def ownership_view(node: Node, case: Case, lang: str) -> dict[str, Any]:
    """The page's lines (leader in charge, first handler) and the leaders to choose from."""
    return {"lines": ownership_lines(case, lang, node_names(node)),
            "leaders": leader_names(node.store)}
