"""包案 as the store sees it (`nodes.domain.ownership`): the node's leader accounts, the check
that a case is assigned to one of them, and the cases a leader owns (a leader's own list).

Plain functions over a store's connection, like `nodes.store.users`. The owner of a case is the
leader of its latest `assign` event; the events' data is plain JSON (no personal data in it).
"""

from __future__ import annotations

from nodes.domain.case import DomainError
from nodes.domain.roles import LEADER, roles_of
from nodes.store import users
from nodes.store.core import StoreCore
from protocol.text import N_

_ASSIGNED = ("SELECT case_id, json_extract(data, '$.leader') FROM case_events "
             "WHERE action = 'assign' ORDER BY case_id, seq")


def leader_names(store: StoreCore) -> list[str]:
    """The enabled accounts with the leader role, by name."""
    return [u.name for u in users.users(store) if not u.disabled and LEADER in roles_of(u.roles)]


def check_leader(store: StoreCore, name: str) -> None:
    """A case is assigned to an enabled leader's account of this node. A node without any
    account (a station run from the command line only) takes the name as given."""
    if not users.users(store):
        return
    account = users.user(store, name.strip())
    if account is None:
        raise DomainError("leader_unknown", N_(
            "there is no account {name} at this node: a case is assigned to a leader's account"),
            name=name.strip())
    if LEADER not in roles_of(account.roles):
        raise DomainError("leader_role", N_("the account {name} does not have the leader role"),
                          name=account.name)
    if account.disabled:
        raise DomainError("leader_disabled", N_("the account {name} is disabled"),
                          name=account.name)


def owners(store: StoreCore) -> dict[str, str]:
    """Each assigned case's current leader (its latest assignment)."""
    return {str(case_id): str(leader) for case_id, leader in store._all(_ASSIGNED) if leader}


def cases_led_by(store: StoreCore, name: str) -> set[str]:
    """The cases whose current leader is `name`."""
    return {case_id for case_id, leader in owners(store).items() if leader == name}
