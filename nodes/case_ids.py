"""Case ids as a mediator types them: `4`, `00004` or `2026-00004` for `<node>-2026-00004`.

The full id (`330681111242-2026-00004`) is what the file, the messages and the reports use; a
mediator reads the number off a paper form. A short form is taken when exactly one case here
ends with it. Otherwise one sentence lists the candidates (a hub holds cases from many villages,
each numbering from 1 every year), and nothing is done.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol

from nodes.domain.case import DomainError
from nodes.service import CaseNotFound
from protocol.text import N_

SHORT = re.compile(r"^(?:(?:(?P<node>[0-9]{12})-)?(?P<year>[0-9]{4})-)?(?P<number>[0-9]{1,9})$")
SHOWN = 10  # candidates named in the sentence; the rest are counted


class CaseIds(Protocol):
    def case_ids_ending(self, suffix: str) -> list[str]: ...


def resolve_case_id(store: CaseIds, given: str) -> str:
    """The full id `given` stands for. Full-width digits and dashes are read as ASCII; a text
    that is no case number is returned as typed (the caller reports no such case)."""
    text = unicodedata.normalize("NFKC", given).strip()
    m = SHORT.match(text)
    if m is None or int(m["number"]) == 0:
        return given
    suffix = f"-{int(m['number']):05d}"
    if m["year"]:
        suffix = f"-{m['year']}{suffix}"
    if m["node"]:
        suffix = m["node"] + suffix
    found = store.case_ids_ending(suffix)
    if m["node"]:
        found = [f for f in found if f == suffix]
    if len(found) == 1:
        return found[0]
    if not found:
        raise CaseNotFound(text)
    more = len(found) - SHOWN
    listed = ", ".join(found[:SHOWN]) + (f" (+{more})" if more > 0 else "")
    raise DomainError("case_id_ambiguous", N_(
        "case number {given} matches {count} cases: {candidates}; type more of the id, such as "
        "the year (2026-00004) or the whole id"), given=text, count=len(found),
        candidates=listed)
