"""The party-hash migration: stored hashes of the old form become the keyed Argon2id one.

Before `nodes.identity`, `party_hash` was `sha256(identity_key|identity)`: fast, so whoever held
the key could reverse it. Both forms are 64 hex characters (the protocol's `PartyHash`), so a row
is known to hold the old form by recomputing it from the row's own opened name, ID number and
phone with the key; such a row gets the new hash. A row whose hash is not the old form (already
new, or made by some other node) is left alone, and so is one whose personal data cannot be
opened (it is counted: nothing to recompute the hash from).

Each row is looked at once: `party_hash_scan` keeps the highest row id done, so a later open
checks only the rows added since (at a hub, a dossier from a station not yet upgraded may still
bring an old-form hash; the next start converts it). The Argon2id work (about 20 ms a row) is done
outside the write lock, in batches, and each batch commits on its own: an interrupted migration
picks up where it stopped.

What already left the node is not changed: lifecycle reports and dossiers sent (or waiting in the
outbox) keep the hashes they were built with, so a party seen before and after the switch is not
matched as a repeat across it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import structlog
from sqlite_utils import Database, Migrations

from nodes.crypto import PersonalDataError
from nodes.identity import IdentityHasher, identity_text
from nodes.store import personal
from nodes.store.core import StoreCore

log = structlog.get_logger("fengqiao.store")
identity_migrations = Migrations("fengqiao.identity")
BATCH = 200  # rows per transaction (about 4 s of Argon2id at the standard cost, done beforehand)


@identity_migrations()
def i001_party_hash_scan(db: Database) -> None:
    """The highest `parties` row id whose hash has been checked for the old form."""
    db.execute(
        """CREATE TABLE party_hash_scan (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_id INTEGER NOT NULL
        )"""
    )


@dataclass(frozen=True)
class Rehashed:
    rehashed: int = 0  # old-form hashes replaced by the new one
    kept: int = 0  # not the old form: left as they were
    unopened: int = 0  # personal data could not be opened, so the hash could not be recomputed


def legacy_hash(key: str, name: str, id_number: str | None, phone: str | None) -> str:
    """The old party hash, `sha256(key|identity)`: only to recognise it, never to make one."""
    return hashlib.sha256(f"{key}|{identity_text(name, id_number, phone)}".encode()).hexdigest()


def _opened(store: StoreCore, case_id: str, sealed: int,
            values: dict[str, str | None]) -> dict[str, str | None]:
    if not sealed:
        return values
    return {column: personal.open_field(store.cipher, case_id, column, value)
            for column, value in values.items()}


def _batch(store: StoreCore, after: int) -> list[Any]:
    return store._all(
        "SELECT id, case_id, name, id_number, phone, party_hash, sealed FROM parties "
        "WHERE id > ? ORDER BY id LIMIT ?", [after, BATCH])


def rehash_parties(store: StoreCore, hasher: IdentityHasher, key: str) -> Rehashed:
    """Give every stored old-form party hash the new form (`key` is the network's identity key,
    the one `hasher` was made with). A store without a data key cannot open the rows: no-op."""
    store.migrate(identity_migrations)
    if store.cipher is None:
        return Rehashed()
    mark = store._one("SELECT last_id FROM party_hash_scan WHERE id = 1")
    after = int(mark[0]) if mark else 0
    rehashed = kept = unopened = 0
    while rows := _batch(store, after):
        updates: list[tuple[str, int, str]] = []
        for row_id, case_id, name, id_number, phone, stored, sealed in rows:
            try:
                v = _opened(store, case_id, sealed,
                            {"name": name, "id_number": id_number, "phone": phone})
            except PersonalDataError:
                unopened += 1
                continue
            if v["name"] is not None and stored == legacy_hash(key, v["name"], v["id_number"],
                                                               v["phone"]):
                updates.append((hasher.party(v["name"], v["id_number"], v["phone"]), row_id,
                                stored))
            else:
                kept += 1
        after = int(rows[-1][0])
        with store.atomic():
            for new, row_id, old in updates:  # only if no one changed the row meanwhile
                store._write("UPDATE parties SET party_hash = ? WHERE id = ? AND party_hash = ?",
                             [new, row_id, old])
            store._write("INSERT INTO party_hash_scan (id, last_id) VALUES (1, ?) ON CONFLICT(id) "
                         "DO UPDATE SET last_id = max(last_id, excluded.last_id)", [after])
        rehashed += len(updates)
    result = Rehashed(rehashed, kept, unopened)
    if rehashed or unopened:
        log.info("party_hash.rehashed", rehashed=rehashed, kept=kept, unopened=unopened)
    return result
