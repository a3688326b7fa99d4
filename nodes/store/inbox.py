"""The inbox half of the store: what a node received, applied, held back or quarantined.

The consumer records each applied message's id in `inbox` in the same transaction as its effect
(DESIGN §4 rule 2), keeps ordered messages that arrived early in `held`, and puts what it cannot
read in `quarantine` with the reason, its body sealed as a dossier is (it may be one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nodes.store import personal
from nodes.store.core import StoreCore


class InboxStore(StoreCore):
    def seen(self, message_id: str) -> bool:
        """Applied (inbox) or waiting for its predecessor (held): either way, not again."""
        return self.db.conn.execute(
            "SELECT 1 FROM inbox WHERE message_id = ? UNION ALL "
            "SELECT 1 FROM held WHERE message_id = ?", [message_id, message_id]
        ).fetchone() is not None

    def hold(self, message_id: str, sender: str, case_id: str, schema_name: str, seq: int,
             prev_seq: int, body: bytes, at: datetime) -> None:
        sealed = personal.seal_body(self.cipher, schema_name, message_id, body)
        self._write(
            "INSERT INTO held (message_id, sender, case_id, schema_name, seq, prev_seq, body, "
            "held_at) VALUES (?,?,?,?,?,?,?,?)",
            [message_id, sender, case_id, schema_name, seq, prev_seq, sealed, at.isoformat()])

    def take_held_after(self, sender: str, case_id: str, schema_name: str,
                        seq: int) -> bytes | None:
        """Remove and return the held message whose predecessor is `seq`, if one waits."""
        row = self.db.conn.execute(
            "SELECT message_id, body FROM held WHERE sender = ? AND case_id = ? AND "
            "schema_name = ? AND prev_seq = ? ORDER BY seq LIMIT 1",
            [sender, case_id, schema_name, seq]).fetchone()
        if row is None:
            return None
        self._write("DELETE FROM held WHERE message_id = ?", [row[0]])
        return personal.open_body(self.cipher, row[0], bytes(row[1]))

    def held_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM held").fetchone()[0])

    def record_inbox(self, message_id: str, sender: str, case_id: str | None, seq: int,
                     schema_name: str, at: datetime) -> None:
        self._write(
            "INSERT INTO inbox (message_id, sender, case_id, seq, schema_name, received_at) "
            "VALUES (?,?,?,?,?,?)", [message_id, sender, case_id, seq, schema_name,
                                     at.isoformat()])

    def last_seq(self, sender: str, case_id: str, schema_name: str) -> int:
        """Highest sequence number applied from this sender for this case (0 if none)."""
        row = self.db.conn.execute(
            "SELECT max(seq) FROM inbox WHERE sender = ? AND case_id = ? AND schema_name = ?",
            [sender, case_id, schema_name]).fetchone()
        return int(row[0] or 0)

    def record_order(self, case_id: str | None, issuing_node: str, level: str, reason: str,
                     respond_by: str, issued_at: str) -> None:
        self.db.execute(
            "INSERT INTO orders (case_id, issuing_node, level, reason, respond_by, issued_at) "
            "VALUES (?,?,?,?,?,?)", [case_id, issuing_node, level, reason, respond_by, issued_at])

    def quarantine(self, body: bytes, reason: str, at: datetime, routing_key: str | None = None,
                   user_id: str | None = None) -> None:
        """Keep a refused message with its reason; its body sealed, as it may be a dossier."""
        received_at = at.isoformat()
        sealed = personal.seal_quarantined(self.cipher, received_at, body)
        with self.atomic():
            self.db.execute(
                "INSERT INTO quarantine (received_at, reason, routing_key, user_id, body, sealed) "
                "VALUES (?,?,?,?,?,1)", [received_at, reason, routing_key, user_id, sealed])

    def quarantined(self) -> list[dict[str, Any]]:
        """Every quarantined message, oldest first, its body opened as it arrived."""
        rows = self.db.conn.execute(
            "SELECT id, received_at, reason, routing_key, user_id, body, sealed FROM quarantine "
            "ORDER BY id").fetchall()
        return [{"id": i, "received_at": at, "reason": reason, "routing_key": key, "user_id": user,
                 "body": personal.open_quarantined(self.cipher, at, bytes(body), bool(sealed))}
                for i, at, reason, key, user, body, sealed in rows]
