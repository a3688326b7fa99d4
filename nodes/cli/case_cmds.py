"""`fengqiao case new | list | show`; the transitions are in `case_transitions`."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from nodes.case_ids import resolve_case_id
from nodes.cli import assign_cmds, case_fix, case_transitions
from nodes.cli.case_dossier import red_flag_rows
from nodes.cli.case_render import list_json, list_text, show_json, show_text
from nodes.cli.clock_render import due_days, due_within_ids, overdue_ids, running_clocks
from nodes.cli.context import Ctx, bilingual, open_node
from nodes.cli.facts_input import add_facts_options, facts_of
from nodes.cli.i18n import t
from nodes.cli.options import named_choice
from nodes.cli.ownership_render import node_names
from nodes.cli.parser import group, leaf, unmask
from nodes.cli.sending import latest_by_case
from nodes.domain.clock_plan import clocks_of
from nodes.domain.states import CaseState
from nodes.i18n import LANGS, _
from nodes.labels import ref_label, state_label, type_label, word
from nodes.service import CaseNotFound, PartyInput
from nodes.store.due_index import candidate_rows, with_clock
from nodes.store.leaders import cases_led_by
from nodes.store.party_versions import changes as party_changes
from protocol.messages import MAX_PARTIES, MAX_PEOPLE, MAX_SHORT
from protocol.reference import DISPUTE_TYPES, DISPUTE_TYPES_VERSION, CaseSource

_SOURCES = [s.value for s in CaseSource if s is not CaseSource.ESCALATION]
_TYPES = DISPUTE_TYPES[DISPUTE_TYPES_VERSION]
ROLES = ("applicant", "respondent", "other")


def new_epilog() -> str:
    """The parties' syntax, the dispute types and an example, in the current language."""
    roles = " | ".join(f"{r} {word(r)}" for r in ROLES)
    return "\n".join([
        _("parties:"),
        "  --party " + _("ROLE:NAME[:ID_NUMBER[:PHONE[:ADDRESS]]]") + "  " + _("(repeatable)"),
        "          ROLE = " + roles,
        "  --applicant " + _("NAME[:ID_NUMBER[:PHONE[:ADDRESS]]]") + "  = --party applicant:...",
        "  --respondent " + _("NAME[:ID_NUMBER[:PHONE[:ADDRESS]]]") + " = --party respondent:...",
        _("dispute types (--type code or name):"),
        *(f"  {d.code} {type_label(d.code)}" for d in _TYPES.values()),
        _("example:"),
        "  fengqiao case new --type 02 --source application \\",
        '      --applicant "张三::13800000000" --respondent 李四 --facts "两家因院墙边界发生争执"',
    ]) + "\n"


def dispute_code(value: str) -> str:
    v = unmask(value).strip()
    for d in _TYPES.values():
        names = {type_label(d.code, lang) for lang in LANGS}
        if v == d.code or v in names or (v.isdigit() and len(v) == 1 and d.code == "0" + v):
            return d.code
    choices = ", ".join(f"{d.code} {type_label(d.code)}" for d in _TYPES.values())
    raise argparse.ArgumentTypeError(t("type_bad", value=v, choices=choices))


def _role(word_given: str) -> str | None:
    w = word_given.strip().lower()
    for role in ROLES:
        if w == role or w in {word(role, lang).lower() for lang in LANGS}:
            return role
    return "other" if w == "其他" else None


def party(value: str, role: str | None = None) -> PartyInput:
    value = unmask(value)
    parts = [p.strip() for p in re.split(r"[:：]", value, maxsplit=3 if role else 4)]
    if role is None:
        role = _role(parts.pop(0)) if len(parts) > 1 else None
    if role is None or not parts or not parts[0]:
        raise argparse.ArgumentTypeError(t("party_bad", value=value))
    if any(len(p) > MAX_SHORT for p in parts):  # an escalation could not carry it
        raise argparse.ArgumentTypeError(t("party_too_long", value=value[:40], limit=MAX_SHORT))
    rest: list[str | None] = [p or None for p in parts[1:]] + [None, None, None]
    id_number = rest[0].upper() if rest[0] else None
    return PartyInput(role, parts[0], id_number, rest[1], rest[2])


def _party_of(role: str) -> Callable[[str], PartyInput]:
    def parse(value: str) -> PartyInput:
        return party(value, role)
    parse.__name__ = role
    return parse


def people_count(value: str) -> int:
    """--people: 1 to the most an escalation can carry (a larger count could never go up)."""
    value = unmask(value)
    if not value.strip().isdigit() or not 1 <= int(value) <= MAX_PEOPLE:
        raise argparse.ArgumentTypeError(t("people_bad", value=value, limit=MAX_PEOPLE))
    return int(value)


def grid_id(value: str) -> str:
    value = unmask(value)
    if len(value) != 15 or not value.isdigit():
        raise argparse.ArgumentTypeError(t("grid_bad", value=value))
    return value


def case_state(value: str) -> CaseState:
    v = unmask(value).strip()
    for s in CaseState:
        if v.upper() == s.value or v in {state_label(s, lang) for lang in LANGS}:
            return s
    choices = ", ".join(f"{s.value} {state_label(s)}" for s in CaseState)
    raise argparse.ArgumentTypeError(t("state_bad", value=v, choices=choices))


