"""The party identity hash (DOMAIN §7): finds a party again across villages and tiers without
carrying who the party is, and costs real work to reverse.

An ID number has few possibilities: a county's candidates (region, birth date, sequence; the
check digit follows) are about 25.2 million. The hash is Argon2id (memory-hard: a GPU or ASIC
gains little over a CPU), keyed by the network's `identity_key` twice over: Argon2's secret input
and its salt are both derived from the key, so without the key no guess can even be tried, and
with it every guess costs one full Argon2id run (`STANDARD`: about 20 ms and 19 MiB on one core,
so the 25.2 million candidates take about 5.7 days of CPU; `fengqiao bench` measures it).

Every node of a network must hash alike, so the cost profile is a network-wide setting like the
key (`identity_cost` in the config): `standard` is the default and the only one for real data;
`test` is the cheapest Argon2id there is, for the test suite, the demo and the bench, whose
invented parties need no protection and whose figures would otherwise be mostly this hash.

The output is 64 lowercase hex characters (32 bytes), the shape the protocol's `party_hash` field
accepts (`protocol.messages.PartyHash`), so older nodes take it unchanged. It cannot carry a
version prefix on the wire; a node tells the old form (`sha256(key|identity)`) from this one by
recomputing it (`nodes.store.rehash`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from nodes.memory import release_free_memory
from protocol.text import N_, Translatable

IdentityCostName = Literal["standard", "test"]
SCHEME = "argon2id-v1"  # what the salt and secret are derived for; a new scheme gets a new name
HASH_BYTES = 32  # 64 hex characters, as protocol.messages.PartyHash requires
CACHE_SIZE = 1024  # recent identities hashed in this process (a repeat party costs nothing)
CANDIDATE_IDS = 25_200_000  # a county's candidate ID numbers: what reversing one hash means


@dataclass(frozen=True)
class IdentityCost:
    """Argon2id's cost parameters (RFC 9106): memory in KiB, passes over it, parallel lanes."""

    name: IdentityCostName
    memory_kib: int
    iterations: int
    lanes: int


# OWASP's Argon2id setting (19 MiB, 2 passes, 1 lane): about 20 ms per hash on the bench machine
# (2-core AMD EPYC), which a mediator recording a case never notices.
STANDARD = IdentityCost("standard", memory_kib=19_456, iterations=2, lanes=1)
# Argon2id's minimum (8 KiB, 1 pass): well under 0.1 ms. Only for invented data.
TEST = IdentityCost("test", memory_kib=8, iterations=1, lanes=1)
PROFILES: dict[str, IdentityCost] = {p.name: p for p in (STANDARD, TEST)}


class IdentityKeyError(Translatable, ValueError):
    """The identity hash cannot be set up (no key, or a cost profile fengqiao does not know)."""


def identity_text(name: str, id_number: str | None, phone: str | None) -> str:
    """What identifies a party, as hashed: the ID number, else name and phone (upper case, so an
    ID number's check letter x and X are one)."""
    identity = id_number or f"{name.strip()}|{phone or ''}"
    return identity.upper()


def _derived(key: str, purpose: str) -> bytes:
    return hmac.new(key.encode(), f"fengqiao {SCHEME} {purpose}".encode(), hashlib.sha256).digest()


class IdentityHasher:
    """The network's identity hash with its key and cost profile; same key and profile, same
    hash, on every node. Thread-safe (one Argon2id object per hash; the cache locks itself)."""

    def __init__(self, key: str, cost: IdentityCost | str = STANDARD) -> None:
        if not key:
            raise IdentityKeyError("identity_key_missing", N_(
                "no identity_key: the party hash needs the network's identity key"))
        if isinstance(cost, str):
            if cost not in PROFILES:
                raise IdentityKeyError("identity_cost_unknown", N_(
                    "identity_cost {name} is not known (standard or test)"), name=repr(cost))
            cost = PROFILES[cost]
        self.cost = cost
        self._salt = _derived(key, "salt")[:16]
        self._secret = _derived(key, "secret")
        self.hash = lru_cache(maxsize=CACHE_SIZE)(self._compute)

    def _compute(self, identity: str) -> str:
        kdf = Argon2id(salt=self._salt, length=HASH_BYTES, iterations=self.cost.iterations,
                       lanes=self.cost.lanes, memory_cost=self.cost.memory_kib,
                       secret=self._secret)
        try:
            return kdf.derive(identity.encode()).hex()
        finally:
            release_free_memory()  # the KDF's block, freed, back to the system

    def party(self, name: str, id_number: str | None, phone: str | None) -> str:
        """The hash of a party's identity (see `identity_text`)."""
        return self.hash(identity_text(name, id_number, phone))

    def __repr__(self) -> str:  # never the key
        return f"IdentityHasher(cost={self.cost.name!r})"
