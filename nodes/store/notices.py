"""The notices table (m019, `nodes.notices`): what is to be told, to whom, and how it went.

A row is written once per (event, recipient, kind): `add_notices` skips one already there, so the
same event written twice, or a periodic check that finds the same thing again, adds nothing. Rows
hold no personal data (a party is named by its place in the case), so they are not sealed.

The notifier claims a batch of rows (`claim`: each one's attempt counted, `sending_since` set)
before it sends and records how each went after (`finish`), each in its own transaction, so no
transaction is open while the gateway is asked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from nodes.notices.model import Finished, NoticeRow, Status, StoredNotice, stamp
from nodes.store.core import StoreCore
from nodes.store.statements import _chunks, _values

INSERT = ("INSERT INTO notices (notice_id, event, case_id, kind, recipient, template, params, "
          "status, attempts, next_attempt_at, created_at, updated_at) VALUES ")
COLUMNS = ("id, notice_id, event, case_id, kind, recipient, template, params, status, attempts, "
           "next_attempt_at, created_at, updated_at, sent_at, gateway_id, delivery, last_error, "
           "sending_since")
WAITING = "status IN ('pending', 'failed')"
CLAIM = ("UPDATE notices SET sending_since = ?, attempts = attempts + 1, updated_at = ? "  # noqa: S608
         f"WHERE id = ? AND {WAITING} AND (sending_since IS NULL OR sending_since < ?)")
RELEASE = ("UPDATE notices SET sending_since = NULL, attempts = attempts - ? "  # noqa: S608
           f"WHERE id = ? AND {WAITING}")


def _stored(row: Sequence[Any]) -> StoredNotice:
    values = dict(zip(COLUMNS.split(", "), row, strict=True))
    values["params"] = json.loads(values["params"])
    return StoredNotice(**values)


class NoticeStore(StoreCore):
    def add_notices(self, rows: Sequence[NoticeRow]) -> int:
        """Write the notices not written yet (inside the caller's transaction, if any); returns
        how many were new."""
        added = 0
        for chunk in _chunks(rows):
            params: list[Any] = []
            for r in chunk:
                at = stamp(r.created_at)
                params += [r.notice_id, r.event, r.case_id, r.kind.value, r.recipient, r.template,
                           json.dumps(dict(r.params), ensure_ascii=False, sort_keys=True),
                           Status.PENDING.value, 0, at, at, at]
            sql = INSERT + _values(12, len(chunk)) + " ON CONFLICT DO NOTHING"
            added += self._write(sql, params).rowcount
        return added

    def due_notices(self, now: datetime, stale: datetime, limit: int) -> list[StoredNotice]:
        """Pending or failed notices whose time has come, oldest due first, not claimed by a
        send still under way (a claim older than `stale` is a dead notifier's)."""
        return [_stored(r) for r in self._all(
            f"SELECT {COLUMNS} FROM notices WHERE {WAITING} AND next_attempt_at <= ? "  # noqa: S608
            "AND (sending_since IS NULL OR sending_since < ?) ORDER BY next_attempt_at, id "
            "LIMIT ?", [stamp(now), stamp(stale), limit])]

    def claim(self, ids: Sequence[int], now: datetime, stale: datetime) -> set[int]:
        """Take these notices for one send each, in one transaction committed before any send:
        each one's attempt counted and its claim stamped. Returns the ids taken (not one no
        longer waiting, or held by another send)."""
        taken: set[int] = set()
        if not ids:
            return taken
        with self.atomic():
            for notice in ids:
                if self._write(CLAIM, [stamp(now), stamp(now), notice,
                                       stamp(stale)]).rowcount == 1:
                    taken.add(notice)
        return taken

    def in_flight(self) -> list[StoredNotice]:
        """Notices claimed and not finished: after a crash, those whose send may have gone."""
        return [_stored(r) for r in self._all(
            f"SELECT {COLUMNS} FROM notices WHERE {WAITING} AND sending_since IS NOT NULL "  # noqa: S608
            "ORDER BY id")]

    def release(self, ids: Sequence[int], *, uncount: bool) -> None:
        """Drop the claims on these notices (a notifier starting after a crash: theirs was the
        dead one's), with `uncount`, taking back the attempt too (a send never begun)."""
        if not ids:
            return
        with self.atomic():
            for notice in ids:
                self._write(RELEASE, [int(uncount), notice])

    def finish(self, done: Sequence[Finished], now: datetime) -> None:
        """Record how the sends went, in one transaction: sent (the gateway's id and status),
        failed (tried again at `retry_at`) or given up (the reason)."""
        if not done:
            return
        with self.atomic():
            for f in done:
                if f.status == Status.SENT:
                    sets = "status = 'sent', sent_at = ?, gateway_id = ?, delivery = ?, " \
                           "last_error = NULL"
                    params: list[Any] = [stamp(now), f.gateway_id, (f.detail or "")[:200]]
                elif f.status == Status.FAILED:
                    assert f.retry_at is not None  # noqa: S101 - a failure says when
                    sets = "status = 'failed', next_attempt_at = ?, last_error = ?"
                    params = [stamp(f.retry_at), (f.detail or "")[:300]]
                else:
                    sets = "status = 'gave_up', last_error = ?"
                    params = [(f.detail or "")[:300]]
                self._write(f"UPDATE notices SET {sets}, sending_since = NULL, "  # noqa: S608
                            "updated_at = ? WHERE id = ?", [*params, stamp(now), f.id])

    def notices(self, status: str | None = None, limit: int = 500) -> list[StoredNotice]:
        """Notices newest first, of one status or all."""
        return [_stored(r) for r in self._all(
            f"SELECT {COLUMNS} FROM notices WHERE ? IS NULL OR status = ? "  # noqa: S608
            "ORDER BY id DESC LIMIT ?", [status, status, limit])]

    def notice_counts(self) -> dict[str, int]:
        return {str(s): int(n) for s, n in self._all(
            "SELECT status, count(*) FROM notices GROUP BY status")}

    # -- what the periodic checks read ---------------------------------------------------------

    def held_orders(self) -> list[tuple[str, str, str, str]]:
        """(order id, case id, level, answer date) of the supervision orders this node holds
        and has not answered."""
        return [(str(o), str(c), str(lv), str(by)) for o, c, lv, by in self._all(
            "SELECT order_id, case_id, level, respond_by FROM supervision "
            "WHERE part = 'held' AND answered_at IS NULL ORDER BY recorded_at")]

    def cases_due_by(self, until: date) -> list[str]:
        """Cases with a running clock (not a window) due by `until`, or one still to be planned
        from the rules (`nodes.store.due_index`)."""
        return [str(r[0]) for r in self._all(
            "SELECT case_id FROM cases WHERE due_next IS NOT NULL AND due_next <= ? "
            "ORDER BY case_id", [until.isoformat()])]
