"""Alarms kept in the node's file: what an operator must see, beside the cases it concerns.

One row per (kind, subject): raising it again counts and updates it instead of adding rows (an
attacker repeating a condition cannot grow the table), clearing it stamps `cleared_at`; raising a
cleared alarm opens it again. Kinds are `nodes.alarms.AlarmKind` values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nodes.store.core import StoreCore


class AlarmStore(StoreCore):
    def raise_alarm(self, kind: str, subject: str, detail: str, at: datetime) -> bool:
        """Record the alarm; True when it is new (or was cleared), so the caller logs it once."""
        stamp = at.isoformat()
        with self.atomic():
            row = self._one("SELECT cleared_at FROM alarms WHERE kind = ? AND subject = ?",
                            [kind, subject])
            if row is None:
                self._write("INSERT INTO alarms (kind, subject, detail, raised_at, last_at, count)"
                            " VALUES (?,?,?,?,?,1)", [kind, subject, detail, stamp, stamp])
                return True
            fresh = row[0] is not None
            self._write(
                "UPDATE alarms SET detail = ?, last_at = ?, cleared_at = NULL, "
                "count = CASE WHEN cleared_at IS NULL THEN count + 1 ELSE 1 END, "
                "raised_at = CASE WHEN cleared_at IS NULL THEN raised_at ELSE ? END "
                "WHERE kind = ? AND subject = ?", [detail, stamp, stamp, kind, subject])
            return fresh

    def clear_alarm(self, kind: str, subject: str, at: datetime) -> bool:
        """End the alarm; True if one was open."""
        with self.atomic():
            cur = self._write("UPDATE alarms SET cleared_at = ? WHERE kind = ? AND subject = ? "
                              "AND cleared_at IS NULL", [at.isoformat(), kind, subject])
            return cur.rowcount > 0

    def alarms(self, *, open_only: bool = True) -> list[dict[str, Any]]:
        """Alarms, newest first: kind, subject, detail, raised_at, last_at, count, cleared_at."""
        rows = self._all("SELECT kind, subject, detail, raised_at, last_at, count, cleared_at "
                         "FROM alarms WHERE ? OR cleared_at IS NULL ORDER BY last_at DESC",
                         [int(not open_only)])
        keys = ("kind", "subject", "detail", "raised_at", "last_at", "count", "cleared_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]
