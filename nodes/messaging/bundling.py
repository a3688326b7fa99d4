"""Which outbox rows travel together in one broker message (protocol 1.3, `protocol.bundle`).

The relay reads a batch of rows in outbox order and hands the transport bundles: rows for the same
exchange and routing key, in their outbox order, up to `BUNDLE_ROWS` rows and `BUNDLE_BYTES`
bytes each. Bundles are published in the order of their first row, so each destination still sees
its rows in outbox order. Nothing waits to fill a bundle: a bundle is what is already committed,
so a lone row travels alone at once, and only a backlog (a burst, or an outbox that filled while
the broker was away) is packed.
"""

from __future__ import annotations

from collections.abc import Sequence

from nodes.messaging.settings import BUNDLE_BYTES, BUNDLE_ROWS
from nodes.records import OutboxRow
from protocol.bundle import MAX_BUNDLE_PARTS

Bundle = list[OutboxRow]


def plan(rows: Sequence[OutboxRow], max_rows: int = BUNDLE_ROWS,
         max_bytes: int = BUNDLE_BYTES) -> list[Bundle]:
    """Group `rows` (outbox order) into bundles per destination, ordered by their first row."""
    max_rows = max(1, min(max_rows, MAX_BUNDLE_PARTS))
    filling: dict[tuple[str, str], tuple[Bundle, int]] = {}  # destination -> (bundle, bytes)
    bundles: list[Bundle] = []
    for row in rows:
        if b"\n" in row.body:  # cannot be framed (encode() never makes one): it goes alone
            bundles.append([row])
            continue
        key = (row.exchange, row.routing_key)
        current, size = filling.get(key, ([], 0))
        if not current or len(current) >= max_rows or size + len(row.body) + 1 > max_bytes:
            current, size = [], 0  # the first for this destination, or the last one is full
            bundles.append(current)
        current.append(row)
        filling[key] = (current, size + len(row.body) + 1)
    return bundles


def schema_of(bundle: Bundle) -> str:
    """The `schema` header: the rows' schema when they share one (they usually do)."""
    names = {row.schema_name for row in bundle}
    return names.pop() if len(names) == 1 else "mixed"


def message_id_of(bundle: Bundle) -> str:
    """The broker message's id: a lone row's own, a bundle's derived from its first row's (so a
    returned bundle can be matched to its delivery tag, and a resent one keeps its id)."""
    first = bundle[0].message_id
    return first if len(bundle) == 1 else f"bundle-{first}-{len(bundle)}"
