"""The hash chain over a node's event log (tamper evidence): one chain per database file.

Every `case_events` row stores `prev_hash` (the previous row's `hash`, in insertion order across
the whole node, not per case) and `hash = sha256(prev_hash + canonical JSON of the row)`. One
chain for the whole file means deleting a whole case breaks it as surely as editing one event.
`event_chain` keeps the head (length and last hash), so rows cut from the end are caught too.

The canonical form hashes the columns exactly as stored (`data` is the stored JSON text, not a
re-encoding), so any byte changed on disk changes the hash. Columns added later (`OPTIONAL`, e.g.
`actor_user` since m010) are hashed only when they hold a value: rows written before the column
existed keep their hashes, and a value set or removed afterwards breaks the row's hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS = "0" * 64
CHAINED_COLUMNS = ("case_id", "seq", "action", "state_after", "at", "node_id", "actor_role",
                   "reason", "data")
OPTIONAL_COLUMNS = ("actor_user",)  # hashed when not NULL


# The encoder json.dumps builds on every call with these options, built once.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical(row: Mapping[str, Any]) -> str:
    values = {k: row[k] for k in CHAINED_COLUMNS}
    values.update({k: row[k] for k in OPTIONAL_COLUMNS if row.get(k) is not None})
    return _CANONICAL.encode(values)


def link_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(row)).encode("utf-8")).hexdigest()
