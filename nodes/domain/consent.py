"""Who has consented to what, read from a case's events (人民调解法 Art. 3: mediation is voluntary;
DOMAIN §3.2: escalation needs the parties' consent too).

Consent and refusal are recorded per scope (mediation, escalation) and per party, by the party's
number in the case (1, 2, ...; never its name: events are not sealed). A record without a party
speaks for the parties as a whole, as every record did before consent was per party, so old files
read the same. What stands:

- a party's latest record;
- a whole-case refusal stands until every party consents on its own afterwards (it names no one,
  so no one is released from it by a whole-case consent of the others);
- a whole-case consent never lifts a party's own refusal: only that party's later consent does.

Consent is complete when nothing refused stands and it was given for the whole case or by every
party (the per-party records carry how many parties the case has).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nodes.domain.states import Action

if TYPE_CHECKING:
    from nodes.domain.case import CaseEvent

MEDIATION, ESCALATION = "mediation", "escalation"
SCOPES = (MEDIATION, ESCALATION)


@dataclass(frozen=True)
class Standing:
    """What stands in one scope: the whole-case record, each party's latest, the party count."""

    scope: str
    whole: bool | None = None
    parties: dict[int, bool] = field(default_factory=dict)
    count: int | None = None

    def _all_parties_consent(self) -> bool:
        return bool(self.count) and all(self.parties.get(i) is True
                                        for i in range(1, (self.count or 0) + 1))

    @property
    def refused_by(self) -> list[int | None]:
        """The parties whose refusal stands (None: a refusal for the parties as a whole)."""
        out: list[int | None] = [i for i in sorted(self.parties) if not self.parties[i]]
        if self.whole is False and not self._all_parties_consent():
            out.insert(0, None)
        return out

    @property
    def missing(self) -> list[int]:
        """Parties whose consent is not recorded, when the case's consent is taken per party."""
        if self.whole is True or not self.count:
            return []
        return [i for i in range(1, self.count + 1) if self.parties.get(i) is not True]

    @property
    def complete(self) -> bool:
        return not self.refused_by and (self.whole is True or self._all_parties_consent())

    @property
    def summary(self) -> bool | None:
        """False if a refusal stands, True if consent is complete, None if neither."""
        if self.refused_by:
            return False
        return True if self.complete else None


def _record(event: CaseEvent) -> tuple[str, int | None, bool, int | None] | None:
    """(scope, party, given, party count) if the event records consent or refusal."""
    data = event.data
    party = data.get("party")
    count = data.get("parties")
    party = party if isinstance(party, int) and party >= 1 else None
    count = count if isinstance(count, int) and count >= 1 else None
    if event.action is Action.CONSENT:
        return str(data.get("scope", MEDIATION)), party, bool(data.get("given")), count
    if event.action is Action.REFUSE:
        return MEDIATION, party, False, count
    return None


def standing(events: Iterable[CaseEvent], scope: str) -> Standing:
    whole: bool | None = None
    parties: dict[int, bool] = {}
    count: int | None = None
    for event in events:
        record = _record(event)
        if record is None or record[0] != scope:
            continue
        _, party, given, seen = record
        count = seen or count
        if party is None:
            whole = given
            if not given:  # consents given before a refusal of the whole case do not outlast it
                parties = {i: g for i, g in parties.items() if not g}
        else:
            parties[party] = given
    return Standing(scope, whole, parties, count)


def party_list(parties: Iterable[int | None]) -> str:
    """Party numbers for a message ("2, 3")."""
    return ", ".join(str(p) for p in parties if p is not None)
