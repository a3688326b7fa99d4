"""The hub's own tables behind their own API: its subtree's lifecycle reports and the stations'
last heartbeats (no personal data in either). The one place in `hub/` that holds SQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from hub.schema import hub_migrations
from nodes.crypto import DataCipher
from nodes.store.sqlite_store import SqliteStore
from protocol.messages import Heartbeat, LifecycleReport

# Final states at a tier: a case counted as registered there and in one of these is not open.
GONE_FROM_TIER = ("CLOSED", "CLOSED_UNRESOLVED", "ESCALATED", "REFERRED_OUT", "REJECTED",
                  "HANDED_DOWN", "SETTLED_ABOVE", "SETTLED_BELOW")


class HeartbeatRow(NamedTuple):
    """A station's latest heartbeat as kept: its backlog is as of `at` (the station's clock)."""

    node_id: str
    tier: str
    outbox_depth: int
    at: str
    name: str
    oldest_unsent_s: int | None


class HubStore(SqliteStore):
    """A node's store with the hub's tables added (migrated on open)."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL",
                 cipher: DataCipher | None = None) -> None:
        super().__init__(path, synchronous=synchronous, cipher=cipher)
        try:
            self.migrate(hub_migrations)
        except BaseException:
            self.close()
            raise

    def record_report(self, message_id: str, case_id: str, seq: int, r: LifecycleReport) -> None:
        """Keep a report once (a duplicate is ignored by its message id)."""
        self._write(
            "INSERT OR IGNORE INTO reports (message_id, case_id, seq, origin_node, node_id, tier, "
            "event, state_from, state_to, at, dispute_type, escalated_from, sent_at_child) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [message_id, case_id, seq, r.origin_node, r.node_id, r.tier.value, r.event,
             r.state_from, r.state_to, r.at.isoformat(), r.dispute_type, r.escalated_from,
             r.sent_at_child.isoformat() if r.sent_at_child else None])

    def record_heartbeat(self, h: Heartbeat) -> None:
        """Keep a station's latest heartbeat (an older one arriving late changes nothing)."""
        self._write(
            "INSERT INTO heartbeats (node_id, tier, outbox_depth, last_sent_at, at, name, "
            "oldest_unsent_s) VALUES (?,?,?,?,?,?,?) ON CONFLICT(node_id) DO UPDATE SET "
            "tier=excluded.tier, outbox_depth=excluded.outbox_depth, "
            "last_sent_at=excluded.last_sent_at, at=excluded.at, name=excluded.name, "
            "oldest_unsent_s=excluded.oldest_unsent_s WHERE excluded.at > heartbeats.at",
            [h.node_id, h.tier.value, h.outbox_depth,
             h.last_sent_at.isoformat() if h.last_sent_at else None, h.at.isoformat(), h.label,
             h.oldest_unsent_s])

    def cases_with_event(self, tier: str, event: str) -> int:
        """Distinct cases at `tier` with a report of this event."""
        return int(self._one("SELECT count(DISTINCT case_id) FROM reports WHERE tier = ? AND "
                             "event = ?", [tier, event])[0])

    def cases_reaching(self, tier: str, states: tuple[str, ...]) -> int:
        """Distinct cases at `tier` with a report ending in one of these states, not counting a
        copy closed after the case was settled above (it is counted where it was settled)."""
        marks = ",".join("?" * len(states))
        return int(self._one(f"SELECT count(DISTINCT case_id) FROM reports WHERE tier = ? AND "  # noqa: S608
                             f"state_to IN ({marks}) AND state_from IS NOT 'SETTLED_ABOVE'",
                             [tier, *states])[0])

    def transits(self, tier: str) -> list[float]:
        """Seconds from the child's send to the registration at `tier`, one per arrival."""
        return [(datetime.fromisoformat(at) - datetime.fromisoformat(sent)).total_seconds()
                for at, sent in self._all(
                    "SELECT at, sent_at_child FROM reports WHERE tier = ? AND event = 'register' "
                    "AND sent_at_child IS NOT NULL", [tier])]

    def red_flag_case_ids(self) -> set[str]:
        """Cases with a red flag recorded here (`SqliteStore`) or reported from the subtree."""
        return super().red_flag_case_ids() | {str(r[0]) for r in self._all(
            "SELECT DISTINCT case_id FROM reports WHERE event = 'red_flag'")}

    def holder_of(self, case_id: str) -> str | None:
        """The node of the newest report about the case: where it was last seen moving."""
        row = self._one("SELECT node_id FROM reports WHERE case_id = ? ORDER BY at DESC, seq DESC "
                        "LIMIT 1", [case_id])
        return None if row is None else str(row[0])

    def red_flags_reported(self) -> list[dict[str, Any]]:
        """Each case a red flag was reported for, as the latest report tells it: where the case
        is (`held_at`) and in which state, its type, and when the first report was made."""
        rows = self._all(
            "SELECT r.case_id, r.node_id, r.state_to, r.dispute_type, f.first_at FROM reports r "
            "JOIN (SELECT case_id, min(at) AS first_at, max(at) AS last_at FROM reports WHERE "
            "case_id IN (SELECT case_id FROM reports WHERE event = 'red_flag') GROUP BY case_id)"
            " f ON f.case_id = r.case_id AND r.at = f.last_at ORDER BY f.first_at, r.case_id, "
            "r.seq")
        latest = {str(c): {"case_id": str(c), "held_at": str(n), "state": str(s),
                           "dispute_type": str(d), "source": None, "opened_at": str(first),
                           "target_due": None} for c, n, s, d, first in rows}
        return list(latest.values())

    def heartbeats(self) -> list[HeartbeatRow]:
        """Every station's latest heartbeat, by node id."""
        return [HeartbeatRow(str(n), str(t), int(d), str(at), str(name),
                             None if old is None else int(old)) for n, t, d, at, name, old in
                self._all("SELECT node_id, tier, outbox_depth, at, name, oldest_unsent_s "
                          "FROM heartbeats ORDER BY node_id")]
