"""Area codes (统计用区划代码) and the tree of nodes built from them.

A node's id is its 12-digit code with the lower levels zeroed (DOMAIN §2). The parent is derived by
zeroing the next level, unless the network's configuration says otherwise (cities without counties).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from protocol.text import N_, Translatable


class Tier(StrEnum):
    """The four tiers of the mediation network, lowest first."""

    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"
    CITY = "city"

    @property
    def rank(self) -> int:
        return TIER_ORDER.index(self)


TIER_ORDER: tuple[Tier, ...] = (Tier.VILLAGE, Tier.TOWNSHIP, Tier.COUNTY, Tier.CITY)

# (start, end) slices of the 12 digits: province 2, city 2, county 2, township 3, village 3.
_LEVELS: tuple[tuple[int, int], ...] = ((0, 2), (2, 4), (4, 6), (6, 9), (9, 12))
_TIER_BY_LOWEST_LEVEL: Mapping[int, Tier] = {
    1: Tier.CITY, 2: Tier.COUNTY, 3: Tier.TOWNSHIP, 4: Tier.VILLAGE,
}


class AreaCodeError(Translatable, ValueError):
    """A code that is not a valid 12-digit statistical division code for a node."""


def _parts(code: str) -> tuple[str, ...]:
    return tuple(code[a:b] for a, b in _LEVELS)


def validate_code(code: str) -> str:
    """Return the code if it is a valid node code; raise AreaCodeError naming what is wrong."""
    if not isinstance(code, str):
        raise AreaCodeError("area_digits", N_("area code {code} must be exactly 12 digits"), code=repr(code))
    return _checked(code)


@functools.lru_cache(maxsize=4096)
def _checked(code: str) -> str:
    """Valid codes are remembered (a node meets the same few dozen all day, each message's
    fields name several): an invalid one raises, and exceptions are never cached."""
    if len(code) != 12 or not (code.isascii() and code.isdigit()):
        raise AreaCodeError("area_digits", N_("area code {code} must be exactly 12 digits"), code=repr(code))
    province, city, _county, township, village = _parts(code)
    if province == "00":
        raise AreaCodeError("area_province", N_("area code {code}: province part is 00"), code=code)
    if city == "00":
        raise AreaCodeError("area_city", N_("area code {code}: city part is 00 (a province is "
                                                 "not a node)"), code=code)
    if township == "000" and village != "000":
        raise AreaCodeError("area_township_zero", N_("area code {code}: village part set but "
                                                          "township part is 000"), code=code)
    if township != "000" and not 1 <= int(township) <= 399:
        raise AreaCodeError("area_township_range", N_("area code {code}: township part {part} is "
                                                           "outside 001-399"), code=code, part=township)
    if village != "000" and not 1 <= int(village) <= 399:
        raise AreaCodeError("area_village_range", N_("area code {code}: village part {part} is "
                                                          "outside 001-399"), code=code, part=village)
    return code


def tier_of(code: str) -> Tier:
    """The tier a node code stands for: its lowest non-zero level."""
    parts = _parts(validate_code(code))
    lowest = max(i for i, p in enumerate(parts) if int(p) != 0)
    return _TIER_BY_LOWEST_LEVEL[lowest]


def default_parent(code: str) -> str | None:
    """Zero the lowest non-zero level; the city has no parent in this network."""
    parts = list(_parts(validate_code(code)))
    lowest = max(i for i, p in enumerate(parts) if int(p) != 0)
    if lowest <= 1:
        return None
    parts[lowest] = "0" * len(parts[lowest])
    # A township of a city without counties (441900101000) zeroes straight to the city.
    return "".join(parts)


def path_segments(code: str) -> tuple[str, ...]:
    """Code levels down to the node's own, trailing zero levels dropped: routing-key words."""
    parts = _parts(validate_code(code))
    lowest = max(i for i, p in enumerate(parts) if int(p) != 0)
    return parts[: lowest + 1]


@dataclass(frozen=True)
class AreaTree:
    """Parent links for a network: configured overrides first, derivation as the default."""

    overrides: Mapping[str, str | None] = field(default_factory=dict)
    vintage_year: int = 2024

    def parent_of(self, code: str) -> str | None:
        validate_code(code)
        if code in self.overrides:
            parent = self.overrides[code]
            return validate_code(parent) if parent is not None else None
        return default_parent(code)

    def ancestors(self, code: str) -> list[str]:
        """Parent, grandparent, ... up to the root, guarding against configured cycles."""
        chain: list[str] = []
        current = self.parent_of(code)
        while current is not None:
            if current in chain or current == code:
                raise AreaCodeError("area_cycle", N_("area tree has a cycle through {code}"),
                                    code=current)
            chain.append(current)
            current = self.parent_of(current)
        return chain

    def is_under(self, code: str, ancestor: str) -> bool:
        return ancestor in self.ancestors(code)
