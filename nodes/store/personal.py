"""Sealing personal data on its way into the file and opening it on the way out (DOMAIN §7).

Three places hold names, ID numbers, phones and addresses: `parties` (each field sealed on its own,
bound to its column and case), the body of an escalation dossier waiting in the outbox or in
`held` (sealed whole, bound to its message id; the relay gets it back in the clear through
`SqliteStore.unsent`, and the message itself travels in the clear over TLS), and the body of
every message in `quarantine`. A refused message may be a dossier, and one that failed to decode
has no schema to tell, so every quarantined body is sealed, bound to the time it was received.
Nothing else the store writes may carry them; tests/unit/test_personal_data.py checks the raw
file bytes.
"""

from __future__ import annotations

from sqlite_utils import Database

from nodes.crypto import (
    TOKEN_PREFIX,
    DataCipher,
    PersonalDataError,
    is_sealed,
    no_key,
    token_key_id,
    wrong_key,
)
from protocol.text import N_

PARTY_FIELDS = ("name", "id_number", "phone", "address")
SEALED_SCHEMAS = frozenset({"case_escalated"})  # outbox rows whose body carries a dossier


def party_context(column: str, case_id: str) -> str:
    return f"parties.{column} of case {case_id}"


def outbox_context(message_id: str) -> str:
    return f"outbox.body of message {message_id}"


def seal_fields(cipher: DataCipher | None, case_id: str,
                values: dict[str, str | None]) -> dict[str, str | None]:
    if cipher is None:
        raise no_key()
    return {k: None if v is None else cipher.seal(v, party_context(k, case_id))
            for k, v in values.items()}


def open_field(cipher: DataCipher | None, case_id: str, column: str, value: str | None) -> str | None:
    if value is None:
        return None
    if cipher is None:
        raise no_key()
    return cipher.open(value, party_context(column, case_id))


def seal_body(cipher: DataCipher | None, schema_name: str, message_id: str, body: bytes) -> bytes:
    if schema_name not in SEALED_SCHEMAS:
        return body
    if cipher is None:
        raise no_key()
    return cipher.seal_bytes(body, outbox_context(message_id))


def open_body(cipher: DataCipher | None, message_id: str, body: bytes) -> bytes:
    if not is_sealed(body):
        return body
    if cipher is None:
        raise no_key()
    return cipher.open_bytes(body, outbox_context(message_id))


def quarantine_context(received_at: str) -> str:
    return f"quarantine.body received at {received_at}"


def seal_quarantined(cipher: DataCipher | None, received_at: str, body: bytes) -> bytes:
    """Whatever arrived, sealed; without a key, refused (never kept in plaintext)."""
    if cipher is None:
        raise no_key()
    return cipher.seal_bytes(body, quarantine_context(received_at))


def open_quarantined(cipher: DataCipher | None, received_at: str, body: bytes,
                     sealed: bool) -> bytes:
    """The body as it arrived. `sealed` comes from the row's own column, not from the bytes: a
    hostile message may look like a token."""
    if not sealed:
        return body
    if cipher is None:
        raise no_key()
    return cipher.open_bytes(body, quarantine_context(received_at))


def check_key(db: Database, cipher: DataCipher) -> None:
    """Refuse a key that is not the one the file's personal data was sealed with, before any write
    (a wrong key must give one clear sentence, not garbage and not a half-sealed table)."""
    row = db.execute("SELECT name FROM parties WHERE sealed = 1 LIMIT 1").fetchone()
    if row is None:  # a hub that has only refused messages so far
        kept = db.execute("SELECT body FROM quarantine WHERE sealed = 1 LIMIT 1").fetchone()
        row = (bytes(kept[0]).decode("ascii", "replace"),) if kept else None
    stored = token_key_id(row[0]) if row else None
    if stored is not None and stored != cipher.key_id:
        raise wrong_key(stored, cipher.key_id)


def seal_plaintext(db: Database, cipher: DataCipher) -> int:
    """The data migration: seal every party row, dossier body and quarantined body still in
    plaintext; returns how many rows it sealed.

    Runs inside the caller's write transaction with `secure_delete` on, so the plaintext cells
    the updates replace are zeroed rather than left in free space; the caller checkpoints the WAL
    afterwards so old page images do not linger there either.
    """
    rows = db.execute(
        f"SELECT id, case_id, {', '.join(PARTY_FIELDS)} FROM parties WHERE sealed = 0").fetchall()  # noqa: S608
    marks = ", ".join(f"'{name}'" for name in sorted(SEALED_SCHEMAS))
    prefix = (TOKEN_PREFIX + ":").encode("ascii").hex()
    bodies = [(i, m, s, bytes(b)) for i, m, s, b in db.execute(
        f"SELECT id, message_id, schema_name, body FROM outbox WHERE schema_name IN ({marks}) "  # noqa: S608
        f"AND substr(body, 1, 4) != X'{prefix}'")]
    refused = [(i, at, bytes(b)) for i, at, b in db.execute(
        "SELECT id, received_at, body FROM quarantine WHERE sealed = 0")]
    if not rows and not bodies and not refused:
        return 0
    db.execute("PRAGMA secure_delete = ON")
    for row_id, message_id, schema_name, body in bodies:
        db.execute("UPDATE outbox SET body = ? WHERE id = ?",
                   [seal_body(cipher, schema_name, message_id, body), row_id])
    for row_id, received_at, body in refused:
        db.execute("UPDATE quarantine SET body = ?, sealed = 1 WHERE id = ?",
                   [seal_quarantined(cipher, received_at, body), row_id])
    for party_id, case_id, *values in rows:
        if any(is_sealed(v) for v in values):
            raise PersonalDataError("party_row_mixed", N_(
                "party row {row} is marked plaintext but holds sealed values; the file may have "
                "been altered"), row=party_id)
        sealed = seal_fields(cipher, case_id, dict(zip(PARTY_FIELDS, values, strict=True)))
        db.execute("UPDATE parties SET name = ?, id_number = ?, phone = ?, address = ?, sealed = 1 "
                   "WHERE id = ?", [*sealed.values(), party_id])
    return len(rows) + len(bodies) + len(refused)
