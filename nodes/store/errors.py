"""What can go wrong with the node's file, as the store's own exceptions.

sqlite3's errors stop at the store's edge: callers see `StoreError` and its kinds, each with a
code the command line and the web app turn into one sentence (a full disk says so; a damaged file
says so), never SQLite's class names.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from protocol.text import N_, Phrase


class StoreError(Exception):
    """The node's database could not do what was asked. `code` names the kind, `detail` is
    SQLite's or the operating system's own text (it holds no case data)."""

    code = "store_error"

    def __init__(self, detail: str, *, path: str | Path | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.path = None if path is None else str(path)  # the file, when it is known


class StoreBusy(StoreError):
    """Another connection holds the write lock (past the busy timeout, or the caller would not wait)."""

    code = "store_busy"


class StoreFull(StoreError):
    """The disk (or the file's size limit) is full: nothing was written."""

    code = "store_full"


class StoreCorrupt(StoreError):
    """The file is not a database, or is damaged (it failed its quick check when opened)."""

    code = "store_corrupt"


class StoreUnavailable(StoreError):
    """The file cannot be opened or read (missing folder, permissions, read-only medium)."""

    code = "store_unavailable"


class StoreConflict(StoreError):
    """A write broke one of the file's rules (a unique id written twice, an append-only table)."""

    code = "store_conflict"


_BY_CODE: dict[int, type[StoreError]] = {
    sqlite3.SQLITE_CONSTRAINT: StoreConflict,
    sqlite3.SQLITE_BUSY: StoreBusy, sqlite3.SQLITE_LOCKED: StoreBusy,
    sqlite3.SQLITE_FULL: StoreFull,
    sqlite3.SQLITE_CORRUPT: StoreCorrupt, sqlite3.SQLITE_NOTADB: StoreCorrupt,
    sqlite3.SQLITE_CANTOPEN: StoreUnavailable, sqlite3.SQLITE_READONLY: StoreUnavailable,
    sqlite3.SQLITE_IOERR: StoreUnavailable, sqlite3.SQLITE_PERM: StoreUnavailable,
}


_PROBLEMS: dict[str, str] = {
    StoreBusy.code: N_("the node's database is busy (another program is writing to it); "
                       "nothing was written, try again"),
    StoreFull.code: N_("the disk holding the node's database is full; nothing was written"),
    StoreCorrupt.code: N_("the node's database is damaged or is not a fengqiao database; "
                          "nothing was written"),
    StoreUnavailable.code: N_("the node's database cannot be opened or written (check its "
                              "folder, its permissions and the disk); nothing was written"),
    StoreConflict.code: N_("the node's database refused a write that breaks its rules; "
                           "nothing was written"),
    StoreError.code: N_("the node's database could not be used; nothing was written"),
}
# The same, naming the file, when the error knows it.
_PROBLEMS_AT: dict[str, str] = {
    StoreFull.code: N_("the disk holding the node's database {path} is full; nothing was "
                       "written"),
    StoreCorrupt.code: N_("the node's database {path} is damaged (it fails SQLite's check) or is "
                          "not a fengqiao database; nothing is written to it until it is "
                          "restored from a backup"),
    StoreUnavailable.code: N_("the node's database {path} cannot be opened or written (check its "
                              "folder, its permissions and the disk); nothing was written"),
}
# SQLite's own words, for an error that comes without its code (an older sqlite3, or one
# raised by hand), and the operating system's errors for a file beside the database.
_BY_TEXT = (("database or disk is full", StoreFull), ("disk image is malformed", StoreCorrupt),
            ("file is not a database", StoreCorrupt))
_BY_ERRNO: dict[int, type[StoreError]] = {
    errno.ENOSPC: StoreFull, errno.EDQUOT: StoreFull, errno.EFBIG: StoreFull,
    errno.EACCES: StoreUnavailable, errno.EPERM: StoreUnavailable, errno.EROFS: StoreUnavailable,
    errno.ENOENT: StoreUnavailable, errno.EIO: StoreUnavailable,
}


def store_problem(exc: StoreError) -> str:
    """The sentence (a catalogue message id) that tells a person what happened."""
    return _PROBLEMS.get(exc.code, _PROBLEMS[StoreError.code])


def problem(exc: StoreError) -> Phrase:
    """The sentence that tells a person what happened, naming the file where it is known."""
    if exc.path is not None and exc.code in _PROBLEMS_AT:
        return Phrase(_PROBLEMS_AT[exc.code], path=exc.path)
    return Phrase(store_problem(exc))


def translate(exc: sqlite3.Error) -> StoreError:
    """The store's exception for one of sqlite3's."""
    code = getattr(exc, "sqlite_errorcode", None)
    kind = _BY_CODE.get(code & 0xFF, StoreError) if isinstance(code, int) else StoreError
    if kind is StoreError:
        text = str(exc).lower()
        kind = next((k for words, k in _BY_TEXT if words in text), StoreError)
    return kind(f"{exc.__class__.__name__}: {exc}"[:300])


def translate_os(exc: OSError, path: str | Path | None = None) -> StoreError:
    """The store's exception for an operating-system error on one of the node's files (a full
    disk is ENOSPC, or EDQUOT on a quota); `path` names the database the file belongs to."""
    kind = _BY_ERRNO.get(exc.errno or 0, StoreError)
    return kind(f"{exc.__class__.__name__}: {exc}"[:300], path=path or exc.filename)


@contextmanager
def translated() -> Iterator[None]:
    """Run a block, turning any sqlite3 error into the store's own."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc) from exc
