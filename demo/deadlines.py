"""`fengqiao demo --days N`: the deadline sweep on the sample city (issue 18 item 1).

After the run to quiet, one new dispute per village is left waiting for acceptance, the demo's
clock moves on N days, every node runs its housekeeping round (the deadline sweep, as `node run`
and `hub run` do every minute) and the reports travel: the city then lists its whole subtree's
overdue and due-soon cases, as `fengqiao hub overdue` would.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from demo.network import sample_network, seed_disputes
from hub.store import HubStore
from nodes.domain.case import SHANGHAI, local_date
from nodes.node import Node
from protocol.areas import Tier


class DemoClock:
    """The system clock, moved on by hand: every node of the demo shares one."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(SHANGHAI) + self.offset

    def advance(self, days: int) -> None:
        self.offset += timedelta(days=days)


def quiet(nodes: dict[str, Node]) -> None:
    while sum(n.publish() for n in nodes.values()) + sum(n.consume() for n in nodes.values()):
        pass


def sweep_after(nodes: dict[str, Node], clock: DemoClock, days: int, city: str,
                rng: random.Random) -> dict[str, Any]:
    """Leave a dispute waiting at each village, move on `days` days, sweep every node; the
    city's lists (no personal data: case ids, nodes, clocks and dates)."""
    for spec in sample_network():
        if spec.tier is Tier.VILLAGE:
            seed_disputes(nodes[spec.node_id], 1, rng)
    quiet(nodes)
    clock.advance(days)
    reports = sum(n.housekeep().deadlines.reports for n in nodes.values())
    quiet(nodes)
    store = nodes[city].store
    assert isinstance(store, HubStore)  # noqa: S101 - the root gives a city a HubStore
    today = local_date(clock.now())
    rows = store.deadlines_reported(today)
    return {"days": days, "today": today.isoformat(), "reports": reports,
            "overdue": [r for r in rows if r["status"] == "overdue"],
            "due_soon": [r for r in rows if r["status"] != "overdue"]}
