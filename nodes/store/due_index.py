"""Each case's next due date in the `cases` projection (issue 17: pages at 5,000 cases).

Working out which cases are overdue or due soon used to replay every open case. The save that
appends a case's events now also writes, in the same transaction, `due_next` and `due_kind` (the
earliest running clock that can be late: not a window) and `window_due` (the earliest running
window, judicial confirmation), so a page selects the few candidate cases with one indexed query
and replays only those (`nodes.cli.clock_render` still decides exactly, against today's date).

The columns are a pre-filter, never the answer: dates are compared with today at query time, a
stopped clock is not stored (it stops only through an event, which rewrites the row), and a case
with a clock still to be planned from the rules (no event holds its deadline) is stored as due on
`ALWAYS`, so it is always read and decided with the node's rules.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlite_utils import Database

from nodes.domain.case import Case, CaseEvent, Rules
from nodes.domain.clock_book import MAY_RUN
from nodes.domain.clock_plan import planned
from nodes.domain.states import Action

ALWAYS = "0001-01-01"  # a clock the rules still have to plan: always a candidate
SET_DUE = "UPDATE cases SET due_next = ?, due_kind = ?, window_due = ? WHERE case_id = ?"
R = TypeVar("R", bound=Mapping[str, Any])
_EVENTS = ("SELECT case_id, seq, action, at, node_id, actor_role, reason, data, actor_user "
           "FROM case_events WHERE case_id IN (SELECT case_id FROM cases WHERE state IN ({})) "
           "ORDER BY case_id, seq")


def due_columns(case: Case) -> tuple[str | None, str | None, str | None]:
    """(due_next, due_kind, window_due) of the case as its events stand."""
    if case.state not in MAY_RUN:
        return None, None, None
    running = [c for c in case.clocks() if c.running]
    late = sorted((c for c in running if not c.is_window), key=lambda c: (c.due, c.name))
    windows = [c.due for c in running if c.is_window]
    due_next, kind = (late[0].due.isoformat(), str(late[0].kind)) if late else (None, None)
    if planned(case, Rules()):  # the node's rules set that deadline: decide when read
        due_next = ALWAYS
    return due_next, kind, min(windows).isoformat() if windows else None


def add_columns(db: Database) -> None:
    """Migration m014: the columns, their indexes, an index for recent decisions from above,
    and the backfill of every case that may run a clock, computed from its events."""
    for column in ("due_next", "due_kind", "window_due"):
        db.execute(f"ALTER TABLE cases ADD COLUMN {column} TEXT")
    db.execute("CREATE INDEX cases_due_next ON cases(due_next)")
    db.execute("CREATE INDEX cases_window_due ON cases(window_due)")
    db.execute("CREATE INDEX case_events_action_at ON case_events(action, at)")
    states = sorted(str(s) for s in MAY_RUN)
    cursor = db.execute(_EVENTS.format(",".join("?" * len(states))), states)
    current: list[CaseEvent] = []
    for row in [*cursor.fetchall(), None]:
        if current and (row is None or row[0] != current[0].case_id):
            case = Case.replay(current[0].case_id, current)
            db.execute(SET_DUE, [*due_columns(case), case.case_id])
            current = []
        if row is not None:
            cid, seq, action, at, node, role, reason, data, user = row
            current.append(CaseEvent(cid, seq, Action(action), datetime.fromisoformat(at), node,
                                     role, reason, json.loads(data), user))


def candidate_rows(store: Any, rows: Iterable[R], until: date) -> list[R]:
    """The rows whose case has a running clock due by `until` (windows included): the only ones
    that can be overdue or due within `until - today` days. All rows on a file from before
    m014 (a damaged one is read unmigrated)."""
    rows = list(rows)
    try:
        due = {str(r[0]) for r in store._db.conn.execute(
            "SELECT case_id FROM cases WHERE due_next <= ? OR window_due <= ?",
            [until.isoformat()] * 2)}
    except sqlite3.OperationalError:  # no such column: read every row as before
        return rows
    return [r for r in rows if r["case_id"] in due]


def recent_rows(store: Any, rows: Iterable[R], actions: Iterable[Action],
                since: datetime) -> list[R]:
    """The rows whose case has an event of one of `actions` on or after `since`'s day less one
    (a superset whatever offset a time was written with; the caller checks the exact time),
    through the index on (action, at) rather than every case's events."""
    found = recent_case_ids(store, actions, since)
    return [r for r in rows if r["case_id"] in found]


def recent_case_ids(store: Any, actions: Iterable[Action], since: datetime) -> set[str]:
    """The cases with an event of one of `actions` on or after `since`'s day less one (see
    `recent_rows`)."""
    day = (since - timedelta(days=1)).date().isoformat()
    names = sorted(a.value for a in actions)
    return {str(r[0]) for r in store._all(
        f"SELECT DISTINCT case_id FROM case_events WHERE action IN ({','.join('?' * len(names))})"  # noqa: S608
        " AND at >= ?", [*names, day])}


def with_clock(rows: Iterable[R]) -> list[R]:
    """The rows whose case may have a running clock: the projection holds a due date (or the row
    is from a file before m014); the others need not be replayed to show their clock."""
    return [r for r in rows if "due_next" not in r or r["due_next"] or r["window_due"]]
