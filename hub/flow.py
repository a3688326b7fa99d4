"""The cross-tier flow table of county and city hubs, built from their subtree's lifecycle reports.

Reports carry no personal data, so this table can be shown to any supervisor. Counting is by
distinct case per tier, so a duplicate or late report cannot inflate a figure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from hub.stations import Station as Station  # re-exported: `hub.flow` was their home
from hub.stations import stations as stations
from hub.store import GONE_FROM_TIER, HubStore
from protocol.areas import TIER_ORDER
from protocol.envelope import Envelope
from protocol.messages import Heartbeat, LifecycleReport


def on_lifecycle_report(store: HubStore, env: Envelope) -> None:
    store.record_report(str(env.message_id), env.case, env.seq, env.payload_as(LifecycleReport))


def on_heartbeat(store: HubStore, env: Envelope) -> None:
    store.record_heartbeat(env.payload_as(Heartbeat))


@dataclass(frozen=True)
class TierFlow:
    tier: str
    registered: int
    settled: int
    escalated: int
    returned: int
    referred_out: int
    closed_unresolved: int
    open: int
    local_resolution_rate: float | None
    escalation_rate: float | None
    transit_mean_s: float | None  # child sent -> registered at this tier
    transit_max_s: float | None
    red_flags: int = 0  # cases flagged at this tier (a red flag is reported at once)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def flow_table(store: HubStore) -> list[TierFlow]:
    rows = []
    for tier in (t.value for t in TIER_ORDER):
        registered = store.cases_with_event(tier, "register")
        settled = store.cases_reaching(tier, ("CLOSED",))
        escalated = store.cases_with_event(tier, "escalate")
        transits = store.transits(tier)
        closed_or_gone = store.cases_reaching(tier, GONE_FROM_TIER)
        rows.append(TierFlow(
            tier=tier, registered=registered, settled=settled, escalated=escalated,
            returned=store.cases_with_event(tier, "hand_down"),
            referred_out=store.cases_reaching(tier, ("REFERRED_OUT",)),
            closed_unresolved=store.cases_reaching(tier, ("CLOSED_UNRESOLVED",)),
            red_flags=store.cases_with_event(tier, "red_flag"),
            open=max(0, registered - closed_or_gone),
            local_resolution_rate=_rate(settled, registered),
            escalation_rate=_rate(escalated, registered),
            transit_mean_s=round(sum(transits) / len(transits), 3) if transits else None,
            transit_max_s=round(max(transits), 3) if transits else None,
        ))
    return rows


def flow_json(store: HubStore, now: datetime, hub_id: str | None = None) -> dict[str, object]:
    """The flow table and the stations heard from; `hub_id`, the hub's own, is not one."""
    return {"tiers": [asdict(r) for r in flow_table(store)],
            "stations": [asdict(s) for s in stations(store, now, hub_id)]}
