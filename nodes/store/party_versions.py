"""A case's parties as they stand after corrections, and the versions corrections replaced.

A correction of a party's details (`nodes.domain.corrections`) appends a row to `parties`,
sealed like every other (each field bound to its column and case), that `replaces` the party's
previous row (m011); nothing is updated or deleted. A party keeps its place (1, 2, ... as first
recorded) through its versions, so `--party 2` means the same person before and after.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from nodes.records import PartyRow
from nodes.store import personal
from nodes.store.core import StoreCore

COLUMNS = "id, case_id, role, name, party_hash, id_number, phone, address, sealed, replaces"
INSERT = ("INSERT INTO parties (case_id, role, name, id_number, phone, address, party_hash, "
          "sealed, replaces, corrected_seq) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)")
Change = tuple[int, PartyRow, PartyRow]  # (party's place, version before, version after)


def _latest(rows: Sequence[Any]) -> tuple[list[Any], dict[int, tuple[int, Any, Any]]]:
    """Rows in id order -> each party's newest row in its place, and for each replacing row's
    id its (place, replaced row, row)."""
    place: dict[int, int] = {}
    latest: list[Any] = []
    replaced: dict[int, tuple[int, Any, Any]] = {}
    for row in rows:
        before = row[9]
        if before is None or before not in place:
            place[row[0]] = len(latest)
            latest.append(row)
            continue
        slot = place[before]
        replaced[row[0]] = (slot + 1, latest[slot], row)
        place[row[0]] = slot
        latest[slot] = row
    return latest, replaced


def opened(store: StoreCore, row: Sequence[Any], fields: Sequence[str] = personal.PARTY_FIELDS
           ) -> dict[str, str | None]:
    """The `fields` of one raw row, opened with the node's key if sealed."""
    case_id, sealed = row[1], row[8]
    raw = {"name": row[3], "id_number": row[5], "phone": row[6], "address": row[7]}
    return {f: personal.open_field(store.cipher, case_id, f, raw[f]) if sealed else raw[f]
            for f in fields}


def _party(store: StoreCore, row: Sequence[Any]) -> PartyRow:
    v = opened(store, row)
    return PartyRow(row[2], str(v["name"]), row[4], v["id_number"], v["phone"], v["address"])


def current(store: StoreCore, case_id: str) -> list[PartyRow]:
    """The case's parties as they stand, in the order first recorded, opened."""
    rows = store._all(f"SELECT {COLUMNS} FROM parties WHERE case_id = ? ORDER BY id",  # noqa: S608
                      [case_id])
    return [_party(store, row) for row in _latest(rows)[0]]


def changes(store: StoreCore, case_id: str) -> dict[int, Change]:
    """For each correction event's seq, the party it changed: its place, before and after."""
    rows = store._all(f"SELECT {COLUMNS}, corrected_seq FROM parties WHERE case_id = ? "  # noqa: S608
                      "ORDER BY id", [case_id])
    seq_of = {row[0]: row[10] for row in rows}
    return {int(seq_of[row_id]): (slot, _party(store, before), _party(store, after))
            for row_id, (slot, before, after) in _latest(rows)[1].items()}


def every_current(store: StoreCore) -> Iterator[tuple[str, int, Sequence[Any]]]:
    """(case id, place, raw row) of every party of every case as it stands, for a search that
    opens only the fields it compares (`opened`)."""
    rows = store._all(f"SELECT {COLUMNS} FROM parties ORDER BY case_id, id")  # noqa: S608
    start = 0
    for end in range(1, len(rows) + 1):
        if end == len(rows) or rows[end][1] != rows[start][1]:
            for slot, row in enumerate(_latest(rows[start:end])[0], start=1):
                yield row[1], slot, row
            start = end


def add_version(store: StoreCore, case_id: str, place: int, party: PartyRow, seq: int) -> None:
    """Append `party` as the new version of the case's party number `place` (1-based), written
    by the correction event `seq`; call inside atomic. IndexError if there is no such party."""
    rows = store._all(f"SELECT {COLUMNS} FROM parties WHERE case_id = ? ORDER BY id",  # noqa: S608
                      [case_id])
    latest = _latest(rows)[0]
    if not 1 <= place <= len(latest):
        raise IndexError(place)
    sealed = personal.seal_fields(store.cipher, case_id, {
        "name": party.name, "id_number": party.id_number, "phone": party.phone,
        "address": party.address})
    store._write(INSERT, [case_id, party.role, sealed["name"], sealed["id_number"],
                          sealed["phone"], sealed["address"], party.party_hash,
                          latest[place - 1][0], seq])
