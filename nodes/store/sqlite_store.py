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
from nodes.store.chain import GENESIS, link_hash
from nodes.store.schema import migrations

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
        if self.db.conn.in_transaction:
            with self.db.atomic():
                yield self
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.conn.rollback()
            raise

    # --- cases and events -------------------------------------------------------------------
    def load_events(self, case_id: str) -> list[CaseEvent]:
        rows = self.db.execute(
            "SELECT seq, action, at, node_id, actor_role, reason, data FROM case_events "
            "WHERE case_id = ? ORDER BY seq", [case_id]).fetchall()
        return [CaseEvent(case_id, seq, Action(action), datetime.fromisoformat(at), node, role,
                          reason, json.loads(data))
                for seq, action, at, node, role, reason, data in rows]

    def load_case(self, case_id: str) -> Case | None:
        events = self.load_events(case_id)
        return Case.replay(case_id, events) if events else None

    def save(self, case: Case) -> None:
        """Append the case's pending events and refresh its projection row (inside atomic)."""
        if not case.pending:
            return
        first, last = case.pending[0], case.pending[-1]
        row: dict[str, Any] = {
            "case_id": case.case_id, "state": str(case.state), "last_seq": case.seq,
            "target_due": case.target.due.isoformat() if case.target else None,
            "updated_at": last.at.isoformat(),
        }
        if first.seq == 1:
            facts = case.facts
            row.update({key: facts.get(key) for key in (
                "origin_node", "tier", "dispute_type", "source", "grid_id", "facts",
                "people_involved", "escalated_from")})
            row["opened_at"] = first.at.isoformat()
            # Plain SQL on this hot path: sqlite-utils' insert()/update() read the table's schema
            # on every call, which cost a third of a case's recording time (BENCHMARKS.md).
            columns = ", ".join(row)
            self.db.execute(f"INSERT INTO cases ({columns}) VALUES ({', '.join('?' * len(row))})",
                            list(row.values()))
        else:
            key = row.pop("case_id")
            assignments = ", ".join(f"{column} = ?" for column in row)
            self.db.execute(f"UPDATE cases SET {assignments} WHERE case_id = ?",
                            [*row.values(), key])
        self._append_events([
            {"case_id": e.case_id, "seq": e.seq, "action": e.action.value,
             "state_after": str(case.state_after[e.seq]), "at": e.at.isoformat(),
             "node_id": e.node_id, "actor_role": e.actor_role, "reason": e.reason,
             "data": json.dumps(e.data, ensure_ascii=False, default=str)}
            for e in case.pending])
        case.pending.clear()

    def _append_events(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert events, each linked to the chain head; runs inside the write transaction, so
        no other writer can move the head between reading and updating it."""
        head = self.db.execute("SELECT length, head FROM event_chain WHERE id = 1").fetchone()
        length, prev = (int(head[0]), str(head[1])) if head else (0, GENESIS)
        for row in rows:
            digest = link_hash(prev, row)
            self.db.execute(
                "INSERT INTO case_events (case_id, seq, action, state_after, at, node_id, "
                "actor_role, reason, data, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [row["case_id"], row["seq"], row["action"], row["state_after"], row["at"],
                 row["node_id"], row["actor_role"], row["reason"], row["data"], prev, digest])
            prev, length = digest, length + 1
        self.db.execute("INSERT INTO event_chain (id, length, head) VALUES (1, ?, ?) "
                        "ON CONFLICT(id) DO UPDATE SET length = excluded.length, "
                        "head = excluded.head", [length, prev])

    def add_parties(self, case_id: str, parties: Sequence[PartyRow]) -> None:
        """Seal name, ID number, phone and address; without a key, refuse (never plaintext)."""
        for p in parties:
            sealed = personal.seal_fields(self.cipher, case_id, {
                "name": p.name, "id_number": p.id_number, "phone": p.phone, "address": p.address})
            self.db.execute(
                "INSERT INTO parties (case_id, role, name, id_number, phone, address, party_hash,"
                " sealed) VALUES (?,?,?,?,?,?,?,1)",
                [case_id, p.role, sealed["name"], sealed["id_number"], sealed["phone"],
                 sealed["address"], p.party_hash])

    def parties(self, case_id: str) -> list[PartyRow]:
        """The case's parties, opened with the node's key (PersonalDataError if it cannot)."""
        rows = self.db.execute(
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
        self.db.execute(
            "INSERT INTO case_numbers (year, last) VALUES (?, 1) "
            "ON CONFLICT(year) DO UPDATE SET last = last + 1", [year])
        return int(self.db.execute("SELECT last FROM case_numbers WHERE year = ?",
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
        """Dossiers (personal data) are sealed at rest like `parties`; the rest stay as they are."""
        for r in rows:
            body = personal.seal_body(self.cipher, r.schema_name, r.message_id, r.body)
            self.db.execute(
                "INSERT INTO outbox (message_id, case_id, seq, exchange, routing_key, "
                "schema_name, body, created_at) VALUES (?,?,?,?,?,?,?,?)",
                [r.message_id, r.case_id, r.seq, r.exchange, r.routing_key, r.schema_name,
                 body, r.created_at])

    def unsent(self, limit: int = 500) -> list[OutboxRow]:
        """Unsent rows in order, bodies opened, ready to publish."""
        rows = self.db.execute(
            "SELECT message_id, case_id, seq, exchange, routing_key, schema_name, body, "
            "created_at, id, attempts FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?",
            [limit]).fetchall()
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
        return self.db.execute(
            "SELECT 1 FROM inbox WHERE message_id = ? UNION ALL "
            "SELECT 1 FROM held WHERE message_id = ?", [message_id, message_id]
        ).fetchone() is not None

    def hold(self, message_id: str, sender: str, case_id: str, schema_name: str, seq: int,
             prev_seq: int, body: bytes, at: datetime) -> None:
        sealed = personal.seal_body(self.cipher, schema_name, message_id, body)
        self.db.execute(
            "INSERT INTO held (message_id, sender, case_id, schema_name, seq, prev_seq, body, "
            "held_at) VALUES (?,?,?,?,?,?,?,?)",
            [message_id, sender, case_id, schema_name, seq, prev_seq, sealed, at.isoformat()])

    def take_held_after(self, sender: str, case_id: str, schema_name: str,
                        seq: int) -> bytes | None:
        """Remove and return the held message whose predecessor is `seq`, if one waits."""
        row = self.db.execute(
            "SELECT message_id, body FROM held WHERE sender = ? AND case_id = ? AND "
            "schema_name = ? AND prev_seq = ? ORDER BY seq LIMIT 1",
            [sender, case_id, schema_name, seq]).fetchone()
        if row is None:
            return None
        self.db.execute("DELETE FROM held WHERE message_id = ?", [row[0]])
        return personal.open_body(self.cipher, row[0], bytes(row[1]))

    def held_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM held").fetchone()[0])

    def record_inbox(self, message_id: str, sender: str, case_id: str | None, seq: int,
                     schema_name: str, at: datetime) -> None:
        self.db.execute(
            "INSERT INTO inbox (message_id, sender, case_id, seq, schema_name, received_at) "
            "VALUES (?,?,?,?,?,?)", [message_id, sender, case_id, seq, schema_name,
                                     at.isoformat()])

    def last_seq(self, sender: str, case_id: str, schema_name: str) -> int:
        """Highest sequence number applied from this sender for this case (0 if none)."""
        row = self.db.execute(
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
