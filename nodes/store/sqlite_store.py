"""A node's local store: one SQLite file through sqlite-utils, WAL, synchronous=FULL.

Every write happens inside `atomic()`: a case's events, its projection row, its parties and the
outbox rows those events cause commit together or not at all (DESIGN §4 rules 1, 2 and 5).
One store object per thread: sqlite3 connections are not shared across threads.

Personal data is sealed with the node's key (`cipher`) before it reaches SQLite and opened on the
way out (`nodes.store.personal`); a store without a key can do everything except write or read
it. Each event is appended to the node's hash chain (`nodes.store.chain`) as it is saved.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database, Migrations

from nodes.crypto import DataCipher
from nodes.domain.case import Case, CaseEvent
from nodes.domain.states import Action
from nodes.store import personal
from nodes.store.chain import GENESIS
from nodes.store.schema import migrations
from nodes.store.statements import (
    EVENT_DATA,
    EVENT_INSERT,
    HAS_RETURNING,
    INSERT_CASE,
    OPENING_FACTS,
    OUTBOX_INSERT,
    PARTY_INSERT,
    SAVEPOINT,
    UPDATE_CASE,
    _chunks,
    _link,
    _values,
)

BUSY_TIMEOUT_MS = 10_000  # a relay and a consumer thread share the file; wait, don't fail
@dataclass(frozen=True)
class OutboxRow:
    message_id: str
    case_id: str | None
    seq: int
    exchange: str
    routing_key: str
    schema_name: str
    body: bytes
    created_at: str
    id: int | None = None
    attempts: int = 0


@dataclass(frozen=True)
class PartyRow:
    role: str
    name: str
    party_hash: str
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None


class SqliteStore:
    def __init__(self, path: str | Path, *, synchronous: str = "FULL",
                 cipher: DataCipher | None = None) -> None:
        self.path = Path(path)
        self.cipher = cipher
        # The chain head this connection last wrote (length, hash): saves reading it back before
        # each append. Only a hint: the write is conditional on it and falls back if it is stale.
        self._chain_head: tuple[int, str] | None = None
        conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000,
                               check_same_thread=False)
        self.db = Database(conn)
        self.db.enable_wal()
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self.migrate(migrations)
        if cipher is not None:
            try:
                self._seal_plaintext(cipher)
            except BaseException:  # a wrong key: refuse the file, leave no connection behind
                conn.close()
                raise

    def _seal_plaintext(self, cipher: DataCipher) -> None:
        """Check the key against the file, then seal any personal data written before encryption."""
        with self.atomic():
            personal.check_key(self.db, cipher)
            sealed = personal.seal_plaintext(self.db, cipher)
        if sealed:  # best effort: push the rewritten pages home and empty the WAL
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def migrate(self, migration_set: Migrations) -> None:
        """Apply pending migrations under the write lock, so two threads or processes opening
        the same new file cannot both try to create its tables."""
        with self.atomic():
            migration_set.apply(self.db)

    def close(self) -> None:
        self.db.conn.close()

    @contextmanager
    def atomic(self) -> Iterator[SqliteStore]:
        """One write transaction; nested calls become savepoints (sqlite-utils' atomic()).

        The outermost level starts with BEGIN IMMEDIATE, not sqlite-utils' plain BEGIN: a deferred
        transaction that reads and then writes cannot wait for the write lock in WAL mode (another
        connection's commit invalidates its snapshot and SQLite answers "database is locked" at
        once), while IMMEDIATE takes the lock up front and waits up to the busy timeout.
        """
        conn = self.db.conn
        if conn.in_transaction:
            conn.execute(f"SAVEPOINT {SAVEPOINT}")
            try:
                yield self
            except BaseException:
                # A RAISE(ROLLBACK) trigger or a full disk may have ended the whole transaction,
                # savepoint included; then there is nothing left to roll back to.
                if conn.in_transaction:
                    conn.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
                    conn.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
                raise
            conn.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise

    def _write(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        """A write on the hot path: straight to sqlite3 inside a transaction (sqlite-utils'
        execute() costs a keyword scan per call), through sqlite-utils outside one, so a stray
        write still commits as it always did."""
        conn = self.db.conn
        if conn.in_transaction:
            return conn.execute(sql, params)
        return self.db.execute(sql, list(params))

    # --- cases and events -------------------------------------------------------------------
    def load_events(self, case_id: str) -> list[CaseEvent]:
        rows = self.db.conn.execute(
            "SELECT seq, action, at, node_id, actor_role, reason, data FROM case_events "
            "WHERE case_id = ? ORDER BY seq", [case_id]).fetchall()
        return [CaseEvent(case_id, seq, Action(action), datetime.fromisoformat(at), node, role,
                          reason, json.loads(data))
                for seq, action, at, node, role, reason, data in rows]

    def load_case(self, case_id: str) -> Case | None:
        events = self.load_events(case_id)
        return Case.replay(case_id, events) if events else None

    def last_event(self, case_id: str) -> tuple[int, str] | None:
        """(seq, chain hash) of the case's latest stored event: equal hashes mean the same history
        (the hash covers the row and, through prev_hash, everything stored before it)."""
        row = self.db.conn.execute(
            "SELECT seq, hash FROM case_events WHERE case_id = ? ORDER BY seq DESC LIMIT 1",
            [case_id]).fetchone()
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
        digest = self._append_events([
            {"case_id": e.case_id, "seq": e.seq, "action": e.action.value,
             "state_after": str(case.state_after[e.seq]), "at": e.at.isoformat(),
             "node_id": e.node_id, "actor_role": e.actor_role, "reason": e.reason,
             "data": EVENT_DATA.encode(e.data)}
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
            row = self.db.conn.execute(
                "SELECT length, head FROM event_chain WHERE id = 1").fetchone()
            length, links = _link((int(row[0]), str(row[1])) if row else (0, GENESIS), rows)
            self._write("INSERT INTO event_chain (id, length, head) VALUES (1, ?, ?) "
                        "ON CONFLICT(id) DO UPDATE SET length = excluded.length, "
                        "head = excluded.head", [length, links[-1][1]])
        params: list[Any] = []
        for row, (prev, digest) in zip(rows, links, strict=True):
            params += [row["case_id"], row["seq"], row["action"], row["state_after"], row["at"],
                       row["node_id"], row["actor_role"], row["reason"], row["data"], prev, digest]
        self._write(EVENT_INSERT + _values(11, len(rows)), params)
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
        """The case's parties, opened with the node's key (PersonalDataError if it cannot)."""
        rows = self.db.conn.execute(
            "SELECT role, name, party_hash, id_number, phone, address, sealed FROM parties "
            "WHERE case_id = ? ORDER BY id", [case_id]).fetchall()
        out = []
        for role, name, party_hash, id_number, phone, address, sealed in rows:
            values = {"name": name, "id_number": id_number, "phone": phone, "address": address}
            if sealed:
                values = {k: personal.open_field(self.cipher, case_id, k, v)
                          for k, v in values.items()}
            out.append(PartyRow(role, str(values["name"]), party_hash, values["id_number"],
                                values["phone"], values["address"]))
        return out

    def next_case_number(self, year: int) -> int:
        upsert = ("INSERT INTO case_numbers (year, last) VALUES (?, 1) "
                  "ON CONFLICT(year) DO UPDATE SET last = last + 1")
        if HAS_RETURNING and self.db.conn.in_transaction:  # fetchall: run the write to its end
            return int(self.db.conn.execute(upsert + " RETURNING last", [year]).fetchall()[0][0])
        self._write(upsert, [year])
        return int(self.db.conn.execute("SELECT last FROM case_numbers WHERE year = ?",
                                        [year]).fetchone()[0])

    def case_rows(self, state: str | None = None) -> list[dict[str, Any]]:
        where, args = ("WHERE state = ?", [state]) if state else ("", [])
        cursor = self.db.execute(f"SELECT * FROM cases {where} ORDER BY opened_at, case_id", args)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def overdue_case_ids(self, today: date) -> set[str]:
        ids = [r[0] for r in self.db.execute(
            "SELECT case_id FROM cases WHERE target_due IS NOT NULL AND target_due < ? "
            "AND state IN ('ACCEPTED', 'MEDIATING', 'RETURNED')", [today.isoformat()])]
        return set(ids)

    # --- outbox -------------------------------------------------------------------------------
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
        rows = self.db.conn.execute(
            "SELECT message_id, case_id, seq, exchange, routing_key, schema_name, body, "
            "created_at, id, attempts FROM outbox WHERE sent_at IS NULL AND id > ? ORDER BY id "
            "LIMIT ?", [after_id, limit]).fetchall()
        return [OutboxRow(m, c, q, e, k, s, personal.open_body(self.cipher, m, bytes(b)), at, i, n)
                for m, c, q, e, k, s, b, at, i, n in rows]

    def outbox_body(self, message_id: str) -> bytes | None:
        """One outbox row's body as it was (or will be) published, sent or not."""
        row = self.db.execute("SELECT body FROM outbox WHERE message_id = ?",
                              [message_id]).fetchone()
        return None if row is None else personal.open_body(self.cipher, message_id, bytes(row[0]))

    def outbox_depth(self) -> int:
        return int(self.db.execute(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])

    def mark_sent(self, ids: Sequence[int], at: datetime) -> None:
        with self.atomic():
            self.db.conn.executemany("UPDATE outbox SET sent_at = ? WHERE id = ?",
                                     [(at.isoformat(), i) for i in ids])

    # --- inbox and quarantine -----------------------------------------------------------------
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
        with self.atomic():
            self.db.execute(
                "INSERT INTO quarantine (received_at, reason, routing_key, user_id, body) "
                "VALUES (?,?,?,?,?)", [at.isoformat(), reason, routing_key, user_id, body])
