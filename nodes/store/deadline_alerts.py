"""The deadline sweep's rows in a node's file (m018): per case, the overdue or due-soon state it
last reported up, and the cases the sweep must look at. Plain functions over a store's
connection, as `nodes.store.supervision` does for orders; the caller (`nodes.deadline_sweep`)
writes a row and the report it sends in one transaction (`store.atomic()`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from nodes.store.core import StoreCore

OVERDUE, DUE_SOON, CLEAR = "overdue", "due_soon", "clear"
ROWS_PER_QUERY = 500


@dataclass(frozen=True)
class Candidate:
    """A case the sweep looks at, as the `cases` projection has it (`nodes.store.due_index`)."""

    case_id: str
    state: str
    last_seq: int
    due_next: str | None  # the earliest running clock that can be late; ALWAYS: to be planned
    due_kind: str | None


@dataclass(frozen=True)
class Alert:
    """What this node last reported about a case's deadlines (`status` CLEAR: nothing is)."""

    case_id: str
    seq: int
    status: str
    clock_kind: str | None
    due: date | None


def candidates(store: StoreCore, today: date, until: date) -> list[Candidate]:
    """The cases with a running clock due by `until` (a window only while it is open, from
    `today`), those whose clock the rules still plan (ALWAYS), those with an alert not ended,
    and those with a supervision order held here to answer by `until`: the only ones whose
    overdue or due-soon state can be new, or over."""
    rows = store._all(
        "SELECT case_id, state, last_seq, due_next, due_kind FROM cases WHERE due_next <= ? "
        "OR (window_due >= ? AND window_due <= ?) OR case_id IN "
        "(SELECT case_id FROM deadline_alerts WHERE status != ?) OR case_id IN "
        "(SELECT case_id FROM supervision WHERE part = 'held' AND answered_at IS NULL "
        "AND respond_by <= ?) ORDER BY case_id",
        [until.isoformat(), today.isoformat(), until.isoformat(), CLEAR, until.isoformat()])
    return [Candidate(str(c), str(s), int(q), d, k) for c, s, q, d, k in rows]


def answer_dates(store: StoreCore, until: date) -> dict[str, list[date]]:
    """The answer dates, by case, of the supervision orders held here unanswered that fall due
    by `until` (the answer to an order is one of a case's clocks: `nodes.deadline_sweep`)."""
    out: dict[str, list[date]] = {}
    for case_id, due in store._all(
            "SELECT case_id, respond_by FROM supervision WHERE part = 'held' AND answered_at IS "
            "NULL AND respond_by <= ?", [until.isoformat()]):
        out.setdefault(str(case_id), []).append(date.fromisoformat(str(due)))
    return out


def alerts_of(store: StoreCore, case_ids: Iterable[str]) -> dict[str, Alert]:
    """The alert rows of these cases, by case id."""
    ids, out = sorted(set(case_ids)), {}
    for start in range(0, len(ids), ROWS_PER_QUERY):
        chunk = ids[start:start + ROWS_PER_QUERY]
        for c, seq, status, kind, due in store._all(
                "SELECT case_id, seq, status, clock_kind, due FROM deadline_alerts WHERE "  # noqa: S608
                f"case_id IN ({','.join('?' * len(chunk))})", chunk):  # placeholders only
            out[str(c)] = Alert(str(c), int(seq), str(status), kind,
                                date.fromisoformat(due) if due else None)
    return out


def put_alert(store: StoreCore, alert: Alert, message_id: str | None, at: datetime) -> None:
    """Keep `alert` as the case's last (`message_id` None: noted here, nothing sent)."""
    store._write(
        "INSERT INTO deadline_alerts (case_id, seq, status, clock_kind, due, message_id, at) "
        "VALUES (?,?,?,?,?,?,?) ON CONFLICT(case_id) DO UPDATE SET seq=excluded.seq, "
        "status=excluded.status, clock_kind=excluded.clock_kind, due=excluded.due, "
        "message_id=excluded.message_id, at=excluded.at",
        [alert.case_id, alert.seq, alert.status, alert.clock_kind,
         alert.due.isoformat() if alert.due else None, message_id, at.isoformat()])


def alert_counts(store: StoreCore) -> dict[str, Any]:
    """How many cases stand reported overdue and due soon."""
    return {str(s): int(n) for s, n in store._all(
        "SELECT status, count(*) FROM deadline_alerts WHERE status != ? GROUP BY status",
        [CLEAR])}
