"""A look at a node's file from another process, read-only, without its key: what waits in it.

For watchers (the RabbitMQ demo's driver, operators' status checks) that must not write, lock or
migrate a file its node is using.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from nodes.store.errors import translated


@dataclass(frozen=True)
class FileSummary:
    unsent: int                # outbox rows not yet confirmed by the broker
    states: dict[str, int]     # cases per state


def peek(path: str | Path) -> FileSummary:
    with translated():
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            unsent = int(conn.execute(
                "SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])
            states = {str(s): int(n) for s, n in conn.execute(
                "SELECT state, count(*) FROM cases GROUP BY state")}
        finally:
            conn.close()
    return FileSummary(unsent, states)
