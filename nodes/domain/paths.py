"""The mediation paths the law allows that take more than one step, or whose step depends on
the state (人民调解法 Arts. 3, 23, 26, 31; DOMAIN §3). Each commits whole or not at all: the
service runs it in one transaction.

- `refuse`: a party refuses mediation, or ends it (they may at any time). Before acceptance the
  case is closed as not mediated; once accepted the mediation ends (TERMINATED). Either way the
  parties are told their other routes, and that is recorded. `agree` is refused afterwards (the
  case is no longer mediating), and acceptance and escalation while the refusal stands.
- `record_consent`: what the `consent` command records: consent, or a refusal, per party or for
  the parties as a whole, of mediation or of escalation.
- `accept_with_consent`: `accept --consent`, which never overrides a refusal on record.
- `follow_up`: a visit (回访) that finds the agreement not honoured records the breach with it.
- `choose`: the parties' choice of mediator and of a public or private session (Art. 19, 20).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nodes.domain import commands as cmd
from nodes.domain import path_rules
from nodes.domain.case import Actor, Case, DomainError, Rules
from nodes.domain.consent import ESCALATION, MEDIATION, standing
from nodes.domain.states import TRANSITIONS, Action, CaseState
from protocol.text import N_

S = CaseState
BEFORE_ACCEPTANCE = frozenset({S.REPORTED, S.REGISTERED})
SESSIONS = ("public", "private")


def _need(condition: bool, code: str, message: str, **params: Any) -> None:
    if not condition:
        raise DomainError(code, message, **params)


def _party(party: int | None, parties: int | None) -> dict[str, int]:
    _need(party is None or (parties is not None and 1 <= party <= parties), "consent_party",
          N_("party {party} is not one of the case's parties"), party=party)
    return {} if party is None or parties is None else {"party": party, "parties": parties}


def refuse(case: Case, actor: Actor, at: datetime, *, remedies_notified: bool,
           party: int | None = None, parties: int | None = None, note: str = "") -> None:
    """A party refuses mediation or ends it: closed as not mediated, or the mediation ends."""
    case.next_state(Action.REFUSE)
    before = case.state
    each = _party(party, parties)
    _need(remedies_notified, "refuse_remedies",
          N_("a refusal ends the mediation: tell the parties their other routes (arbitration, "
             "administrative, court) and record that they were told"))
    case.record(Action.REFUSE, actor, at, note, remedies_notified=True, **each)
    if before in BEFORE_ACCEPTANCE:  # no mediation took place: closed as not mediated
        case.record(Action.CLOSE, actor, at, "", not_mediated=True)


def record_consent(case: Case, actor: Actor, at: datetime, *, scope: str = MEDIATION,
                   given: bool = True, party: int | None = None, parties: int | None = None,
                   note: str = "", remedies_notified: bool = False) -> None:
    """Consent is a note; so is a refusal of escalation, or of mediation once it has ended. A
    refusal of mediation that is still to happen, or under way, ends it (`refuse`)."""
    _need(scope in (MEDIATION, ESCALATION), "consent_scope",
          N_("consent is to mediation or to escalation"))
    if given or scope == ESCALATION or case.state not in TRANSITIONS[Action.REFUSE]:
        cmd.consent(case, actor, at, scope=scope, given=given, note=note, party=party,
                    parties=parties)
    else:
        refuse(case, actor, at, remedies_notified=remedies_notified, party=party,
               parties=parties, note=note)


def accept_with_consent(case: Case, actor: Actor, at: datetime, rules: Rules) -> None:
    """Record the parties' consent and accept, unless a refusal stands: that is never
    overridden by a flag (the party who refused consents on its own record first)."""
    case.next_state(Action.ACCEPT)
    if standing(case.events, MEDIATION).refused_by:
        path_rules.check_accept(case)  # raises, naming who refused
    cmd.consent(case, actor, at, scope=MEDIATION, given=True)
    cmd.accept(case, actor, at, rules)


def follow_up(case: Case, actor: Actor, at: datetime, *, honoured: bool, note: str = "") -> None:
    """回访; not honoured, an agreed or performing case is breached (its remedies: re-mediate,
    the court, a payment order)."""
    breached = not honoured and case.state in path_rules.AGREED_STATES
    if breached:
        _need(bool(note.strip()), "follow_up_breach",
              N_("the agreement was not honoured: say what was not done (the note); it is "
                 "recorded as a breach"))
    cmd.follow_up(case, actor, at, honoured=honoured, note=note)
    if breached:
        cmd.breach(case, actor, at, note)


def choose(case: Case, actor: Actor, at: datetime, *, mediator: str = "",
           session: str | None = None, note: str = "") -> None:
    """当事人选择: the mediator the parties chose, and a public or private session."""
    case.next_state(Action.CHOICE)
    mediator = mediator.strip()
    _need(bool(mediator) or session is not None, "choice_empty",
          N_("record the mediator the parties chose, the session they asked for (public or "
             "private), or both"))
    _need(session is None or session in SESSIONS, "choice_session",
          N_("a session is public or private"))
    _need(len(mediator) <= 100, "choice_mediator",
          N_("a mediator's name is at most 100 characters"))
    data = {k: v for k, v in (("mediator", mediator), ("session", session)) if v}
    case.record(Action.CHOICE, actor, at, note, **data)


def current_choice(case: Case) -> dict[str, str]:
    """The parties' latest choice of mediator and of session (each kept until changed)."""
    out: dict[str, str] = {}
    for event in case.events:
        if event.action is Action.CHOICE:
            out.update({k: str(event.data[k]) for k in ("mediator", "session")
                        if event.data.get(k)})
    return out
