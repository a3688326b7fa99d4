"""包案 and 首办责任制 (issue 18 item 3): who answers for a case at this node, and who handled it
first.

包案: a case is given to a named leader (领导) who owns it here. The assignment is a note
(`Action.ASSIGN`, data {"leader": account name, "note": text if any}) on the copy of the case the
node holds and still handles; a later one replaces the earlier, the event log keeps both.

Who assigns (`nodes.domain.roles.ASSIGNING`): the committee's head (调委会主任) at a station, the
centre's staff (受理员) at a hub. They take cases in and dispatch them, so they say who answers for
one; the mediator working the case does not choose who answers for it, a grid worker reports,
and a leader, supervisor or auditor records nothing (issue 17).

A leader's name is staff data, like `actor_user`: it stays in this node's event log. The note is
kept in the event's data, not its reason, so a dossier's history (kind, state, time, reason) says
only that an assignment was made here, and being a note it sends no lifecycle report.

首办责任制: the first handler is the node that registered the case first, its origin (the first
part of the case id, `facts["origin_node"]`): a village case's village; a case that starts at a
hub (a petition, later) that hub. It registered the case, so it stays the first handler even if
it escalated before accepting. Every copy knows it: the origin's from its opening, a hub's from
the dossier it opened with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from nodes.domain.case import Actor, Case, DomainError
from nodes.domain.roles import ASSIGNING, roles_of
from nodes.domain.states import Action
from protocol.text import N_

MAX_LEADER = 50  # an account's name (`nodes.cli.acting.MAX_USER`)
MAX_NOTE = 500


@dataclass(frozen=True)
class Assignment:
    """The leader a case is assigned to here, since when, by whom, and the note if any."""

    leader: str
    since: datetime
    by: str | None
    note: str
    seq: int


def current_leader(case: Case) -> Assignment | None:
    """The latest assignment on this copy (None: never assigned here)."""
    for event in reversed(case.events):
        if event.action is Action.ASSIGN and event.data.get("leader"):
            return Assignment(str(event.data["leader"]), event.at, event.actor_user,
                              str(event.data.get("note") or ""), event.seq)
    return None


def assign(case: Case, actor: Actor, at: datetime, *, leader: str, note: str = "") -> None:
    """包案: give the case to `leader` (an account name; the edges check the account)."""
    case.next_state(Action.ASSIGN)
    if not roles_of(actor.role) & ASSIGNING:
        raise DomainError("assign_role", N_(
            "only the committee head or the centre's staff may assign a case to a leader"))
    name, note = leader.strip(), note.strip()
    if not 0 < len(name) <= MAX_LEADER or not name.isprintable():
        raise DomainError("assign_leader", N_(
            "the leader must be an account name of 1 to {limit} characters"), limit=MAX_LEADER)
    if len(note) > MAX_NOTE:
        raise DomainError("assign_note", N_("the note may have at most {limit} characters"),
                          limit=MAX_NOTE)
    now = current_leader(case)
    if now is not None and now.leader == name:
        raise DomainError("assign_same", N_("the case is already assigned to {leader}"),
                          leader=name)
    case.record(Action.ASSIGN, actor, at, "", leader=name, **({"note": note} if note else {}))


def first_handler(case: Case) -> str:
    """The node code of the first handler: the case's origin."""
    origin = case.facts.get("origin_node")
    return str(origin) if origin else case.case_id.split("-", 1)[0]


def first_handler_name(case: Case, names: Mapping[str, str] | None = None) -> str | None:
    """The first handler's name if known: from `names` (node code to name: this node's own,
    say), else from what the origin said in a decision or report-back it sent; else None."""
    code = first_handler(case)
    if names and names.get(code):
        return names[code]
    for event in case.events:
        for key, node, name in (("decision", "deciding_node", "deciding_name"),
                                ("report", "reporting_node", "reporting_name")):
            said = event.data.get(key)
            if isinstance(said, Mapping) and said.get(node) == code and said.get(name):
                return str(said[name])
    return None
