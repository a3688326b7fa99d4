"""What a case's risk colour needs from the store (`nodes.domain.risk`), for the few cases a page
shows: which of them share a party with another case here (by the keyed party hash, never by
name), and the highest level of supervision order open on each."""

from __future__ import annotations

from collections.abc import Iterable

from nodes.store.core import StoreCore

_LEVEL_RANK = {"supervise": 1, "listed_supervision": 2}


def _marks(ids: list[str]) -> str:
    return ",".join("?" * len(ids))


def repeat_party_cases(store: StoreCore, case_ids: Iterable[str]) -> set[str]:
    """The cases of `case_ids` with a party whose hash is also a party of another case."""
    ids = sorted(set(case_ids))
    if not ids:
        return set()
    mine = store._all(f"SELECT case_id, party_hash FROM parties WHERE case_id IN ({_marks(ids)})",  # noqa: S608
                      ids)
    hashes = sorted({str(h) for _, h in mine})
    if not hashes:
        return set()
    cases_of: dict[str, set[str]] = {}
    for case_id, party_hash in store._all(
            f"SELECT DISTINCT case_id, party_hash FROM parties WHERE party_hash IN "  # noqa: S608
            f"({_marks(hashes)})", hashes):
        cases_of.setdefault(str(party_hash), set()).add(str(case_id))
    return {str(c) for c, h in mine if len(cases_of.get(str(h), ())) > 1}


def open_order_levels(store: StoreCore, case_ids: Iterable[str]) -> dict[str, str]:
    """The highest level of the unanswered orders this node holds or issued, per case."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    out: dict[str, str] = {}
    for case_id, level in store._all(
            f"SELECT case_id, level FROM supervision WHERE answered_at IS NULL AND part != "  # noqa: S608
            f"'passed' AND case_id IN ({_marks(ids)})", ids):
        if _LEVEL_RANK.get(str(level), 0) > _LEVEL_RANK.get(out.get(str(case_id), ""), 0):
            out[str(case_id)] = str(level)
    return out
