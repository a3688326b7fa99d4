"""`fengqiao audit verify`: walk a node's hash-chained event log and name the first broken link.

Why these checks, in this order: the chain itself first (a row's `prev_hash` must be the previous
row's `hash`, and its `hash` must be the hash of its own content), so an edited row, a deleted
or inserted one, and a deleted case are caught where they happened; then the recorded head (rows
cut from the end leave a shorter chain that is otherwise intact); then the per-case sequence
numbers and the `cases` projection, which a careless edit also leaves inconsistent.

What it cannot do: someone with the file who recomputes every hash and the head leaves a valid
chain. Record the head this prints somewhere else (a supervisor's notes, the tier above) and
compare; the chain then proves nothing before that head was changed.

Reads only; works without the node's data key (an auditor need not see personal data).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from nodes.store.chain import CHAINED_COLUMNS, GENESIS, OPTIONAL_COLUMNS, link_hash
from nodes.store.errors import translated


@dataclass(frozen=True)
class BrokenLink:
    """Where the chain breaks. `problem` is a code; `expected`/`found` what differs there."""

    problem: str  # no_chain | hash_missing | link | content | head | seq_gap | projection
    row_id: int | None
    case_id: str | None
    seq: int | None
    expected: str
    found: str
    fields: tuple[str, ...] = ()  # for `content`: fields that differ from the lifecycle report


@dataclass(frozen=True)
class ChainReport:
    rows: int
    head: str
    broken: BrokenLink | None

    @property
    def intact(self) -> bool:
        return self.broken is None

    def to_json(self) -> dict[str, Any]:
        return {"intact": self.intact, "rows": self.rows, "head": self.head,
                "broken": asdict(self.broken) if self.broken else None}


def verify_file(path: str) -> ChainReport:
    """Open the file read-only, verify it, close it; sqlite3's errors come out as StoreError."""
    with translated():
        conn = open_readonly(path)
        try:
            return verify_chain(conn)
        finally:
            conn.close()


def open_readonly(path: str) -> sqlite3.Connection:
    """A connection that cannot write (the audited file must not change under the audit)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.execute("PRAGMA query_only = ON")
    return conn


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def verify_chain(conn: sqlite3.Connection) -> ChainReport:
    if not {"prev_hash", "hash"} <= _columns(conn, "case_events"):
        return ChainReport(0, GENESIS, BrokenLink("no_chain", None, None, None,
                                                  "prev_hash, hash", "no such columns"))
    # A file not yet migrated lacks the later columns: its rows hash without them.
    present = _columns(conn, "case_events")
    chained = CHAINED_COLUMNS + tuple(c for c in OPTIONAL_COLUMNS if c in present)
    cursor = conn.execute(f"SELECT rowid, {', '.join(chained)}, prev_hash, hash "  # noqa: S608
                          "FROM case_events ORDER BY rowid")
    names = [d[0] for d in cursor.description]
    prev, count, last = GENESIS, 0, None
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        broken = _check_row(conn, row, prev)
        if broken is not None:
            return ChainReport(count, prev, broken)
        prev, count, last = row["hash"], count + 1, row
    broken = _check_head(conn, count, prev, last) or _check_cases(conn)
    return ChainReport(count, prev, broken)


def _at(row: dict[str, Any], problem: str, expected: str, found: str,
        fields: tuple[str, ...] = ()) -> BrokenLink:
    return BrokenLink(problem, row["rowid"], row["case_id"], row["seq"], expected, found, fields)


def _check_row(conn: sqlite3.Connection, row: dict[str, Any], prev: str) -> BrokenLink | None:
    if row["hash"] is None or row["prev_hash"] is None:
        return _at(row, "hash_missing", "prev_hash and hash", "NULL")
    if row["prev_hash"] != prev:  # the row before this one was deleted, inserted or re-hashed
        return _at(row, "link", prev, row["prev_hash"])
    recomputed = link_hash(prev, row)
    if recomputed != row["hash"]:  # this row's content was edited after it was written
        return _at(row, "content", row["hash"], recomputed, _differs_from_report(conn, row))
    return None


def _check_head(conn: sqlite3.Connection, count: int, head: str,
                last: dict[str, Any] | None) -> BrokenLink | None:
    recorded = conn.execute("SELECT length, head FROM event_chain WHERE id = 1").fetchone()
    length, recorded_head = (int(recorded[0]), str(recorded[1])) if recorded else (0, GENESIS)
    if (length, recorded_head) == (count, head):
        return None
    where = last or {"rowid": None, "case_id": None, "seq": None}
    return _at(where, "head", f"{length} rows ending in {recorded_head}",
               f"{count} rows ending in {head}")


def _check_cases(conn: sqlite3.Connection) -> BrokenLink | None:
    """Each case's events are numbered 1..n with no gap, and its projection agrees with them."""
    events = conn.execute("SELECT case_id, count(*), max(seq), min(rowid) FROM case_events "
                          "GROUP BY case_id ORDER BY min(rowid)").fetchall()
    projected = dict(conn.execute("SELECT case_id, last_seq FROM cases").fetchall())
    for case_id, n, top, first_row in events:
        if n != top:
            return BrokenLink("seq_gap", first_row, case_id, top, f"{top} events numbered 1..{top}",
                              f"{n} events")
        if projected.get(case_id) != top:
            return BrokenLink("projection", first_row, case_id, top, f"cases.last_seq = {top}",
                              f"cases.last_seq = {projected.get(case_id)}")
    missing = sorted(set(projected) - {row[0] for row in events})
    if missing:
        return BrokenLink("projection", None, missing[0], projected[missing[0]],
                          f"events for case {missing[0]}", "none")
    return None


def _differs_from_report(conn: sqlite3.Connection, row: dict[str, Any]) -> tuple[str, ...]:
    """Fields of an edited row that disagree with the lifecycle report sent when it was written
    (best effort: notes send no report, and the outbox may have been pruned)."""
    found = conn.execute("SELECT body FROM outbox WHERE case_id = ? AND seq = ? AND "
                         "schema_name = 'lifecycle_report'", [row["case_id"], row["seq"]]).fetchone()
    if found is None:
        return ()
    try:
        report = json.loads(found[0])["payload"]
        differs = []
        if report["event"] != row["action"]:
            differs.append("action")
        if report["state_to"] != row["state_after"]:
            differs.append("state_after")
        if datetime.fromisoformat(report["at"]) != datetime.fromisoformat(row["at"]):
            differs.append("at")
        if report["node_id"] != row["node_id"]:
            differs.append("node_id")
    except (ValueError, KeyError, TypeError):
        return ()
    return tuple(differs)
