"""The deferred table: escalations a hub set aside because their child sent too many (issue 15).

An escalation from a child over its hourly limit (`nodes.messaging.pacing`) is acked and kept
here, sealed like every dossier, in arrival order; the consumer applies the oldest ones later,
each in one transaction with its removal from here, so a restart in between loses nothing and
applies nothing twice. A message id already waiting here is not kept twice.

The table's size is read from its first and last rows (rows leave only from the front, oldest
first), so a cap check costs two index lookups, not a scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodes.store import personal
from nodes.store.inbox import InboxStore, Refused


@dataclass(frozen=True)
class DeferredRow:
    id: int
    message_id: str
    sender: str
    routing_key: str
    user_id: str | None
    body: bytes  # opened
    attempts: int


class DeferredStore(InboxStore):
    def defer(self, message_id: str, sender: str, body: bytes, routing_key: str,
              user_id: str | None, at: datetime) -> None:
        """Keep one checked escalation (its envelope's bytes) until its turn comes."""
        sealed = personal.seal_body(self.cipher, "case_escalated", message_id, body)
        with self.atomic():
            last = self._one("SELECT total FROM deferred ORDER BY id DESC LIMIT 1")
            total = (int(last[0]) if last else 0) + len(body)
            self._write(
                "INSERT OR IGNORE INTO deferred (message_id, sender, routing_key, user_id, body, "
                "length, total, attempts, deferred_at) VALUES (?,?,?,?,?,?,?,0,?)",
                [message_id, sender, routing_key, user_id, sealed, len(body), total,
                 at.isoformat()])

    def deferred_from(self, sender: str) -> bool:
        """Whether escalations of this child wait here (its next ones must queue behind them)."""
        return self._one("SELECT 1 FROM deferred WHERE sender = ? LIMIT 1", [sender]) is not None

    def deferred_size(self) -> tuple[int, int]:
        """(rows, bytes) waiting."""
        first = self._one("SELECT id, total, length FROM deferred ORDER BY id LIMIT 1")
        if first is None:
            return 0, 0
        last = self._one("SELECT id, total FROM deferred ORDER BY id DESC LIMIT 1")
        assert last is not None  # noqa: S101 - the table has a first row
        return int(last[0]) - int(first[0]) + 1, int(last[1]) - int(first[1]) + int(first[2])

    def deferred_head(self, limit: int) -> list[DeferredRow]:
        """The oldest `limit` deferred escalations, opened."""
        rows = self._all(
            "SELECT id, message_id, sender, routing_key, user_id, body, attempts FROM deferred "
            "ORDER BY id LIMIT ?", [limit])
        return [DeferredRow(int(i), str(m), str(s), str(k), u,
                            personal.open_body(self.cipher, str(m), bytes(b)), int(a))
                for i, m, s, k, u, b, a in rows]

    def take_deferred(self, row_id: int) -> None:
        """Remove a row: inside the transaction that applies (or quarantines) it."""
        self._write("DELETE FROM deferred WHERE id = ?", [row_id])

    def deferred_failed(self, row: DeferredRow, limit: int, at: datetime) -> bool:
        """Count a failed attempt; at `limit` attempts move it to quarantine (what the broker's
        delivery limit does to a message that keeps crashing its consumer). True if moved."""
        with self.atomic():
            if row.attempts + 1 < limit:
                self._write("UPDATE deferred SET attempts = attempts + 1 WHERE id = ?", [row.id])
                return False
            self.take_deferred(row.id)
            self.quarantine(row.body, Refused(
                f"deferred escalation failed to apply {limit} times (message {row.message_id} "
                f"from {row.sender})", row.routing_key, row.user_id), at)
            return True
