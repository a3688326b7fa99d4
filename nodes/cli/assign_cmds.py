"""`fengqiao case assign ID --leader NAME [--note TEXT]`: 包案, the case given to a leader who owns
it here (`nodes.domain.ownership`). Recorded by the committee's head or the centre's staff
(`--role station_head` or `hub_staff`); on a node with web accounts the leader must be an
enabled account with the leader role (`nodes.store.leaders.check_leader`)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from nodes.cli.case_transitions import run
from nodes.cli.context import Ctx
from nodes.cli.parser import leaf
from nodes.domain.case import Actor, Case
from nodes.domain.ownership import assign
from nodes.i18n import _
from nodes.service import CaseService, Command
from nodes.store.core import StoreCore
from nodes.store.leaders import check_leader


def assign_command(a: argparse.Namespace, s: CaseService, ctx: Ctx) -> Command:
    def command(case: Case, actor: Actor, at: datetime) -> None:
        if isinstance(s.store, StoreCore):  # the node's accounts, read in the same transaction
            check_leader(s.store, a.leader)
        assign(case, actor, at, leader=a.leader, note=a.note)
    return command


def register(cases: Any) -> None:
    p = leaf(cases, "assign", _("assign the case to a leader who owns it here (包案)"), json=True)
    p.add_argument("case_id", metavar="ID", help=_("case id"))
    p.add_argument("--leader", required=True, metavar="NAME", help=_("the leader's account name"))
    p.add_argument("--note", default="", help=_("note"))
    p.set_defaults(handler=run, build=assign_command)
