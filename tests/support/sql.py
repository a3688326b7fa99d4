"""Read a node's SQLite file as a test inspects it: read-only, raw rows, no store in between."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def rows(path: Path | str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return list(conn.execute(sql, params).fetchall())
    finally:
        conn.close()


def scalar(path: Path | str, sql: str, params: tuple[Any, ...] = ()) -> Any:
    return rows(path, sql, params)[0][0]


def count(path: Path | str, table: str) -> int:
    return int(scalar(path, f"SELECT count(*) FROM {table}"))
