"""The store's fixed SQL for the hot paths (recording a case, applying a message), built once.

Fixed statement texts are prepared once by sqlite3's statement cache; sqlite-utils' helpers read
the table's schema on every call, which cost a third of a case's recording time (BENCHMARKS.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from nodes.store.chain import link_hash

# One fixed savepoint name: nested savepoints may share it (RELEASE and ROLLBACK TO take the
# innermost), and a fixed text is prepared once, unlike sqlite-utils' random names.
SAVEPOINT = "fengqiao_atomic"
# How an event's data is stored (json.dumps(data, ensure_ascii=False, default=str)), built once.
EVENT_DATA = json.JSONEncoder(ensure_ascii=False, default=str)
ROWS_PER_INSERT = 100  # multi-row INSERTs stay far below SQLite's bound-parameter limit

CASE_COLUMNS = ("case_id", "state", "last_seq", "target_due", "updated_at", "origin_node",
                "tier", "dispute_type", "source", "grid_id", "facts", "people_involved",
                "escalated_from", "opened_at")
OPENING_FACTS = CASE_COLUMNS[5:13]
INSERT_CASE = (f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) "  # noqa: S608
               f"VALUES ({', '.join('?' * len(CASE_COLUMNS))})")
UPDATE_CASE = ("UPDATE cases SET state = ?, last_seq = ?, target_due = ?, updated_at = ? "
               "WHERE case_id = ?")
EVENT_INSERT = ("INSERT INTO case_events (case_id, seq, action, state_after, at, node_id, "
                "actor_role, reason, data, actor_user, prev_hash, hash) VALUES ")
PARTY_INSERT = ("INSERT INTO parties (case_id, role, name, id_number, phone, address, party_hash,"
                " sealed) VALUES ")
OUTBOX_INSERT = ("INSERT INTO outbox (message_id, case_id, seq, exchange, routing_key, "
                 "schema_name, body, created_at) VALUES ")


def _values(width: int, count: int) -> str:
    """`(?,..),(?,..)`: `count` rows of `width` parameters, for one multi-row INSERT."""
    row = f"({','.join('?' * width)})"
    return ",".join([row] * count)


def _link(head: tuple[int, str], rows: Sequence[dict[str, Any]]) -> tuple[int, list[tuple[str, str]]]:
    """Chain `rows` onto `head`: the new length and each row's (prev_hash, hash)."""
    length, prev = head
    links = []
    for row in rows:
        digest = link_hash(prev, row)
        links.append((prev, digest))
        prev, length = digest, length + 1
    return length, links


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), ROWS_PER_INSERT):
        yield items[start:start + ROWS_PER_INSERT]
