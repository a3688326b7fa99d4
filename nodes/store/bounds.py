"""Bounds on the two tables a sender can fill: quarantine and held (issue 15, "bounds everywhere").

Quarantine keeps at most `QUARANTINE_MAX_ROWS` rows, none older than `QUARANTINE_MAX_AGE_S`: the
oldest go first, and quarantine is the only table these bounds delete from. Held keeps at most
`HELD_MAX_ROWS` rows, none older than `HELD_MAX_AGE_S`: what goes is moved to quarantine with
the reason (`InboxStore.move_held`), because a held message is an ordered message its sender will
not send again. Every eviction adds to a counter in `counters` and raises an alarm
(`nodes.alarms`), so a bound reached is never silent. The limits are read from
`nodes.messaging.settings` when they are used.

Times are compared as datetimes, not as strings (a stamp's UTC offset may differ from the
clock's); the queries here read no bodies, and the tables are small by these very bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from nodes.alarms import AlarmKind, clear_alarm, raise_alarm
from nodes.messaging import settings
from nodes.store.alarms import AlarmStore

QUARANTINE_EVICTED = "quarantine_evicted"  # rows deleted from quarantine (cap or age)
HELD_EVICTED = "held_evicted"              # held messages moved to quarantine (cap or age)
QUARANTINE_SUBJECT, HELD_SUBJECT = "quarantine", "held"  # the tables, as alarm subjects
_CHUNK = 500  # ids per DELETE (SQLite's parameter limit is higher; this keeps statements short)


@dataclass(frozen=True)
class HeldRow:
    """A held message without its body: which stream it belongs to and what it waits for."""

    rowid: int
    message_id: str
    sender: str
    case_id: str
    schema_name: str
    seq: int
    prev_seq: int
    held_at: str


@dataclass(frozen=True)
class WaitingStream:
    """A stream (sender, case, kind) with messages held since `since`, waiting for `waiting_for`."""

    sender: str
    case_id: str
    schema_name: str
    since: str
    messages: int
    waiting_for: int

    @property
    def subject(self) -> str:
        return stream_subject(self.sender, self.case_id, self.schema_name)


def stream_subject(sender: str, case_id: str, schema_name: str) -> str:
    """A held stream as an alarm subject: node id, case id and kind (no personal data)."""
    return f"{sender}/{case_id}/{schema_name}"


def older(stamp: str, cutoff: datetime) -> bool:
    at = datetime.fromisoformat(stamp)
    if at.tzinfo is None and cutoff.tzinfo is not None:
        at = at.replace(tzinfo=cutoff.tzinfo)
    return at < cutoff


class BoundsStore(AlarmStore):
    def counters(self) -> dict[str, int]:
        """Persistent counts (evictions), by name."""
        return {str(name): int(value) for name, value in self._all(
            "SELECT name, value FROM counters ORDER BY name")}

    def count(self, name: str, by: int, at: datetime) -> int:
        """Add `by` to counter `name` in its own transaction; returns its new value."""
        with self.atomic():
            return self._count(name, by, at)

    def _count(self, name: str, by: int, at: datetime) -> int:
        """Add `by` to counter `name`; returns its new value."""
        self._write("INSERT INTO counters (name, value, updated_at) VALUES (?,?,?) "
                    "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value, "
                    "updated_at = excluded.updated_at", [name, by, at.isoformat()])
        return int(self._one("SELECT value FROM counters WHERE name = ?", [name])[0])

    # --- quarantine -----------------------------------------------------------------------
    def quarantine_count(self) -> int:
        return int(self._one("SELECT count(*) FROM quarantine")[0])

    def _trim_quarantine(self, at: datetime) -> int:
        """Delete the oldest rows beyond the cap (inside the insert's transaction)."""
        cap = settings.QUARANTINE_MAX_ROWS
        over = self.quarantine_count() - cap
        if over <= 0:
            return 0
        self._write("DELETE FROM quarantine WHERE id IN "
                    "(SELECT id FROM quarantine ORDER BY id LIMIT ?)", [over])
        self._quarantine_evicted(over, f"the cap of {cap} rows was reached", at)
        return over

    def evict_quarantine_before(self, cutoff: datetime, at: datetime) -> int:
        """Delete every quarantined row received before `cutoff`; returns how many."""
        with self.atomic():
            ids = [int(i) for i, stamp in self._all("SELECT id, received_at FROM quarantine")
                   if older(stamp, cutoff)]
            self._delete_ids("quarantine", "id", ids)
            if ids:
                days = settings.QUARANTINE_MAX_AGE_S / 86400
                self._quarantine_evicted(len(ids), f"older than {days:g} days", at)
        return len(ids)

    def _quarantine_evicted(self, n: int, why: str, at: datetime) -> None:
        total = self._count(QUARANTINE_EVICTED, n, at)
        raise_alarm(self, AlarmKind.QUARANTINE_FULL, QUARANTINE_SUBJECT,
                    f"{n} quarantined message(s) deleted, oldest first: {why} "
                    f"({total} deleted in all)", at)

    def _delete_ids(self, table: str, column: str, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            self._write(f"DELETE FROM {table} WHERE {column} IN "  # noqa: S608 - our names only
                        f"({', '.join('?' * len(chunk))})", chunk)

    # --- held -------------------------------------------------------------------------------
    def held_count(self) -> int:
        return int(self._one("SELECT count(*) FROM held")[0])

    def held_rows(self) -> list[HeldRow]:
        """Every held message, oldest first, without its body."""
        return [HeldRow(int(r[0]), *r[1:]) for r in self._all(
            "SELECT rowid, message_id, sender, case_id, schema_name, seq, prev_seq, held_at "
            "FROM held ORDER BY rowid")]

    def waiting_streams(self, cutoff: datetime) -> list[WaitingStream]:
        """Streams whose oldest held message was held before `cutoff`."""
        streams: dict[tuple[str, str, str], list[HeldRow]] = {}
        for row in self.held_rows():
            streams.setdefault((row.sender, row.case_id, row.schema_name), []).append(row)
        waiting = []
        for (sender, case_id, schema_name), rows in streams.items():
            first = min(rows, key=lambda r: datetime.fromisoformat(r.held_at))
            if older(first.held_at, cutoff):
                waiting.append(WaitingStream(sender, case_id, schema_name, first.held_at,
                                             len(rows), min(r.prev_seq for r in rows)))
        return waiting

    def _held_evicted(self, n: int, why: str, at: datetime) -> None:
        total = self._count(HELD_EVICTED, n, at)
        raise_alarm(self, AlarmKind.HELD_FULL, HELD_SUBJECT,
                    f"{n} held message(s) moved to quarantine, their predecessor never came: "
                    f"{why} ({total} in all). These are ordered messages their sender will not "
                    f"send again: check the cases named in quarantine with their senders", at)

    def _stream_released(self, sender: str, case_id: str, schema_name: str, seq: int) -> None:
        """The stream has nothing held any more: its held_waiting alarm (if any) ends, stamped
        with the time its last predecessor (`seq`) was recorded in the inbox."""
        row = self._one("SELECT received_at FROM inbox WHERE sender = ? AND case_id = ? AND "
                        "schema_name = ? AND seq = ?", [sender, case_id, schema_name, seq])
        if row is not None:
            clear_alarm(self, AlarmKind.HELD_WAITING, stream_subject(sender, case_id, schema_name),
                        datetime.fromisoformat(row[0]))
