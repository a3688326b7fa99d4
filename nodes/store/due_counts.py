"""How many cases are overdue or due soon, from the due dates the `cases` projection keeps
(`nodes.store.due_index`), without replaying them (issue 17: the today page at 5,000 open cases).

A stored date is exact when every running clock of the case is recorded by an event: the case is
overdue when its earliest clock that can be late is past (`due_next < today`), due soon when that
clock or its earliest window falls within the days asked. The rows stored as `ALWAYS` (a clock the
node's rules still have to plan) are not counted here: the caller replays those few and adds them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from nodes.store.due_index import ALWAYS

_LATE = "due_next < :today AND due_next != :always"
_SOON = ("(due_next IS NULL OR due_next >= :today) AND (due_next <= :until"
         " OR (window_due >= :today AND window_due <= :until))")
_SOON_ORDER = ("MIN(COALESCE(due_next, '9999-12-31'), CASE WHEN window_due >= :today"
               " THEN window_due ELSE '9999-12-31' END), case_id")


@dataclass(frozen=True)
class DueCounts:
    """The exactly counted cases (ALWAYS rows left out), the first `shown` of each list by due
    date, and the ALWAYS rows' case ids, which the caller decides by replaying them."""

    overdue: int
    soon: int
    first_overdue: list[str]
    first_soon: list[str]
    to_plan: list[str]


def due_counts(store: Any, today: date, days: int, shown: int) -> DueCounts | None:
    """The counts and first rows; None on a file from before m014 (no such column)."""
    conn = store._db.conn
    args = {"today": today.isoformat(), "until": (today + timedelta(days=days)).isoformat(),
            "always": ALWAYS, "shown": shown}
    try:
        late = conn.execute(f"SELECT COUNT(*) FROM cases WHERE {_LATE}", args).fetchone()[0]  # noqa: S608
        soon = conn.execute(f"SELECT COUNT(*) FROM cases WHERE {_SOON}", args).fetchone()[0]  # noqa: S608
        first_late = conn.execute(
            f"SELECT case_id FROM cases WHERE {_LATE} ORDER BY due_next, case_id LIMIT :shown",  # noqa: S608
            args).fetchall()
        first_soon = conn.execute(
            f"SELECT case_id FROM cases WHERE {_SOON} ORDER BY {_SOON_ORDER} LIMIT :shown",  # noqa: S608
            args).fetchall()
        to_plan = conn.execute("SELECT case_id FROM cases WHERE due_next = ?", [ALWAYS]).fetchall()
    except sqlite3.OperationalError:  # no such column: the caller reads every case
        return None
    return DueCounts(int(late), int(soon), [str(r[0]) for r in first_late],
                     [str(r[0]) for r in first_soon], [str(r[0]) for r in to_plan])


def overdue_now(store: Any, today: date) -> tuple[set[str], set[str]] | None:
    """The cases the projection knows are overdue, and the ALWAYS rows the caller replays to
    decide; None on a file from before m014."""
    args = {"today": today.isoformat(), "always": ALWAYS}
    try:
        late = store._db.conn.execute(f"SELECT case_id FROM cases WHERE {_LATE}", args)  # noqa: S608
        exact = {str(r[0]) for r in late.fetchall()}
        to_plan = store._db.conn.execute("SELECT case_id FROM cases WHERE due_next = ?",
                                         [ALWAYS]).fetchall()
    except sqlite3.OperationalError:
        return None
    return exact, {str(r[0]) for r in to_plan}
