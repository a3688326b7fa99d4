"""The store's connection and transactions: one SQLite file, WAL, synchronous=FULL.

`SqliteStore` (cases, events, parties) is built on this with `OutboxStore` and `InboxStore`; all
three share one connection, and every write happens inside `atomic()`. sqlite3's exceptions do
not leave the store: they are translated into `nodes.store.errors` at its edge.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from sqlite_utils import Database, Migrations

from nodes.crypto import DataCipher
from nodes.store.errors import StoreBusy, translate, translated
from nodes.store.schema import migrations
from nodes.store.statements import SAVEPOINT

BUSY_TIMEOUT_MS = 10_000  # a relay and a consumer thread share the file; wait, don't fail


class StoreCore:
    def __init__(self, path: str | Path, *, synchronous: str = "FULL",
                 cipher: DataCipher | None = None) -> None:
        self.path = Path(path)
        self.cipher = cipher
        with translated():
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000,
                                   check_same_thread=False)
            self._db = Database(conn)
            try:
                self._db.enable_wal()
                self._db.execute(f"PRAGMA synchronous={synchronous}")
                self._db.execute("PRAGMA foreign_keys=ON")
                self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                self.migrate(migrations)
            except BaseException:
                conn.close()
                raise

    def migrate(self, migration_set: Migrations) -> None:
        """Apply pending migrations under the write lock, so two threads or processes opening
        the same new file cannot both try to create its tables."""
        with self.atomic():
            migration_set.apply(self._db)

    def close(self) -> None:
        self._db.conn.close()

    def in_transaction(self) -> bool:
        """True while a write transaction is open on this connection. A batch that finds it
        closed after a statement knows SQLite rolled the whole transaction back (a full disk,
        a RAISE(ROLLBACK) trigger) and must not go on outside it."""
        return self._db.conn.in_transaction

    @contextmanager
    def atomic(self, *, wait: bool = True) -> Iterator[Self]:
        """One write transaction; nested calls become savepoints (sqlite-utils' atomic()).

        The outermost level starts with BEGIN IMMEDIATE, not sqlite-utils' plain BEGIN: a deferred
        transaction that reads and then writes cannot wait for the write lock in WAL mode (another
        connection's commit invalidates its snapshot and SQLite answers "database is locked" at
        once), while IMMEDIATE takes the lock up front and waits up to the busy timeout.

        `wait=False` raises StoreBusy at once if another connection holds the lock. SQLite's
        busy handler waits by sleeping in growing steps (1, 2, 5, ... 100 ms), not until the lock
        is free, so a relay that only has sent-marks to write must not wait in it: behind a busy
        writer it slept for up to 3 s while it could have been publishing (BENCHMARKS.md).
        """
        conn = self._db.conn
        if conn.in_transaction:
            conn.execute(f"SAVEPOINT {SAVEPOINT}")
            try:
                yield self
            except sqlite3.Error as exc:
                self._rollback_savepoint()
                raise translate(exc) from exc
            except BaseException:
                self._rollback_savepoint()
                raise
            conn.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
            return
        self._begin(wait)
        try:
            yield self
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.rollback()
            raise translate(exc) from exc
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise

    def _rollback_savepoint(self) -> None:
        # A RAISE(ROLLBACK) trigger or a full disk may have ended the whole transaction,
        # savepoint included; then there is nothing left to roll back to.
        conn = self._db.conn
        if conn.in_transaction:
            conn.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
            conn.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")

    def _begin(self, wait: bool) -> None:
        conn = self._db.conn
        with translated():
            if wait:
                conn.execute("BEGIN IMMEDIATE")
                return
            conn.execute("PRAGMA busy_timeout=0")
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
                    raise StoreBusy(str(exc)) from None
                raise
            finally:
                conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def _write(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        """A write on the hot path: straight to sqlite3 inside a transaction (sqlite-utils'
        execute() costs a keyword scan per call), through sqlite-utils outside one, so a stray
        write still commits as it always did."""
        conn = self._db.conn
        with translated():
            if conn.in_transaction:
                return conn.execute(sql, params)
            return self._db.execute(sql, list(params))

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row of a read, sqlite3's errors translated."""
        with translated():
            return self._db.conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row of a read (None if there is none)."""
        with translated():
            return self._db.conn.execute(sql, params).fetchone()
