"""The inbox half of the store: what a node received, applied, held back or quarantined.

The consumer records each applied message's id in `inbox` in the same transaction as its effect
(DESIGN §4 rule 2, `apply_and_record`), keeps ordered messages that arrived early in `held`, and
puts what it cannot read in `quarantine` with the reason, its body sealed as a dossier is (it may
be one). Both tables are bounded (`nodes.store.bounds`): a quarantined body over
`QUARANTINE_BODY_MAX` is kept as its first bytes with its length and SHA-256, and held messages
past their cap or age limit move to quarantine, where they can still be found.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nodes.messaging import settings
from nodes.store import personal
from nodes.store.bounds import BoundsStore, HeldRow, older


@dataclass(frozen=True)
class InboxEntry:
    """One message as the inbox records it: enough to ignore it next time and to order its stream."""

    message_id: str
    sender: str
    case_id: str | None
    seq: int
    schema_name: str


@dataclass(frozen=True)
class Refused:
    """Where a refused message came from, kept with its body in quarantine."""

    reason: str
    routing_key: str | None = None
    user_id: str | None = None


class InboxStore(BoundsStore):
    def seen(self, message_id: str) -> bool:
        """Applied (inbox) or waiting for its predecessor (held): either way, not again."""
        return self._one(
            "SELECT 1 FROM inbox WHERE message_id = ? UNION ALL "
            "SELECT 1 FROM held WHERE message_id = ?", [message_id, message_id]) is not None

    def apply_and_record(self, entry: InboxEntry, effect: Callable[[], None],
                         at: datetime) -> None:
        """A message's effect and its inbox row, in one transaction (a savepoint inside an open
        one): both commit, or neither does, so a redelivery finds the message still to do."""
        with self.atomic():
            effect()
            self._record(entry, at)

    def quarantine_and_record(self, entry: InboxEntry, body: bytes, refused: Refused,
                              at: datetime) -> None:
        """A message a rule forbids: kept in quarantine and recorded in the inbox together, so its
        stream moves on and a redelivery is ignored."""
        with self.atomic():
            self.quarantine(body, refused, at)
            self._record(entry, at)

    def record_seen(self, entry: InboxEntry, at: datetime) -> None:
        """Record a message as done without applying it (its stream had moved past it)."""
        with self.atomic():
            self._record(entry, at)

    def _record(self, entry: InboxEntry, at: datetime) -> None:
        self._write(
            "INSERT INTO inbox (message_id, sender, case_id, seq, schema_name, received_at) "
            "VALUES (?,?,?,?,?,?)", [entry.message_id, entry.sender, entry.case_id, entry.seq,
                                     entry.schema_name, at.isoformat()])

    def hold(self, entry: InboxEntry, prev_seq: int, body: bytes, at: datetime) -> None:
        """Keep a message whose predecessor in its stream has not been applied yet; beyond
        `HELD_MAX_ROWS`, the oldest held messages move to quarantine."""
        assert entry.case_id is not None  # noqa: S101 - invariant
        sealed = personal.seal_body(self.cipher, entry.schema_name, entry.message_id, body)
        with self.atomic():
            self._write(
                "INSERT INTO held (message_id, sender, case_id, schema_name, seq, prev_seq, body, "
                "held_at) VALUES (?,?,?,?,?,?,?,?)",
                [entry.message_id, entry.sender, entry.case_id, entry.schema_name, entry.seq,
                 prev_seq, sealed, at.isoformat()])
            cap = settings.HELD_MAX_ROWS
            over = self.held_count() - cap
            if over > 0:
                self.move_held(self.held_rows()[:over], f"the held table's cap of {cap} rows "
                               "was reached", at)

    def move_held_before(self, cutoff: datetime, at: datetime) -> int:
        """Move every message held since before `cutoff` to quarantine; returns how many."""
        days = settings.HELD_MAX_AGE_S / 86400
        with self.atomic():
            rows = [r for r in self.held_rows() if older(r.held_at, cutoff)]
            return self.move_held(rows, f"held longer than {days:g} days", at)

    def move_held(self, rows: Sequence[HeldRow], why: str, at: datetime) -> int:
        """Move held messages to quarantine, each with a reason naming its stream and the
        predecessor it waited for; count them and raise the held_full alarm."""
        if not rows:
            return 0
        with self.atomic():
            for r in rows:
                (body,) = self._one("SELECT body FROM held WHERE rowid = ?", [r.rowid])
                body = personal.open_body(self.cipher, r.message_id, bytes(body))
                self._write("DELETE FROM held WHERE rowid = ?", [r.rowid])
                self.quarantine(body, Refused(
                    f"{why}, predecessor never came: {r.schema_name} seq {r.seq} of case "
                    f"{r.case_id} from {r.sender}, message {r.message_id}, waited for seq "
                    f"{r.prev_seq} since {r.held_at}"), at)
            self._held_evicted(len(rows), why, at)
        return len(rows)

    def take_held_after(self, sender: str, case_id: str, schema_name: str,
                        seq: int) -> bytes | None:
        """Remove and return the held message whose predecessor is `seq`, if one waits."""
        row = self._one(
            "SELECT message_id, body FROM held WHERE sender = ? AND case_id = ? AND "
            "schema_name = ? AND prev_seq = ? ORDER BY seq LIMIT 1",
            [sender, case_id, schema_name, seq])
        if row is None:
            return None
        self._write("DELETE FROM held WHERE message_id = ?", [row[0]])
        if self._one("SELECT 1 FROM held WHERE sender = ? AND case_id = ? AND schema_name = ? "
                     "LIMIT 1", [sender, case_id, schema_name]) is None:
            self._stream_released(sender, case_id, schema_name, seq)
        return personal.open_body(self.cipher, row[0], bytes(row[1]))

    def last_seq(self, sender: str, case_id: str, schema_name: str) -> int:
        """Highest sequence number applied from this sender for this case (0 if none)."""
        row = self._one(
            "SELECT max(seq) FROM inbox WHERE sender = ? AND case_id = ? AND schema_name = ?",
            [sender, case_id, schema_name])
        return int(row[0] or 0)

    def quarantine(self, body: bytes, refused: Refused, at: datetime) -> None:
        """Keep a refused message with its reason; its body sealed, as it may be a dossier.

        A body over `QUARANTINE_BODY_MAX` is kept as its first bytes, with its whole length and
        SHA-256 (a hash only of what is cut: one of a short body could be reversed, and the whole
        body is there to hash). Beyond `QUARANTINE_MAX_ROWS`, the oldest rows are deleted."""
        received_at = at.isoformat()
        limit = settings.QUARANTINE_BODY_MAX
        truncated = len(body) > limit
        digest = hashlib.sha256(body).hexdigest() if truncated else None
        sealed = personal.seal_quarantined(self.cipher, received_at, body[:limit])
        with self.atomic():
            self._write(
                "INSERT INTO quarantine (received_at, reason, routing_key, user_id, body, sealed, "
                "length, sha256, truncated) VALUES (?,?,?,?,?,1,?,?,?)",
                [received_at, refused.reason, refused.routing_key, refused.user_id, sealed,
                 len(body), digest, int(truncated)])
            self._trim_quarantine(at)

    def quarantined(self) -> list[dict[str, Any]]:
        """Every quarantined message, oldest first, its body opened as it was kept (whole, or
        its first bytes when `truncated`), with the `length` and `sha256` of the whole body."""
        rows = self._all(
            "SELECT id, received_at, reason, routing_key, user_id, body, sealed, length, sha256, "
            "truncated FROM quarantine ORDER BY id")
        out = []
        for i, at, reason, key, user, body, sealed, length, digest, truncated in rows:
            kept = personal.open_quarantined(self.cipher, at, bytes(body), bool(sealed))
            out.append({"id": i, "received_at": at, "reason": reason, "routing_key": key,
                        "user_id": user, "body": kept,
                        "length": len(kept) if length is None else int(length),
                        "sha256": digest or hashlib.sha256(kept).hexdigest(),
                        "truncated": bool(truncated)})
        return out
