"""A node's local store: one SQLite file through sqlite-utils, WAL, synchronous=FULL.

Every write happens inside `atomic()`: a case's events, its projection row, its parties and the
outbox rows those events cause commit together or not at all (DESIGN §4 rules 1, 2 and 5).
One store object per thread: sqlite3 connections are not shared across threads.

Personal data is sealed with the node's key (`cipher`) before it reaches SQLite and opened on the
way out (`nodes.store.personal`); a store without a key can do everything except write or read
it. Each event is appended to the node's hash chain (`nodes.store.chain`) as it is saved.

The connection and `atomic()` live in `core`, the outbox's methods in `outbox`, the inbox's, held
messages' and quarantine's in `inbox`; this module adds cases, events and parties. Case numbers
also have a mark outside the file (`nodes.store.numbers`), so they never go backwards.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from nodes.alarms import AlarmKind, raise_alarm
from nodes.crypto import DataCipher
from nodes.domain.case import Case, CaseEvent
from nodes.domain.states import Action
from nodes.records import PartyRow
from nodes.store import due_index, party_versions, personal
from nodes.store.alarms import AlarmStore
from nodes.store.chain import GENESIS
from nodes.store.deferred import DeferredStore
from nodes.store.errors import translated
from nodes.store.inbox import InboxStore
from nodes.store.notices import NoticeStore
from nodes.store.numbers import Lapse, NumberMarks
from nodes.store.outbox import OutboxStore
from nodes.store.schema_later import RED_FLAG_EVENTS
from nodes.store.statements import (
    EVENT_DATA,
    EVENT_INSERT,
    INSERT_CASE,
    OPENING_FACTS,
    PARTY_INSERT,
    UPDATE_CASE,
    _chunks,
    _link,
    _values,
)


class SqliteStore(OutboxStore, DeferredStore, InboxStore, AlarmStore, NoticeStore):
    def __init__(self, path: str | Path, *, synchronous: str = "FULL",
                 cipher: DataCipher | None = None) -> None:
        # The chain head this connection last wrote (length, hash): saves reading it back before
        # each append. Only a hint: the write is conditional on it and falls back if it is stale.
        self._chain_head: tuple[int, str] | None = None
        super().__init__(path, synchronous=synchronous, cipher=cipher)
        self.numbers = NumberMarks(self.path, durable=synchronous.upper() != "OFF")
        try:
            if cipher is not None:
                self._seal_plaintext(cipher)
            if self.damage is None:
                self._check_numbers()
        except BaseException:  # a wrong key: refuse the file, leave no connection behind
            self.close()
            raise

    def _seal_plaintext(self, cipher: DataCipher) -> None:
        """Check the key against the file, then seal any personal data written before encryption.
        A damaged file (read only) is only checked."""
        if self.damage is not None:
            with translated():
                personal.check_key(self._db, cipher)
            return
        with self.atomic():
            personal.check_key(self._db, cipher)
            sealed = personal.seal_plaintext(self._db, cipher)
        if sealed:  # best effort: push the rewritten pages home and empty the WAL
            self._all("PRAGMA wal_checkpoint(TRUNCATE)")

    # --- cases and events -------------------------------------------------------------------
    def load_events(self, case_id: str) -> list[CaseEvent]:
        # A damaged file is read as it is, unmigrated: one from before m010 has no actor_user.
        old = self.damage is not None and not any(
            row[1] == "actor_user" for row in self._all("PRAGMA table_info(case_events)"))
        rows = self._all(LOAD_EVENTS_OLD if old else LOAD_EVENTS, [case_id])
        return [CaseEvent(case_id, seq, Action(action), datetime.fromisoformat(at), node, role,
                          reason, json.loads(data), user)
                for seq, action, at, node, role, reason, data, user in rows]

    def load_case(self, case_id: str) -> Case | None:
        events = self.load_events(case_id)
        return Case.replay(case_id, events) if events else None

    def last_event(self, case_id: str) -> tuple[int, str] | None:
        """(seq, chain hash) of the case's latest stored event: equal hashes mean the same history
        (the hash covers the row and, through prev_hash, everything stored before it)."""
        row = self._one(
            "SELECT seq, hash FROM case_events WHERE case_id = ? ORDER BY seq DESC LIMIT 1",
            [case_id])
        return None if row is None else (int(row[0]), str(row[1]))

    def save(self, case: Case) -> str | None:
        """Append the case's pending events and refresh its projection row (inside atomic).
        Returns the hash of the last event appended (None if nothing was pending)."""
        if not case.pending:
            return None
        first, last = case.pending[0], case.pending[-1]
        target_due = case.target.due.isoformat() if case.target else None
        # Plain SQL with fixed statements on this hot path: sqlite-utils' insert()/update() read
        # the table's schema on every call, which cost a third of a case's recording time
        # (BENCHMARKS.md).
        if first.seq == 1:
            facts = case.facts
            self._write(INSERT_CASE, [
                case.case_id, str(case.state), case.seq, target_due, last.at.isoformat(),
                *[facts.get(key) for key in OPENING_FACTS], first.at.isoformat()])
        else:
            self._write(UPDATE_CASE, [str(case.state), case.seq, target_due,
                                      last.at.isoformat(), case.case_id])
        # the next due date, for the pages that list what is late (nodes.store.due_index)
        self._write(due_index.SET_DUE, [*due_index.due_columns(case), case.case_id])
        if any(e.action is Action.CORRECT and "facts" in e.data for e in case.pending):
            # the projection shows the corrected facts; the events keep every version
            self._write("UPDATE cases SET facts = ? WHERE case_id = ?",
                        [case.facts.get("facts"), case.case_id])
        digest = self._append_events([
            {"case_id": e.case_id, "seq": e.seq, "action": e.action.value,
             "state_after": str(case.state_after[e.seq]), "at": e.at.isoformat(),
             "node_id": e.node_id, "actor_role": e.actor_role, "reason": e.reason,
             "data": EVENT_DATA.encode(e.data), "actor_user": e.actor_user}
            for e in case.pending])
        case.pending.clear()
        return digest

    def _append_events(self, rows: Sequence[dict[str, Any]]) -> str:
        """Insert events, each linked to the chain head, and move the head; runs inside the write
        transaction, so no other writer can move the head in between. Returns the new head.

        The head is taken from this connection's last write when it has one, and the head row is
        then updated only if it still holds that value; if another connection (or a rolled-back
        savepoint) moved it, the head is read from the file and the links computed again."""
        cached, moved = self._chain_head, False
        if cached is not None:
            length, links = _link(cached, rows)
            moved = self._write(
                "UPDATE event_chain SET length = ?, head = ? WHERE id = 1 AND length = ? "
                "AND head = ?", [length, links[-1][1], cached[0], cached[1]]).rowcount == 1
        if not moved:
            row = self._one("SELECT length, head FROM event_chain WHERE id = 1")
            length, links = _link((int(row[0]), str(row[1])) if row else (0, GENESIS), rows)
            self._write("INSERT INTO event_chain (id, length, head) VALUES (1, ?, ?) "
                        "ON CONFLICT(id) DO UPDATE SET length = excluded.length, "
                        "head = excluded.head", [length, links[-1][1]])
        params: list[Any] = []
        for row, (prev, digest) in zip(rows, links, strict=True):
            params += [row["case_id"], row["seq"], row["action"], row["state_after"], row["at"],
                       row["node_id"], row["actor_role"], row["reason"], row["data"],
                       row["actor_user"], prev, digest]
        self._write(EVENT_INSERT + _values(12, len(rows)), params)
        self._chain_head = (length, links[-1][1])
        return links[-1][1]

    def add_parties(self, case_id: str, parties: Sequence[PartyRow]) -> None:
        """Seal name, ID number, phone and address; without a key, refuse (never plaintext).
        One multi-row INSERT per case: the rows get their ids in the parties' order."""
        for chunk in _chunks(parties):
            params: list[Any] = []
            for p in chunk:
                sealed = personal.seal_fields(self.cipher, case_id, {
                    "name": p.name, "id_number": p.id_number, "phone": p.phone,
                    "address": p.address})
                params += [case_id, p.role, sealed["name"], sealed["id_number"],
                           sealed["phone"], sealed["address"], p.party_hash, 1]
            self._write(PARTY_INSERT + _values(8, len(chunk)), params)

    def parties(self, case_id: str) -> list[PartyRow]:
        """The case's parties as they stand after any corrections, opened with the node's key
        (PersonalDataError if it cannot); see `nodes.store.party_versions`."""
        return party_versions.current(self, case_id)

    def add_party_version(self, case_id: str, place: int, party: PartyRow, seq: int) -> None:
        """A corrected party number `place` (1-based), sealed, by correction event `seq`."""
        party_versions.add_version(self, case_id, place, party, seq)

    def case_ids_ending(self, suffix: str) -> list[str]:
        """The ids of the cases here that end with `suffix` (`-00004`, `-2026-00004`)."""
        return [str(r[0]) for r in self._all(
            "SELECT case_id FROM cases WHERE substr(case_id, ?) = ? ORDER BY case_id",
            [-len(suffix), suffix])]

    def next_case_number(self, year: int) -> int:
        """The year's next number: one past the database's counter and the mark outside the
        file, whichever is higher; the mark is written and fsynced first (call inside atomic:
        a rollback takes the reservation back)."""
        with self.atomic():
            row = self._one("SELECT last FROM case_numbers WHERE year = ?", [year])
            number, before = self.numbers.reserve(year, int(row[0]) if row else 0)
            self._on_rollback.append(lambda: self.numbers.take_back(year, number, before))
            self._write(SET_CASE_NUMBER, [year, number])
        return number

    def _check_numbers(self) -> None:
        """At open: a database behind its numbers' committed mark lost committed cases: raise the
        alarm (it logs once) and move the counter up to the mark. Behind only the reserved mark,
        nothing is said (at most the last case, or an interrupted one); the number is skipped."""
        counters = {int(y): int(n) for y, n in self._all("SELECT year, last FROM case_numbers")}
        lost = [lapse for lapse in self.numbers.lapses(counters) if lapse.lost]
        if not lost:
            return
        with self.atomic():
            for lapse in lost:
                self._write(SET_CASE_NUMBER, [lapse.year, lapse.mark.reserved])
                raise_alarm(self, AlarmKind.NUMBERING, str(lapse.year), _lost(lapse),
                            datetime.now(UTC))

    def case_rows(self, state: str | None = None) -> list[dict[str, Any]]:
        where, args = ("WHERE state = ?", [state]) if state else ("", [])
        with translated():
            cursor = self._db.conn.execute(
                f"SELECT * FROM cases {where} ORDER BY opened_at, case_id", args)  # noqa: S608
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def case_index(self, state: str | None = None, **equal: str) -> list[tuple[str, str]]:
        """(case_id, opened_at) of the cases in `state` whose columns in INDEX_FILTERS equal
        the values given, oldest first: a list page filters these and reads only its rows."""
        where, args = (["state = ?"], [state]) if state else ([], [])
        for column, value in equal.items():
            if column not in INDEX_FILTERS:
                raise ValueError(f"not a filter column: {column}")
            where.append(f"{column} = ?")
            args.append(value)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return [(str(r[0]), str(r[1])) for r in self._all(
            f"SELECT case_id, opened_at FROM cases {clause} ORDER BY opened_at, case_id",  # noqa: S608
            args)]

    def case_rows_of(self, case_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The rows of these cases (in no order): a page that shows fifty reads fifty."""
        ids, out = sorted(set(case_ids)), []
        with translated():
            for start in range(0, len(ids), ROWS_PER_QUERY):
                chunk = ids[start:start + ROWS_PER_QUERY]
                cursor = self._db.conn.execute(
                    f"SELECT * FROM cases WHERE case_id IN ({','.join('?' * len(chunk))})",  # noqa: S608
                    chunk)
                names = [d[0] for d in cursor.description]
                out += [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return out

    def overdue_case_ids(self, today: date) -> set[str]:
        return {r[0] for r in self._all(
            "SELECT case_id FROM cases WHERE target_due IS NOT NULL AND target_due < ? "
            "AND state IN ('ACCEPTED', 'MEDIATING', 'RETURNED')", [today.isoformat()])}

    def red_flag_case_ids(self) -> set[str]:
        """Cases with a red flag: raised here, learnt from a report, or brought by a dossier
        (from m016's partial index; a file read unmigrated has none, and is read whole)."""
        query = f"SELECT DISTINCT case_id FROM case_events {{}} WHERE {RED_FLAG_EVENTS}"  # noqa: S608 - constants
        with translated():
            try:
                rows = self._db.conn.execute(query.format("INDEXED BY case_events_red_flag"))
            except sqlite3.OperationalError:  # no such index: a file from before m016
                rows = self._db.conn.execute(query.format(""))
            return {str(r[0]) for r in rows.fetchall()}

    def holder_of(self, case_id: str) -> str | None:
        """Where a case is, as this node last heard from its subtree's reports: a hub hears them
        (`hub.store`), a station none."""
        return None

    def listed_orders(self, *, open_only: bool = True) -> list[dict[str, Any]]:
        """Listed supervision orders reported by the subtree: a hub hears them (`hub.store`),
        a station none."""
        return []

    def reported_case(self, case_id: str) -> tuple[str, str] | None:
        """(state, dispute type) of a case as this node's subtree last reported it: a hub hears
        reports (`hub.store`), a station none."""
        return None

    def red_flags_reported(self) -> list[dict[str, Any]]:
        """Red-flag cases known from other nodes' reports: a hub hears them (`hub.store`), a
        station none."""
        return []

    def deadlines_reported(self, today: date) -> list[dict[str, Any]]:
        """Overdue and due-soon cases of the subtree, as the deadline sweeps below reported them:
        a hub hears them (`hub.store`), a station none."""
        return []

    def states(self) -> dict[str, int]:
        """How many cases are in each state (a summary for status pages and the demo)."""
        return {str(state): int(n) for state, n in self._all(
            "SELECT state, count(*) FROM cases GROUP BY state")}


INDEX_FILTERS = frozenset({"dispute_type", "source", "grid_id"})  # `case_index`'s columns
ROWS_PER_QUERY = 500  # case ids bound in one IN (...) (SQLite allows 32,766 since 3.32)
LOAD_EVENTS = ("SELECT seq, action, at, node_id, actor_role, reason, data, actor_user "
               "FROM case_events WHERE case_id = ? ORDER BY seq")
LOAD_EVENTS_OLD = LOAD_EVENTS.replace("data, actor_user", "data, NULL")  # before m010
SET_CASE_NUMBER = ("INSERT INTO case_numbers (year, last) VALUES (?, ?) "
                   "ON CONFLICT(year) DO UPDATE SET last = excluded.last")


def _lost(lapse: Lapse) -> str:
    return (f"the database's case counter for {lapse.year} is {lapse.database}, but numbers up "
            f"to {lapse.mark.committed} had committed and {lapse.mark.reserved} was handed out "
            f"(the file lost committed writes: an older copy, or a damaged WAL); numbering "
            f"continues after {lapse.mark.reserved}, never reusing one")
