"""Who may record what (DOMAIN §2, §3): a grid worker (网格员) reports disputes and follows up on
agreements, but does not accept or decide cases unless also an appointed mediator.

A role is one code, or several joined by commas for a person who holds more than one
("grid_worker,mediator": a grid worker who is also an appointed mediator, who may then do
everything a mediator does). Only a grid worker acting without a deciding role is limited;
every other role may record any action the state machine allows, except 包案 (assigning a case
to a leader), which only the committee's head or the centre's staff record (`ASSIGNING`).
"""

from __future__ import annotations

from nodes.domain.states import Action

MEDIATOR = "mediator"
GRID_WORKER = "grid_worker"
STATION_HEAD = "station_head"  # 调委会主任, the committee's head
HUB_STAFF = "hub_staff"  # staff of a township, county or city centre
# Web accounts only (issue 17): they read; they record nothing (a leader owns cases and a
# supervisor issues orders later).
LEADER = "leader"  # 领导
SUPERVISOR = "supervisor"  # 督查, reads the subtree
AUDITOR = "auditor"  # 审计, read only
SYSTEM = "system"  # the node itself (a message from another tier)
# What a person may act as on the command line (the system role is the node's own).
PERSON_ROLES = (MEDIATOR, GRID_WORKER, STATION_HEAD, HUB_STAFF)
# Every role a web account may hold (`fengqiao user add --roles`).
ACCOUNT_ROLES = (*PERSON_ROLES, LEADER, SUPERVISOR, AUDITOR)
# Roles that may record on a case at all (a reader-only account records nothing).
RECORDING = frozenset(PERSON_ROLES)
DECIDING = frozenset({MEDIATOR, STATION_HEAD, HUB_STAFF, SYSTEM})
# Reporting (a grid report, a red flag, a correction of what was reported) and following up
# (the visit, and the breach it finds); deadlines recomputed by the node are no one's decision.
GRID_WORKER_MAY = frozenset({Action.REPORT, Action.FOLLOW_UP, Action.BREACH, Action.RED_FLAG,
                             Action.CORRECT, Action.CLOCKS})
# 包案 (`nodes.domain.ownership`): who answers for a case is said by whoever takes cases in and
# dispatches them, the committee's head at a station (调委会主任) or the centre's staff at a hub
# (受理员); not by the mediator working the case, who does not choose who answers for it.
ASSIGNING = frozenset({STATION_HEAD, HUB_STAFF})


def roles_of(role: str) -> frozenset[str]:
    return frozenset(r.strip() for r in role.split(",") if r.strip())


def records(role: str) -> bool:
    """Whether someone in `role` may record anything (leaders, supervisors, auditors read)."""
    return bool(roles_of(role) & RECORDING)


def manages_users(role: str) -> bool:
    """The committee's head manages the node's web accounts (issue 17). One rule on every tier:
    at a hub the centre's head is given `station_head` next to `hub_staff`
    ("hub_staff,station_head"), so no second flag or role is needed."""
    return STATION_HEAD in roles_of(role)


def may(role: str, action: Action) -> bool:
    """Whether someone acting in `role` may record `action`."""
    roles = roles_of(role)
    if action is Action.ASSIGN:
        return bool(roles & ASSIGNING)
    if GRID_WORKER in roles and not roles & DECIDING:
        return action in GRID_WORKER_MAY
    return True
