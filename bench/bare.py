"""The bare sqlite3 loop both floors are measured with: the node-local figure's baseline and the
commit floor's stand-in for a village (`bench.worker bare`). Plain sqlite3 with the node's pragmas
(journal_mode=WAL, synchronous=FULL): BEGIN IMMEDIATE, one INSERT of a ~1 KiB row, COMMIT."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

BARE_ROW = "x" * 1024


def bare_loop(path: Path, count: int) -> float:
    """Seconds for `count` single-row transactions with the node's pragmas."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS cases (id INTEGER PRIMARY KEY, body TEXT)")
        began = time.perf_counter()
        for _ in range(count):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO cases (body) VALUES (?)", (BARE_ROW,))
            conn.execute("COMMIT")
        return time.perf_counter() - began
    finally:
        conn.close()
