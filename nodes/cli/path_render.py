"""What `case show` adds for the mediation paths (issue 16): who acted, each party's consent or
refusal, the parties' choice of mediator and session, and how, where and when an agreement is
performed. `nodes.cli.case_render` places these lines and cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nodes.domain.case import Case, CaseEvent
from nodes.domain.consent import SCOPES, Standing, standing
from nodes.domain.paths import current_choice
from nodes.domain.roles import roles_of
from nodes.domain.states import Action
from nodes.i18n import N_, t
from nodes.labels import word
from nodes.records import PartyRow


def role_words(role: str, lang: str) -> str:
    """A role, or several (`grid_worker,mediator`), by name."""
    return t(N_(", "), lang).join(word(r, lang) for r in sorted(roles_of(role))) or role


def actor_cell(event: CaseEvent, lang: str) -> str:
    """Node, role and the named person (none on events from before, or by the node itself)."""
    return " ".join(x for x in (event.node_id, role_words(event.actor_role, lang),
                                event.actor_user or "") if x)


def _given(given: bool, lang: str) -> str:
    return t(N_("agrees") if given else N_("refuses"), lang)


def path_detail(event: CaseEvent, lang: str) -> str:
    """The history's details for consent, refusal, a case closed as not mediated, a choice."""
    d = event.data
    party = d.get("party")
    if event.action is Action.CONSENT:
        scope = word(str(d.get("scope", "")), lang)
        if party:
            return t(N_("party {party}, {scope}: {given}"), lang, party=party, scope=scope,
                     given=_given(bool(d.get("given")), lang))
        given = N_("{scope}: given") if d.get("given") else N_("{scope}: refused")
        return t(given, lang, scope=scope)
    if event.action is Action.REFUSE:
        who = t(N_("party {party} refused mediation"), lang, party=party) if party \
            else t(N_("a party refused mediation"), lang)
        return who + t(N_("; "), lang) + t(N_("other routes notified"), lang)
    if event.action is Action.CLOSE and d.get("not_mediated"):
        return t(N_("closed as not mediated"), lang)
    if event.action is Action.CHOICE:
        return _choice_text(d, lang)
    return ""


def _choice_text(choice: Any, lang: str) -> str:
    parts = []
    if choice.get("mediator"):
        parts.append(t(N_("mediator: {name}"), lang, name=choice["mediator"]))
    if choice.get("session"):
        parts.append(t(N_("session: {kind}"), lang, kind=word(str(choice["session"]), lang)))
    return t(N_("; "), lang).join(parts)


def _party_name(number: int | None, parties: Sequence[PartyRow], lang: str) -> str:
    if number is None:
        return t(N_("the parties as a whole"), lang)
    if 1 <= number <= len(parties):
        p = parties[number - 1]
        return f"{number}. {word(p.role, lang)} {p.name}"
    return str(number)


def _standing_line(now: Standing, parties: Sequence[PartyRow], lang: str) -> str:
    entries = []
    if now.whole is not None:
        entries.append(f"{_party_name(None, parties, lang)}: {_given(now.whole, lang)}")
    entries += [f"{_party_name(n, parties, lang)}: {_given(g, lang)}"
                for n, g in sorted(now.parties.items())]
    unknown = t(N_("not recorded"), lang)
    entries += [f"{_party_name(n, parties, lang)}: {unknown}"
                for n in now.missing if n not in now.parties]
    return t(N_("consent to {scope}: {entries}"), lang, scope=word(now.scope, lang),
             entries=t(N_("; "), lang).join(entries))


def path_lines(case: Case, parties: Sequence[PartyRow], lang: str) -> list[str]:
    """Consent per scope, the parties' choice, the agreement's manner and place."""
    lines = []
    a = case.agreement or {}
    if a.get("manner") or a.get("place"):  # right below the agreement's own lines
        lines.append(t(N_("  performance: manner {manner}; place {place}"), lang,
                       manner=a.get("manner") or "—", place=a.get("place") or "—"))
    for scope in SCOPES:
        now = standing(case.events, scope)
        if now.whole is not None or now.parties:
            lines.append(_standing_line(now, parties, lang))
    choice = current_choice(case)
    if choice:
        lines.append(t(N_("parties' choice: {choice}"), lang, choice=_choice_text(choice, lang)))
    return lines


def path_json(case: Case) -> dict[str, Any]:
    """Consent per scope (who stands where) and the parties' choice, for `case show --json`."""
    consent = {}
    for scope in SCOPES:
        now = standing(case.events, scope)
        consent[scope] = {"whole": now.whole,
                          "parties": {str(n): g for n, g in sorted(now.parties.items())},
                          "missing": now.missing, "complete": now.complete,
                          "refused_by": ["all" if n is None else n for n in now.refused_by]}
    return {"consent": consent, "choice": current_choice(case)}
