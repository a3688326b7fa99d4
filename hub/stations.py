"""The stations a hub hears from, as `hub flow` shows them (issue 16 item 8).

Built from each station's latest heartbeat. What a heartbeat says (its outbox depth, how old its
oldest unsent row was) is true as of when it was sent, so every figure here travels with that
time: a station that went silent 10 minutes ago with 25 messages waiting is shown as exactly that,
not as a station with nothing waiting. The hub itself is never listed: it hears its own heartbeats
(a county binds its own reports), but it is not a station of its own subtree, and its own heartbeat
goes quiet with the broker, so it listed itself as silent during an outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.store import HubStore
from nodes.messaging.settings import SILENT_AFTER_S


@dataclass(frozen=True)
class Station:
    node_id: str
    tier: str
    outbox_depth: int  # as of `last_heartbeat`
    last_heartbeat: str  # the station's time of its latest heartbeat
    silent: bool
    name: str = ""
    last_heard_s: float = 0.0  # from `last_heartbeat` to the hub's now
    oldest_unsent_s: int | None = None  # how long its oldest waiting row had waited, as of then


def stations(store: HubStore, now: datetime, hub_id: str | None = None) -> list[Station]:
    """Every station heard from but the hub itself; the silent first (longest silent first),
    then by code."""
    out = []
    for beat in store.heartbeats():
        if beat.node_id == hub_id:
            continue
        age = max(0.0, (now - datetime.fromisoformat(beat.at)).total_seconds())
        out.append(Station(beat.node_id, beat.tier, beat.outbox_depth, beat.at,
                           age > SILENT_AFTER_S, beat.name, round(age, 1),
                           beat.oldest_unsent_s if beat.outbox_depth else None))
    return sorted(out, key=lambda s: (not s.silent, -s.last_heard_s if s.silent else 0.0,
                                      s.node_id))
