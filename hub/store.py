"""The hub's own tables behind their own API: its subtree's lifecycle reports and the stations'
last heartbeats (no personal data in either). The one place in `hub/` that holds SQL."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from hub.schema import hub_migrations
from nodes.crypto import DataCipher
from nodes.deadline_sweep import ENDED, SWEEP_EVENTS
from nodes.store.deadline_alerts import DUE_SOON, OVERDUE
from nodes.store.sqlite_store import SqliteStore
from nodes.supervision import ORDER_EVENTS, ORDER_LISTED
from protocol.messages import Heartbeat, LifecycleReport

# Final states at a tier: a case counted as registered there and in one of these is not open.
GONE_FROM_TIER = ("CLOSED", "CLOSED_UNRESOLVED", "ESCALATED", "REFERRED_OUT", "REJECTED",
                  "HANDED_DOWN", "SETTLED_ABOVE", "SETTLED_BELOW")
# The deadline sweep's reports move nothing: where a case is and in which state are read from the
# others (its transitions and red flags).
MOVING = f"event NOT IN ({', '.join(repr(e) for e in sorted(SWEEP_EVENTS))})"
# The newest report of one node about one case, a red flag left out (it ends no alert): by seq,
# then a sweep's report after the transition of the same seq, then by time.
NEWEST = ("SELECT event, clock_kind, due, tier, state_to, dispute_type, at, risk FROM reports "  # noqa: S608
          "WHERE case_id = ? AND node_id = ? AND event != 'red_flag' ORDER BY seq DESC, "
          f"event IN ('{OVERDUE}', '{DUE_SOON}', '{ENDED}') DESC, at DESC LIMIT 1")


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
        """Keep a report once (a duplicate is ignored by its message id), and the case's overdue
        or due-soon state at the reporting node as its newest report now tells it. A listed
        order's report goes to `listed_orders` only: it moves no case."""
        if r.event in ORDER_EVENTS:
            self._record_listed(case_id, r)
            return
        with self.atomic():
            self._write(
                "INSERT OR IGNORE INTO reports (message_id, case_id, seq, origin_node, node_id, "
                "tier, event, state_from, state_to, at, dispute_type, escalated_from, "
                "sent_at_child, clock_kind, due, risk) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [message_id, case_id, seq, r.origin_node, r.node_id, r.tier.value, r.event,
                 r.state_from, r.state_to, r.at.isoformat(), r.dispute_type, r.escalated_from,
                 r.sent_at_child.isoformat() if r.sent_at_child else None, r.clock_kind,
                 r.due.isoformat() if r.due else None, r.risk])
            if r.event in SWEEP_EVENTS or (r.event != "red_flag" and self._listed(case_id,
                                                                                r.node_id)):
                self._newest_deadline(case_id, r.node_id)

    def _record_listed(self, case_id: str, r: LifecycleReport) -> None:
        """A listed order starts (or, answered, ends; an end that overtook its start still
        records the order, as ended)."""
        if not r.order_id:
            return
        with self.atomic():
            self._write("INSERT OR IGNORE INTO listed_orders (order_id, case_id, issuing_node, "
                        "tier, due, listed_at) VALUES (?,?,?,?,?,?)",
                        [r.order_id, case_id, r.node_id, r.tier.value,
                         r.due.isoformat() if r.due else None, r.at.isoformat()])
            if r.event != ORDER_LISTED:
                self._write("UPDATE listed_orders SET ended_at = ? WHERE order_id = ?",
                            [r.at.isoformat(), r.order_id])

    def listed_orders(self, *, open_only: bool = True) -> list[dict[str, Any]]:
        """The subtree's listed supervision orders (this hub's own included), earliest answer
        date first; only those not answered yet unless `open_only` is False."""
        rows = self._all("SELECT order_id, case_id, issuing_node, tier, due, listed_at, ended_at "
                         "FROM listed_orders" + (" WHERE ended_at IS NULL" if open_only else "")
                         + " ORDER BY due, order_id")
        keys = ("order_id", "case_id", "issuing_node", "tier", "due", "listed_at", "ended_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def _listed(self, case_id: str, node_id: str) -> bool:
        """Whether the case is on the list for that node (a transition matters only then)."""
        return self._one("SELECT 1 FROM deadlines WHERE case_id = ? AND node_id = ?",
                         [case_id, node_id]) is not None

    def _newest_deadline(self, case_id: str, node_id: str) -> None:
        """The newest report wins, whatever order they came in: an overdue or due-soon one is
        kept, anything else (a transition, the alert's end) takes the case off the list."""
        row = self._one(NEWEST, [case_id, node_id])
        if row is None or row[0] not in (OVERDUE, DUE_SOON) or row[2] is None:
            self._write("DELETE FROM deadlines WHERE case_id = ? AND node_id = ?",
                        [case_id, node_id])
            return
        event, kind, due, tier, state, dispute_type, at, risk = row
        self._write(
            "INSERT OR REPLACE INTO deadlines (case_id, node_id, tier, status, clock_kind, due, "
            "state, dispute_type, reported_at, risk) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [case_id, node_id, tier, event, kind, due, state, dispute_type, at, risk])

    def deadlines_reported(self, today: date) -> list[dict[str, Any]]:
        """The subtree's cases reported overdue or due soon (this hub's own included), each as
        its node's newest report tells it, earliest due first, with the station's name as its
        heartbeat gave it. A due-soon case whose date has passed counts as overdue (its node
        may be silent), a judicial-confirmation window never: it closes."""
        rows = self._all(
            "SELECT d.case_id, d.node_id, d.tier, d.status, d.clock_kind, d.due, d.state, "
            "d.dispute_type, d.reported_at, h.name, d.risk FROM deadlines d LEFT JOIN heartbeats h ON "
            "h.node_id = d.node_id ORDER BY d.due, d.case_id, d.node_id")
        out = []
        for case_id, node, tier, status, kind, due, state, dispute_type, at, name, risk in rows:
            day = date.fromisoformat(due)
            late = day < today and (status == OVERDUE or kind != "jc_window")
            if not late and day < today:  # a window that has closed
                continue
            out.append({"case_id": case_id, "node_id": node, "name": name or "", "tier": tier,
                        "status": OVERDUE if late else DUE_SOON, "clock_kind": kind,
                        "due": due, "days_late": (today - day).days if late else 0,
                        "days_left": 0 if late else (day - today).days,
                        "state": state, "dispute_type": dispute_type, "reported_at": at,
                        "risk": risk})
        return out

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
        row = self._one(f"SELECT node_id FROM reports WHERE case_id = ? AND {MOVING} "  # noqa: S608
                        "ORDER BY at DESC, seq DESC LIMIT 1", [case_id])
        return None if row is None else str(row[0])

    def reported_case(self, case_id: str) -> tuple[str, str] | None:
        row = self._one(f"SELECT state_to, dispute_type FROM reports WHERE case_id = ? AND "  # noqa: S608
                        f"{MOVING} ORDER BY at DESC, seq DESC LIMIT 1", [case_id])
        return None if row is None else (str(row[0]), str(row[1]))

    def red_flags_reported(self) -> list[dict[str, Any]]:
        """Each case a red flag was reported for, as the latest report tells it: where the case
        is (`held_at`) and in which state, its type, and when the first report was made."""
        rows = self._all(
            "SELECT r.case_id, r.node_id, r.state_to, r.dispute_type, f.first_at FROM reports r "  # noqa: S608
            "JOIN (SELECT case_id, min(at) AS first_at, max(at) AS last_at FROM reports WHERE "
            f"{MOVING} AND case_id IN (SELECT case_id FROM reports WHERE event = 'red_flag') "
            "GROUP BY case_id) f ON f.case_id = r.case_id AND r.at = f.last_at AND "
            f"r.{MOVING} ORDER BY f.first_at, r.case_id, r.seq")
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
