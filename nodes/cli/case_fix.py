"""`fengqiao case find TEXT` and `fengqiao case correct ID ... --reason R`: what a mediator
needs to find a case again and to fix what was recorded wrong.

`find` opens the sealed parties at the node and compares (`nodes.search`); `correct` appends a
correction event and, for a party's details, a new sealed version of the party
(`nodes.domain.corrections`). Both print through the same sanitising helper as `case show`.
"""

from __future__ import annotations

import argparse
from typing import Any

from nodes.case_ids import resolve_case_id
from nodes.cli.case_render import local_time
from nodes.cli.context import CliError, Ctx, open_node
from nodes.cli.facts_input import add_facts_options, facts_of
from nodes.cli.parser import leaf, positive_int
from nodes.cli.table import render
from nodes.domain.corrections import PARTY_FIELDS, PartyChange
from nodes.i18n import N_, _, t
from nodes.labels import state_label, word
from nodes.search import Found, find_parties
from nodes.text_input import printable, printable_tree
from protocol.messages import MAX_SHORT

MATCHED = {"name": N_("name"), "phone": N_("phone"), "id_number": N_("ID number")}


def register(cases: Any) -> None:
    p = leaf(cases, "find", _("find cases by a party's name, phone number or ID number"),
             json=True)
    p.add_argument("text", metavar="TEXT", help=_(
        "a name or part of one, or at least 4 digits of a phone or ID number"))
    p.set_defaults(handler=find)

    p = leaf(cases, "correct", _("correct the facts or a party's details, with a reason (the "
                                 "history keeps what was recorded before)"), json=True)
    p.add_argument("case_id", metavar="ID", help=_("case id"))
    add_facts_options(p, required=False, help_text=_("the corrected facts"))
    p.add_argument("--party", type=positive_int, metavar="N",
                   help=_("the party to correct, numbered as case show lists them"))
    for field, label in (("name", _("corrected name")), ("id-number", _("corrected ID number")),
                         ("phone", _("corrected phone number")),
                         ("address", _("corrected address"))):
        p.add_argument(f"--{field}", metavar="TEXT",
                       help=label + _(" (an empty value clears it, except the name)"))
    p.add_argument("--reason", required=True, help=_("why it is corrected"))
    p.set_defaults(handler=correct)


def find(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        found = find_parties(node.store, args.text)
        cases = {r["case_id"]: r for r in node.store.case_rows()} if found else {}
    rows = [_found_json(f, cases.get(f.case_id, {}), ctx.lang) for f in found]
    if args.json:
        ctx.emit_json(printable_tree(rows))
    elif not rows:
        ctx.say(t(N_("no matching cases"), ctx.lang))
    else:
        headers = [t(h, ctx.lang) for h in (N_("case id"), N_("state"), N_("opened"),
                                             N_("party"), N_("matched on"))]
        body = [[r["case_id"], r["state_label"], r["opened"],
                 f"{r['party']} {r['role_label']} {r['name']}", r["matched_label"]]
                for r in rows]
        ctx.say(printable(render(headers, [[printable(c) for c in b] for b in body])))
    return 0


def _found_json(f: Found, case: dict[str, Any], lang: str) -> dict[str, Any]:
    state = str(case.get("state", ""))
    return {"case_id": f.case_id, "state": state,
            "state_label": state_label(state, lang) if state else "",
            "opened": local_time(case["opened_at"])[:10] if case.get("opened_at") else "",
            "party": f.place, "role": f.role, "role_label": word(f.role, lang), "name": f.name,
            "matched": f.matched, "matched_label": t(MATCHED[f.matched], lang)}


def correct(args: argparse.Namespace, ctx: Ctx) -> int:
    values = {f: getattr(args, f) for f in PARTY_FIELDS}
    given = {f: v for f, v in values.items() if v is not None}
    if given and args.party is None:
        raise CliError("correct_party_missing", N_(
            "--name, --id-number, --phone and --address need --party N (the party's number in "
            "case show)"))
    if any(len(v) > MAX_SHORT for v in given.values()):
        raise CliError("correct_too_long", N_(
            "a party's details are at most {limit} characters each"), limit=MAX_SHORT)
    facts = facts_of(args)
    change = None if args.party is None else PartyChange(args.party, **values)
    with open_node(ctx) as node:
        case_id = resolve_case_id(node.store, args.case_id)
        case = node.service.correct(case_id, reason=args.reason, facts=facts, party=change,
                                    role=ctx.role or "mediator", user=ctx.user)
    if args.json:
        ctx.emit_json({"case_id": case.case_id, "seq": case.seq})
    else:
        ctx.say(t(N_("case {case_id}: correction recorded (history entry {seq})"), ctx.lang,
                  case_id=case.case_id, seq=case.seq))
    return 0
