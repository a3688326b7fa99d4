"""`fengqiao case new | list | show`; the transitions are in `case_transitions`."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

from nodes.cli import case_transitions
from nodes.cli.case_render import list_json, list_text, show_json, show_text
from nodes.cli.context import Ctx, bilingual, open_node
from nodes.cli.i18n import t
from nodes.cli.options import named_choice
from nodes.cli.parser import group, leaf, unmask
from nodes.domain.states import CaseState
from nodes.i18n import LANGS, _
from nodes.labels import ref_label, state_label, type_label, word
from nodes.service import CaseNotFound, PartyInput
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
    p.add_argument("--facts", required=True, help=_("facts of the dispute"))
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
                   help=_("only cases past their target date"))
    p.set_defaults(handler=list_cases)

    p = leaf(cases, "show", _("a case with its full history"), json=True)
    p.add_argument("case_id", metavar="ID", help=_("case id"))
    p.set_defaults(handler=show)

    case_transitions.register(cases)


def new(args: argparse.Namespace, ctx: Ctx) -> int:
    if not args.parties:
        raise bilingual("no_party")
    if len(args.parties) > MAX_PARTIES:
        raise bilingual("too_many_parties", limit=MAX_PARTIES)
    with open_node(ctx) as node:
        source = CaseSource(args.source)
        case = node.service.new_case(
            source=source, dispute_type=args.dispute_type, facts=args.facts,
            parties=args.parties, people_involved=args.people, grid_id=args.grid_id,
            role="grid_worker" if source is CaseSource.GRID_REPORT else "mediator",
            accusation=args.accusation, accused=args.accused)
    assert case.state is not None  # noqa: S101 - a recorded case has a state
    if args.json:
        ctx.emit_json({"case_id": case.case_id, "state": case.state.value})
    else:
        ctx.say(t("case_created", case_id=case.case_id, state=state_label(case.state)))
    return 0


def list_cases(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        rows = node.store.case_rows(args.state.value if args.state else None)
        overdue = node.store.overdue_case_ids(ctx.today())
    if args.overdue:
        rows = [r for r in rows if r["case_id"] in overdue]
    if args.json:
        ctx.emit_json(list_json(rows, overdue, ctx.lang))
    else:
        ctx.say(list_text(rows, overdue, ctx.lang))
    return 0


def show(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        case = node.store.load_case(args.case_id)
        if case is None:
            raise CaseNotFound(args.case_id)
        parties = node.store.parties(args.case_id)
    if args.json:
        ctx.emit_json(show_json(case, parties, ctx.today(), ctx.lang))
    else:
        ctx.say(show_text(case, parties, ctx.today(), ctx.lang))
    return 0