def register(subparsers: Any) -> None:
    cases = group(subparsers, "case", _("cases: register, mediate, close"))
    p = leaf(cases, "new", _("register a new case"), json=True, epilog=new_epilog())
    p.add_argument("--type", dest="dispute_type", type=dispute_code, required=True,
                   metavar="CODE", help=_("dispute type code or name"))
    add_facts_options(p, required=True, help_text=_("facts of the dispute"))
    source, sources = named_choice(_SOURCES, ref_label, _("source"))
    p.add_argument("--source", type=source, default="application", metavar="SOURCE",
                   help=_("source (default: application): {choices}", choices=sources))
    p.add_argument("--grid-id", type=grid_id, help=_("15-digit grid id"))
    p.add_argument("--people", type=people_count,
                   help=_("people involved (default: number of parties)"))
    p.add_argument("--party", dest="parties", action="append", type=party, default=[],
                   metavar="ROLE:NAME[:ID[:PHONE[:ADDR]]]", help=_("party (repeatable)"))
    for role, label in (("applicant", _("applicant")),
                        ("respondent", _("respondent"))):
        p.add_argument(f"--{role}", dest="parties", action="append", help=label,
                       metavar="NAME[:ID[:PHONE[:ADDR]]]", type=_party_of(role))
    p.add_argument("--accusation", action="store_true",
                   help=_("an accusation (the accuser's identity never goes to the accused)"))
    p.add_argument("--accused", metavar="CODE",
                   help=_("12-digit area code of the accused unit"))
    p.set_defaults(handler=new)

    p = leaf(cases, "list", _("list cases"), json=True)
    p.add_argument("--state", type=case_state, help=_("only this state (e.g. MEDIATING or "
                                                      "调解中)"))
    p.add_argument("--overdue", action="store_true",
                   help=_("only cases with a clock past its due date (acceptance, mediation, "
                          "report-back, performance, follow-up)"))
    p.add_argument("--due-within", type=due_days, metavar="N",
                   help=_("only cases with a clock due within N days (overdue ones included)"))
    p.add_argument("--red-flag", action="store_true",
                   help=_("only red-flag cases (at a hub, also those reported from below)"))
    p.add_argument("--leader", metavar="NAME",
                   help=_("only the cases this leader is in charge of here (包案)"))
    p.set_defaults(handler=list_cases)

    p = leaf(cases, "show", _("a case with its full history"), json=True)
    p.add_argument("case_id", metavar="ID", help=_("case id"))
    p.set_defaults(handler=show)

    case_transitions.register(cases)
    assign_cmds.register(cases)
    case_fix.register(cases)


def new(args: argparse.Namespace, ctx: Ctx) -> int:
    if not args.parties:
        raise bilingual("no_party")
    if len(args.parties) > MAX_PARTIES:
        raise bilingual("too_many_parties", limit=MAX_PARTIES)
    facts = facts_of(args) or ""
    with open_node(ctx) as node:
        source = CaseSource(args.source)
        case = node.service.new_case(
            source=source, dispute_type=args.dispute_type, facts=facts,
            parties=args.parties, people_involved=args.people, grid_id=args.grid_id,
            role=ctx.role or ("grid_worker" if source is CaseSource.GRID_REPORT else "mediator"),
            accusation=args.accusation, accused=args.accused, user=ctx.user)
    assert case.state is not None  # noqa: S101 - a recorded case has a state
    if args.json:
        ctx.emit_json({"case_id": case.case_id, "state": case.state.value})
    else:
        ctx.say(t("case_created", case_id=case.case_id, state=state_label(case.state)))
    return 0


def list_cases(args: argparse.Namespace, ctx: Ctx) -> int:
    state = args.state.value if args.state else None
    with open_node(ctx) as node:
        rows = node.store.case_rows(state)
        flagged = node.store.red_flag_case_ids()
        unsent = latest_by_case(node.store.unsent_case_messages())  # not left yet
        if args.red_flag:  # at a hub, also those reported from below and not held here
            held = rows if state is None else node.store.case_rows()
            rows = red_flag_rows(rows, flagged, node.store.red_flags_reported(),
                                 {r["case_id"] for r in held}, state)
        if args.leader is not None:  # 包案: the cases this leader owns here
            led = cases_led_by(node.store, unmask(args.leader).strip())
            rows = [r for r in rows if r["case_id"] in led]
        if args.overdue or args.due_within is not None:  # candidates from the projection
            rows = candidate_rows(node.store, rows, ctx.today() + timedelta(
                days=-1 if args.due_within is None else args.due_within))
        clocks = running_clocks(node.store.load_case, with_clock(rows), node.service.rules)
    today = ctx.today()
    overdue = overdue_ids(clocks, today)  # every kind of clock (nodes.domain.clock_book)
    if args.overdue:
        rows = [r for r in rows if r["case_id"] in overdue]
    if args.due_within is not None:
        soon = due_within_ids(clocks, today, args.due_within)
        rows = [r for r in rows if r["case_id"] in soon]
    if args.json:
        ctx.emit_json(list_json(rows, overdue, ctx.lang, flagged, unsent, clocks=clocks,
                                today=today))
    else:
        ctx.say(list_text(rows, overdue, ctx.lang, flagged, unsent, clocks=clocks, today=today))
    return 0


def show(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        case_id = resolve_case_id(node.store, args.case_id)
        case = node.store.load_case(case_id)
        if case is None:
            raise CaseNotFound(case_id)
        parties = node.store.parties(case_id)
        unsent = node.store.unsent_case_messages(case_id)  # its messages not left yet
        changes = party_changes(node.store, case_id)  # corrections: before and after
        clocks = clocks_of(case, node.service.rules)  # with those still to be recorded
        names = node_names(node)  # for the first handler (首办)
    if args.json:
        ctx.emit_json(show_json(case, parties, ctx.today(), ctx.lang, unsent, changes=changes,
                                clocks=clocks, names=names))
    else:
        ctx.say(show_text(case, parties, ctx.today(), ctx.lang, unsent, changes=changes,
                          clocks=clocks, names=names))
    return 0
