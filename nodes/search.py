"""`case find`: a node's cases by a party's name, phone number or ID number.

The parties are sealed, so the search opens them at the node: it reads every party's current
version (`nodes.store.party_versions`), opens only the fields the query can match (the name;
the phone and ID number too when the query is made of digits) and compares normalised forms
(`nodes.text_input.search_key`, `nodes.domain.identity_numbers`).

Why decrypt-and-scan and not a keyed (HMAC) index: opening one field costs about 2 µs, so a
search of 10,000 cases (20,000 parties) took 0.11-0.12 s for a name and 0.16-0.20 s for a phone
or ID number on the 2-core machine (`python -m bench.search`, median of 5), and a village or
township holds far fewer. Nothing new is written: no second, comparable copy of the personal
data in the file (an index shows whoever reads the file which parties share a name or phone),
nothing to keep in step when a case is recorded, corrected or received from below, and a part
matches too (a surname, the last digits of a phone). The cost grows with the file: at a few
hundred thousand cases a keyed index in a table of its own is the way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from nodes.domain.case import DomainError
from nodes.domain.identity_numbers import normalise_id_number, normalise_phone, phone_digits
from nodes.store.core import StoreCore
from nodes.store.party_versions import every_current, opened
from nodes.text_input import search_key
from protocol.text import N_

MIN_DIGITS = 4  # a shorter run of digits would match almost every phone and ID number
_ID_PART = re.compile(r"^[0-9]*X?$")


@dataclass(frozen=True)
class Found:
    """One party of one case that matches: `matched` says which field (name, phone, id_number)."""

    case_id: str
    place: int
    role: str
    name: str
    matched: str


def find_parties(store: StoreCore, text: str) -> list[Found]:
    """Every current party whose name contains the query, or whose phone or ID number contains
    it when it is at least four digits; in case-id order. DomainError if the query is empty."""
    key = search_key(text)
    if not key:
        raise DomainError("find_empty", N_(
            "give a name, phone number or ID number to search for"))
    phone = phone_digits(normalise_phone(text))
    phone = phone if phone.isdigit() and len(phone) >= MIN_DIGITS else ""
    id_part = normalise_id_number(text)
    id_part = id_part if len(id_part) >= MIN_DIGITS and _ID_PART.match(id_part) else ""
    fields: Sequence[str] = ("name", "phone", "id_number") if phone or id_part else ("name",)
    found = []
    for case_id, place, row in every_current(store):
        values = opened(store, row, fields)
        name = str(values["name"])
        matched = ("name" if key in search_key(name)
                   else "phone" if phone and phone in phone_digits(values.get("phone") or "")
                   else "id_number" if id_part and id_part in (values.get("id_number") or "")
                   else None)
        if matched:
            found.append(Found(case_id, place, str(row[2]), name, matched))
    return found
