"""The cross-tier flow table of county and city hubs, built from their subtree's lifecycle reports.

Reports carry no personal data, so this table can be shown to any supervisor. Counting is by
distinct case per tier, so a duplicate or late report cannot inflate a figure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from nodes.messaging.settings import SILENT_AFTER_S
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import TIER_ORDER
from protocol.envelope import Envelope
from protocol.messages import Heartbeat, LifecycleReport


def on_lifecycle_report(store: SqliteStore, env: Envelope) -> None:
    r = env.payload
    assert isinstance(r, LifecycleReport) and env.case_id is not None
    store.db.execute(
        "INSERT OR IGNORE INTO reports (message_id, case_id, seq, origin_node, node_id, tier, "
        "event, state_from, state_to, at, dispute_type, escalated_from, sent_at_child) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [str(env.message_id), env.case_id, env.seq, r.origin_node, r.node_id, r.tier.value,
         r.event, r.state_from, r.state_to, r.at.isoformat(), r.dispute_type, r.escalated_from,
         r.sent_at_child.isoformat() if r.sent_at_child else None])


def on_heartbeat(store: SqliteStore, env: Envelope) -> None:
    h = env.payload
    assert isinstance(h, Heartbeat)
    store.db.execute(
        "INSERT INTO heartbeats (node_id, tier, outbox_depth, last_sent_at, at) "
        "VALUES (?,?,?,?,?) ON CONFLICT(node_id) DO UPDATE SET tier=excluded.tier, "
        "outbox_depth=excluded.outbox_depth, last_sent_at=excluded.last_sent_at, at=excluded.at "
        "WHERE excluded.at > heartbeats.at",
        [h.node_id, h.tier.value, h.outbox_depth,
         h.last_sent_at.isoformat() if h.last_sent_at else None, h.at.isoformat()])


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


@dataclass(frozen=True)
class Station:
    node_id: str
    tier: str
    outbox_depth: int
    last_heartbeat: str
    silent: bool


def _count(store: SqliteStore, tier: str, where: str) -> int:
    return int(store.db.execute(
        f"SELECT count(DISTINCT case_id) FROM reports WHERE tier = ? AND {where}",
        [tier]).fetchone()[0])


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def flow_table(store: SqliteStore) -> list[TierFlow]:
    rows = []
    for tier in (t.value for t in TIER_ORDER):
        registered = _count(store, tier, "event = 'register'")
        settled = _count(store, tier, "state_to = 'CLOSED'")
        escalated = _count(store, tier, "event = 'escalate'")
        transits = [
            (datetime.fromisoformat(at) - datetime.fromisoformat(sent)).total_seconds()
            for at, sent in store.db.execute(
                "SELECT at, sent_at_child FROM reports WHERE tier = ? AND event = 'register' "
                "AND sent_at_child IS NOT NULL", [tier])]
        closed_or_gone = _count(store, tier, "state_to IN ('CLOSED', 'CLOSED_UNRESOLVED', "
                                "'ESCALATED', 'REFERRED_OUT', 'REJECTED', 'HANDED_DOWN')")
        rows.append(TierFlow(
            tier=tier, registered=registered, settled=settled, escalated=escalated,
            returned=_count(store, tier, "event = 'hand_down'"),
            referred_out=_count(store, tier, "state_to = 'REFERRED_OUT'"),
            closed_unresolved=_count(store, tier, "state_to = 'CLOSED_UNRESOLVED'"),
            open=max(0, registered - closed_or_gone),
            local_resolution_rate=_rate(settled, registered),
            escalation_rate=_rate(escalated, registered),
            transit_mean_s=round(sum(transits) / len(transits), 3) if transits else None,
            transit_max_s=round(max(transits), 3) if transits else None,
        ))
    return rows


def stations(store: SqliteStore, now: datetime) -> list[Station]:
    out = []
    for node_id, tier, depth, at in store.db.execute(
            "SELECT node_id, tier, outbox_depth, at FROM heartbeats ORDER BY node_id"):
        age = (now - datetime.fromisoformat(at)).total_seconds()
        out.append(Station(node_id, tier, depth, at, age > SILENT_AFTER_S))
    return out


def flow_json(store: SqliteStore, now: datetime) -> dict[str, object]:
    return {"tiers": [asdict(r) for r in flow_table(store)],
            "stations": [asdict(s) for s in stations(store, now)]}
