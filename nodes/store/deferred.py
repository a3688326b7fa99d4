"""The deferred table: what a hub set aside because the child it came from sent too many
escalations (issue 15, `nodes.messaging.pacing`).

Since m013 a row is a broker message as it arrived, before any check: body (one envelope or a
bundle), the headers the consumer reads (signature, bundle count, schema), routing key and user
id. It is acked and kept here, sealed whole like every dossier, in arrival order; the consumer
checks and applies the oldest ones later, through its full path, each in one transaction with its
removal from here, so a restart in between loses nothing and applies nothing twice. Rows from
before m013 (`headers` NULL) hold one envelope that was already checked. A redelivered message
(same route, headers and body) is not kept twice.

The table's size is read from its first and last rows (rows leave only from the front, oldest
first), so a cap check costs two index lookups, not a scan.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nodes.store import personal
from nodes.store.inbox import InboxStore, Refused

Headers = dict[str, Any]


@dataclass(frozen=True)
class DeferredRow:
    id: int
    message_id: str  # the row's key: a digest of the message as it arrived (an envelope's id before m013)
    sender: str
    routing_key: str
    user_id: str | None
    body: bytes  # opened
    attempts: int
    headers: Headers | None  # None: an envelope already checked when it was deferred (before m013)


def message_key(routing_key: str, user_id: str | None, headers: str, body: bytes) -> str:
    """What identifies a broker message before it is decoded: a redelivery has the same."""
    digest = hashlib.sha256()
    for part in (routing_key.encode(), (user_id or "").encode(), headers.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return "raw-" + digest.hexdigest()


class DeferredStore(InboxStore):
    def defer(self, sender: str, body: bytes, routing_key: str, user_id: str | None,
              headers: Headers, at: datetime) -> None:
        """Keep one broker message, unchecked, until its turn comes."""
        text = json.dumps(headers, sort_keys=True, separators=(",", ":"))
        key = message_key(routing_key, user_id, text, body)
        # Sealed whatever it holds: it has not been decoded, so it may well be a dossier.
        sealed = personal.seal_body(self.cipher, "case_escalated", key, body)
        length = len(body) + len(text)
        self._write(  # one statement: the running total cannot go wrong between two
            "INSERT OR IGNORE INTO deferred (message_id, sender, routing_key, user_id, body, "
            "headers, length, total, attempts, deferred_at) SELECT ?,?,?,?,?,?,?, ? + coalesce("
            "(SELECT total FROM deferred ORDER BY id DESC LIMIT 1), 0), 0, ?",
            [key, sender, routing_key, user_id, sealed, text, length, length, at.isoformat()])

    def deferred_from(self, sender: str) -> bool:
        """Whether messages of this child wait here (its next ones must queue behind them)."""
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
        """The oldest `limit` deferred messages, opened."""
        rows = self._all(
            "SELECT id, message_id, sender, routing_key, user_id, body, attempts, headers "
            "FROM deferred ORDER BY id LIMIT ?", [limit])
        return [DeferredRow(int(i), str(m), str(s), str(k), u,
                            personal.open_body(self.cipher, str(m), bytes(b)), int(a),
                            None if h is None else json.loads(h))
                for i, m, s, k, u, b, a, h in rows]

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
                f"deferred message failed to apply {limit} times (message {row.message_id} "
                f"from {row.sender})", row.routing_key, row.user_id), at)
            return True
