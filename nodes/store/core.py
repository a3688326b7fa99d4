"""The store's connection and transactions: one SQLite file, WAL, synchronous=FULL.

`SqliteStore` (cases, events, parties) is built on this with `OutboxStore` and `InboxStore`; all
three share one connection, and every write happens inside `atomic()`. sqlite3's exceptions do
not leave the store: they are translated into `nodes.store.errors` at its edge.

Opening runs SQLite's `PRAGMA quick_check` before anything is written. A file that fails it is
kept open for reading only (`damage` holds SQLite's findings; the connection is `query_only`, no
migration runs) and every write raises `StoreCorrupt` naming the file, so a damaged database is
never written on top of; `require_writable()` is what a service calls before it starts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from sqlite_utils import Database, Migrations

from nodes.crypto import DataCipher
from nodes.store.errors import StoreBusy, StoreCorrupt, StoreError, translate, translated
from nodes.store.schema_later import migrations
from nodes.store.statements import SAVEPOINT

BUSY_TIMEOUT_MS = 10_000  # a relay and a consumer thread share the file; wait, don't fail
QUICK_CHECK_ERRORS = 5  # how many of SQLite's findings a damaged file's error keeps


class StoreCore:
    def __init__(self, path: str | Path, *, synchronous: str = "FULL",
                 cipher: DataCipher | None = None) -> None:
        self.path = Path(path)
        self.cipher = cipher
        self.damage: str | None = None  # SQLite's findings if the file failed its quick check
        # Run if the outermost transaction rolls back, before its lock is released (the case
        # numbers' mark outside the file takes back a number that was never committed).
        self._on_rollback: list[Callable[[], None]] = []
        try:
            with translated():
                conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000,
                                       check_same_thread=False)
                self._db = Database(conn)
                try:
                    self._open(synchronous)
                except BaseException:
                    conn.close()
                    raise
        except StoreError as exc:  # "file is not a database": say which file
            exc.path = exc.path or str(self.path)
            raise

    def _open(self, synchronous: str) -> None:
        self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self.damage = self.quick_check()
        if self.damage is not None:  # read what can be read; never write on top of the damage
            self._db.execute("PRAGMA query_only=ON")  # the caller says so (require_writable)
            return
        self._db.enable_wal()
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute("PRAGMA foreign_keys=ON")
        self.migrate(migrations)

    def quick_check(self) -> str | None:
        """SQLite's `PRAGMA quick_check` (the pages, cells and record formats of every table
        and index, in time linear in the file's size): None if the file passes, else SQLite's
        first findings on one line."""
        rows = self._all(f"PRAGMA quick_check({QUICK_CHECK_ERRORS})")
        found = [str(row[0]) for row in rows]
        if found == ["ok"]:
            return None
        return "; ".join(" ".join(f.split()) for f in found)[:300]

    def require_writable(self) -> None:
        """Raise StoreCorrupt, naming the file, if it failed its quick check when opened."""
        if self.damage is not None:
            raise StoreCorrupt(f"quick_check: {self.damage}", path=self.path)

    def migrate(self, migration_set: Migrations) -> None:
        """Apply pending migrations under the write lock, so two threads or processes opening
        the same new file cannot both try to create its tables. A damaged file is not migrated
        (it is only read)."""
        if self.damage is not None:
            return
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
            self._rollback()
            raise translate(exc) from exc
        except BaseException:
            self._rollback()
            raise
        finally:
            self._on_rollback.clear()

    def _rollback(self) -> None:
        hooks, self._on_rollback = self._on_rollback, []
        for hook in reversed(hooks):
            hook()
        conn = self._db.conn
        if conn.in_transaction:
            conn.rollback()

    def _rollback_savepoint(self) -> None:
        # A RAISE(ROLLBACK) trigger or a full disk may have ended the whole transaction,
        # savepoint included; then there is nothing left to roll back to.
        conn = self._db.conn
        if conn.in_transaction:
            conn.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
            conn.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")

    def _begin(self, wait: bool) -> None:
        self.require_writable()
        self._on_rollback.clear()
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
            self.require_writable()
            return self._db.execute(sql, list(params))

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row of a read, sqlite3's errors translated."""
        with translated():
            return self._db.conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row of a read (None if there is none)."""
        with translated():
            return self._db.conn.execute(sql, params).fetchone()
