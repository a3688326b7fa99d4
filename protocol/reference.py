"""Versioned reference data shared by every tier: dispute types (DOMAIN §3.3) and fixed vocabularies.

A new vintage adds a new table; old messages keep naming the version they were written with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

DISPUTE_TYPES_VERSION = "2026.1"


@dataclass(frozen=True)
class DisputeType:
    """A type of the people's mediation statistics. `name` is its English gloss and the
    translation catalogue's message id (the official Chinese name comes from the catalogue)."""

    code: str
    name: str


_TYPES = (
    DisputeType("01", "marriage & family"),
    DisputeType("02", "neighbours"),
    DisputeType("03", "housing & homestead"),
    DisputeType("04", "contract"),
    DisputeType("05", "business"),
    DisputeType("06", "damages"),
    DisputeType("07", "forest & land"),
    DisputeType("08", "land requisition & demolition"),
    DisputeType("09", "pollution"),
    DisputeType("10", "labour (incl. wage arrears)"),
    DisputeType("11", "tourism"),
    DisputeType("12", "consumer"),
    DisputeType("13", "medical"),
    DisputeType("14", "road accidents"),
    DisputeType("15", "property management"),
    DisputeType("16", "intellectual property"),
    DisputeType("17", "internet"),
    DisputeType("99", "other"),
)

DISPUTE_TYPES: Mapping[str, Mapping[str, DisputeType]] = {
    DISPUTE_TYPES_VERSION: {t.code: t for t in _TYPES},
}


def dispute_type(code: str, version: str = DISPUTE_TYPES_VERSION) -> DisputeType:
    """Look up a dispute type; a KeyError names the unknown code and the table version."""
    table = DISPUTE_TYPES.get(version)
    if table is None:
        raise KeyError(f"unknown dispute-type table version {version!r}")
    if code not in table:
        raise KeyError(f"unknown dispute type {code!r} (table {version}); "
                       f"valid: {', '.join(table)}")
    return table[code]


class CaseSource(StrEnum):
    """How a case reached the committee (人民调解法: application, own initiative, report, referral)."""

    APPLICATION = "application"
    OWN_INITIATIVE = "own_initiative"
    GRID_REPORT = "grid_report"
    REFERRAL = "referral"
    ESCALATION = "escalation"  # arrived from a lower tier


class ReferralTarget(StrEnum):
    """Routes outside people's mediation (REFERRED_OUT)."""

    POLICE = "police"
    COURT = "court"
    ARBITRATION = "arbitration"
    ORGAN = "organ"
    PETITION = "petition"


class EscalationReason(StrEnum):
    """Escalation triggers of DOMAIN §3.2 (which apply is configurable policy)."""

    NO_AGREEMENT = "no_agreement"
    TARGET_EXPIRED = "target_expired"
    CROSS_AREA = "cross_area"
    GROUP_CASE = "group_case"
    CADRE_INVOLVED = "cadre_involved"
    SPECIAL_TYPE = "special_type"
    RED_FLAG = "red_flag"
    DEPARTMENT_INVOLVED = "department_involved"
    COURT_LINKAGE = "court_linkage"
    AMOUNT_ABOVE_THRESHOLD = "amount_above_threshold"
    MAJOR_MATTER = "major_matter"
