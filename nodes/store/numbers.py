"""Case numbers kept outside the database as well: a high-water mark that cannot go backwards.

A case number is part of the case id, and the id travels upstream. If the database loses committed
writes (a damaged WAL whose tail SQLite drops when it recovers, or an older copy of the file put
back), its `case_numbers` counter goes back with them and the next case would take an id that was
already sent. So each number is also written to a small file beside the database,
`<database>.numbers`, one line per year:

    2026 17 16

the last number handed out (*reserved*) and the highest number the database held at that moment
(*committed*, every number up to it had committed). The line is written and flushed (fdatasync:
about 0.25 ms per case on the 2-core test machine, a third of `new_case`) inside the case's
transaction, under its write lock, before COMMIT, so before the number can be used; a transaction
that rolls back takes its reservation back (a number is skipped only if the process dies in
between, or a savepoint around it rolls back inside a transaction that commits).

`next_case_number` takes max(database, reserved) + 1, so a number is never used twice. When a
store opens, a database behind the file's *committed* mark has lost cases it had committed: the
store raises a `numbering` alarm (`nodes.alarms`), logs it, and moves its counter up to the mark.
A database behind only the *reserved* mark lost at most its last case, or a case was being written
when the program stopped: the two cannot be told apart, so there is no alarm; the number is skipped.
Deleting the file only loses the detection: it is written again with the next case. Restoring a
database from a backup on purpose raises the alarm too, as it should: the numbers it had handed out
since the backup are not handed out again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import structlog

from nodes.store.errors import translate_os

SUFFIX = ".numbers"
HEADER = "# fengqiao case numbers (do not edit): year, last reserved, last committed\n"

log = structlog.get_logger("fengqiao.store")


@dataclass(frozen=True)
class Mark:
    reserved: int   # the last number handed out
    committed: int  # the database's counter when it was handed out


@dataclass(frozen=True)
class Lapse:
    """The database is behind the file for `year`; `lost` if it lost committed cases."""

    year: int
    database: int
    mark: Mark

    @property
    def lost(self) -> bool:
        return self.database < self.mark.committed


class NumberMarks:
    """The mark file of the database at `db_path`. Callers hold the database's write lock
    whenever they write it, so two writers never interleave."""

    def __init__(self, db_path: Path, *, durable: bool = True) -> None:
        self.db_path = db_path
        self.path = Path(f"{db_path}{SUFFIX}")
        self.durable = durable  # flush each write (off only where the database's is: tests)

    def read(self) -> dict[int, Mark]:
        try:
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("store.numbers_unreadable", path=str(self.path),
                        error=exc.__class__.__name__)
            return {}
        marks: dict[int, Mark] = {}
        for line in text.splitlines():
            fields = line.split()
            if not fields or line.startswith("#"):
                continue
            if len(fields) != 3 or not all(f.isdigit() for f in fields):
                log.warning("store.numbers_line_ignored", path=str(self.path))
                continue
            year, reserved, committed = (int(f) for f in fields)
            marks[year] = Mark(reserved, committed)
        return marks

    def lapses(self, database: dict[int, int]) -> list[Lapse]:
        """Years whose database counter is behind the file."""
        return [Lapse(year, database.get(year, 0), mark) for year, mark in self.read().items()
                if database.get(year, 0) < mark.reserved]

    def reserve(self, year: int, database: int) -> tuple[int, Mark | None]:
        """The next number for `year` (the database's counter is `database`), written to the
        file and fsynced; returns it and the year's previous mark (to take it back)."""
        marks = self.read()
        before = marks.get(year)
        number = max(database, before.reserved if before else 0) + 1
        marks[year] = Mark(number, max(database, before.committed if before else 0))
        self.write(marks)
        return number, before

    def take_back(self, year: int, number: int, before: Mark | None) -> None:
        """Undo the reservation of `number` whose transaction rolled back, unless another writer
        reserved after it (best effort: a mark left ahead only skips a number)."""
        marks = self.read()
        if year not in marks or marks[year].reserved != number:
            return
        if before is None:
            marks.pop(year, None)
        else:
            marks[year] = before
        try:
            self.write(marks)
        except Exception as exc:  # never hide the error that caused the rollback
            log.warning("store.numbers_not_taken_back", path=str(self.path),
                        error=exc.__class__.__name__)

    def write(self, marks: dict[int, Mark]) -> None:
        """Rewrite the file in place and fdatasync it: one flush, as the case's own COMMIT has.
        A few dozen bytes from offset 0 land in one sector, so a power cut leaves the old text or
        the new (numbers only grow, so the text never gets shorter but by a take-back, which
        truncates). A full disk is StoreFull, naming the database."""
        text = HEADER + "".join(f"{y} {m.reserved} {m.committed}\n" for y, m in sorted(marks.items()))
        data = text.encode("ascii")
        try:
            new = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
                if self.durable:
                    os.fdatasync(fd)
            finally:
                os.close(fd)
            if new and self.durable:  # the file's name must last too
                folder = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(folder)
                finally:
                    os.close(folder)
        except OSError as exc:
            raise translate_os(exc, path=self.db_path) from exc
