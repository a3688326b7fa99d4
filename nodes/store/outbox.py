"""The outbox half of the store: rows waiting to be published, in the order they were written.

The service writes rows inside its case transaction (`add_outbox`); the relay reads them in id
order (`unsent`) and marks them sent after their confirms (`mark_sent`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from nodes.records import OutboxRow
from nodes.store import personal
from nodes.store.core import StoreCore
from nodes.store.errors import StoreBusy
from nodes.store.statements import OUTBOX_INSERT, _chunks, _values
from protocol.topology import EXCHANGE_REPORT


class UnsentMessage(NamedTuple):
    """A case's message still in the outbox: the event that wrote it (its action and the state
    it left the case in) and since when it waits."""

    case_id: str
    seq: int
    action: str
    state_after: str
    created_at: str


def id_runs(ids: Iterable[int]) -> list[tuple[int, int]]:
    """The ids as (first, last) runs of consecutive integers: every integer of a run is one of
    the ids, so `BETWEEN first AND last` touches exactly these rows and no other."""
    runs: list[tuple[int, int]] = []
    for i in sorted(set(ids)):
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


class OutboxStore(StoreCore):
    def add_outbox(self, rows: Sequence[OutboxRow]) -> None:
        """Dossiers (personal data) are sealed at rest like `parties`; the rest stay as they are.
        One multi-row INSERT: the rows get their ids (the relay's order) in the given order."""
        for chunk in _chunks(rows):
            params: list[Any] = []
            for r in chunk:
                body = personal.seal_body(self.cipher, r.schema_name, r.message_id, r.body)
                params += [r.message_id, r.case_id, r.seq, r.exchange, r.routing_key,
                           r.schema_name, body, r.created_at]
            self._write(OUTBOX_INSERT + _values(8, len(chunk)), params)

    def unsent(self, limit: int = 500, after_id: int = 0) -> list[OutboxRow]:
        """Unsent rows in order (those with ids above `after_id`), bodies opened, ready to
        publish."""
        rows = self._all(
            "SELECT message_id, case_id, seq, exchange, routing_key, schema_name, body, "
            "created_at, id, attempts FROM outbox WHERE sent_at IS NULL AND id > ? ORDER BY id "
            "LIMIT ?", [after_id, limit])
        return [OutboxRow(m, c, q, e, k, s, personal.open_body(self.cipher, m, bytes(b)), at, i, n)
                for m, c, q, e, k, s, b, at, i, n in rows]

    def outbox_body(self, message_id: str) -> bytes | None:
        """One outbox row's body as it was (or will be) published, sent or not."""
        row = self._one("SELECT body FROM outbox WHERE message_id = ?", [message_id])
        return None if row is None else personal.open_body(self.cipher, message_id, bytes(row[0]))

    def outbox_depth(self) -> int:
        return int(self._one("SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0])

    def oldest_unsent_at(self, after_id: int = 0) -> str | None:
        """When the oldest unsent row (id above `after_id`) was written: a heartbeat says how
        long the backlog has waited, not only how long it is."""
        row = self._one("SELECT created_at FROM outbox WHERE sent_at IS NULL AND id > ? "
                        "ORDER BY id LIMIT 1", [after_id])
        return None if row is None else str(row[0])

    def unsent_case_messages(self, case_id: str | None = None) -> list[UnsentMessage]:
        """Unsent rows that carry a case to another tier (escalations, decisions, report-backs:
        every exchange but the report one), oldest first, with the action of the event that
        wrote each: until its row leaves, a case must not read as if its message had."""
        rows = self._all(
            "SELECT o.case_id, o.seq, e.action, e.state_after, o.created_at FROM outbox o "
            "JOIN case_events e ON e.case_id = o.case_id AND e.seq = o.seq "
            "WHERE o.sent_at IS NULL AND o.exchange != ? AND (? IS NULL OR o.case_id = ?) "
            "ORDER BY o.id", [EXCHANGE_REPORT, case_id, case_id])
        return [UnsentMessage(str(c), int(q), str(a), str(st), str(at))
                for c, q, a, st, at in rows]

    def mark_sent(self, ids: Sequence[int], at: datetime, *, wait: bool = True) -> bool:
        """Mark exactly these rows sent, in one transaction: one UPDATE per run of consecutive
        ids (a relay's marks are mostly one run), so the write lock is held briefly. With
        `wait=False`, returns False at once, having written nothing, if another connection holds
        the write lock."""
        try:
            with self.atomic(wait=wait):
                self._db.conn.executemany(
                    "UPDATE outbox SET sent_at = ? WHERE id BETWEEN ? AND ?",
                    [(at.isoformat(), first, last) for first, last in id_runs(ids)])
        except StoreBusy:
            if wait:
                raise
            return False
        return True
