"""The command line's side of the mediation paths (issue 16, `nodes.domain.paths`).

- `consent [--party NAME|N] [--refuse [--remedies-notified]]`: consent or refusal per party. A
  party is named by its number in `case show`, its name, or its role when only one party has it;
  the event records the number only (events are not sealed; names live in `parties`).
- `accept --consent` never overrides a refusal on record.
- `follow-up --not-honoured --note WHAT` on an agreed or performing case records the breach too.
- `choose`: the parties' choice of mediator and of a public or private session.

Each builds a command that runs inside the service's transaction, so the party is looked up in
the same transaction that records the consent.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from nodes.cli.context import CliError, Ctx
from nodes.cli.options import named_choice
from nodes.cli.parser import Parser
from nodes.domain import commands as cmd
from nodes.domain import paths
from nodes.domain.case import Actor, Case
from nodes.i18n import LANGS, N_, _
from nodes.labels import word
from nodes.records import PartyRow
from nodes.service import CaseService, Command

Builder = Callable[[argparse.Namespace, CaseService, Ctx], Command]
Add = Callable[[Any, str, str, Builder], Parser]


def party_number(value: str, parties: Sequence[PartyRow]) -> int:
    """The party's number (1-based) from its number, its name, or a role only one party has."""
    given = value.strip()
    count = len(parties)
    if given.isascii() and given.isdigit():
        if 1 <= int(given) <= count:
            return int(given)
        raise CliError("party_number", N_("the case has parties 1 to {count}, not {value}"),
                       count=count, value=given)
    named = [n for n, p in enumerate(parties, 1) if p.name == given]
    if not named:
        named = [n for n, p in enumerate(parties, 1)
                 if given.lower() in {p.role, *(word(p.role, lang).lower() for lang in LANGS)}]
    if len(named) == 1:
        return named[0]
    if named:
        raise CliError("party_ambiguous", N_(
            "several parties match {value!r}: give the party's number (1 to {count}, as case "
            "show lists them)"), value=given, count=count)
    raise CliError("party_unknown", N_(
        "no party of this case matches {value!r}: give the party's number (1 to {count}, as "
        "case show lists them), name or role"), value=given, count=count)


def consent_command(a: argparse.Namespace, s: CaseService, ctx: Ctx) -> Command:
    def command(case: Case, actor: Actor, at: datetime) -> None:
        party = parties = None
        if a.party is not None:
            rows = s.store.parties(case.case_id)
            party, parties = party_number(a.party, rows), len(rows)
        paths.record_consent(case, actor, at, scope=a.scope, given=not a.refuse, party=party,
                             parties=parties, note=a.note,
                             remedies_notified=a.remedies_notified)
    return command


def consent_options(p: Parser) -> None:
    """`consent`'s options added by the paths (the scope and note are `case_transitions`')."""
    p.add_argument("--party", metavar="PARTY",
                   help=_("which party: its number in case show, its name, or its role "
                          "(default: the parties as a whole)"))
    p.add_argument("--remedies-notified", action="store_true",
                   help=_("with --refuse of mediation: the parties were told their other "
                          "routes (the refusal ends the mediation)"))


def accept_command(a: argparse.Namespace, s: CaseService, ctx: Ctx) -> Command:
    def command(case: Case, actor: Actor, at: datetime) -> None:
        if a.consent:  # consent and acceptance commit together, never over a refusal
            paths.accept_with_consent(case, actor, at, s.rules)
        else:
            cmd.accept(case, actor, at, s.rules)
    return command


def follow_up_command(a: argparse.Namespace, s: CaseService, ctx: Ctx) -> Command:
    return lambda case, actor, at: paths.follow_up(case, actor, at, honoured=a.honoured,
                                                   note=a.note)


def register(cases: Any, add: Add) -> None:
    """The `choose` command (`add` is `case_transitions._add`)."""
    p = add(cases, "choose", _("record the parties' choice of mediator and of session"),
            lambda a, s, c: lambda case, actor, at: paths.choose(
                case, actor, at, mediator=a.mediator, session=a.session, note=a.note))
    p.add_argument("--mediator", default="", metavar="NAME",
                   help=_("the mediator the parties chose"))
    session, sessions = named_choice(list(paths.SESSIONS), word, _("session"))
    p.add_argument("--session", type=session, metavar="SESSION",
                   help=_("public or private session, as the parties asked: {choices}",
                          choices=sessions))
    p.add_argument("--note", default="", help=_("note"))
