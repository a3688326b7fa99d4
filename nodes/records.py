"""Plain rows that cross layers: a party as stored, an outbox row as published.

They live here, not in the store, so that the service, the outbound rules and the transport can
name them without importing SQLite code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PartyRow:
    """A party of a case, in the clear (sealed by the store on its way into the file)."""

    role: str
    name: str
    party_hash: str
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class OutboxRow:
    """One message waiting to be published, in the order it was written."""

    message_id: str
    case_id: str | None
    seq: int
    exchange: str
    routing_key: str
    schema_name: str
    body: bytes
    created_at: str
    id: int | None = None
    attempts: int = 0
