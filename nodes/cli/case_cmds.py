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
from nodes.cli.labels import state_label
from nodes.cli.parser import current_language, group, leaf
from nodes.domain.states import CaseState
from nodes.service import CaseNotFound, PartyInput
from protocol.messages import MAX_PARTIES, MAX_PEOPLE, MAX_SHORT
from protocol.reference import DISPUTE_TYPES, DISPUTE_TYPES_VERSION, CaseSource

_ROLES = {"applicant": "applicant", "申请人": "applicant", "respondent": "respondent",
          "被申请人": "respondent", "other": "other", "其他": "other", "其他当事人": "other"}
_SOURCES = [s.value for s in CaseSource if s is not CaseSource.ESCALATION]
_TYPES = DISPUTE_TYPES[DISPUTE_TYPES_VERSION]

NEW_EPILOG = """\
当事人 / parties:
  --party 角色:姓名[:身份证号[:电话[:地址]]]    role:name[:id_number[:phone[:address]]]
          角色 role = applicant 申请人 | respondent 被申请人 | other 其他；可重复 / repeatable
  --applicant 姓名[:身份证号[:电话[:地址]]]     = --party applicant:...
  --respondent 姓名[:身份证号[:电话[:地址]]]    = --party respondent:...
纠纷类型 / dispute types (--type 代码或名称 / code or name):
""" + "\n".join(f"  {d.code} {d.zh} {d.en}" for d in _TYPES.values()) + """
示例 / example:
  fengqiao case new --type 02 --source application \\
      --applicant "张三::13800000000" --respondent 李四 --facts "两家因院墙边界发生争执"
"""


def dispute_code(value: str) -> str:
    v = value.strip()
    for d in _TYPES.values():
        if v in (d.code, d.zh, d.en) or (v.isdigit() and len(v) == 1 and d.code == "0" + v):
            return d.code
    choices = ", ".join(f"{d.code} {d.zh}" for d in _TYPES.values())
    raise argparse.ArgumentTypeError(t("type_bad", current_language(), value=value,
                                       choices=choices))


def party(value: str, role: str | None = None) -> PartyInput:
    parts = [p.strip() for p in re.split(r"[:：]", value, maxsplit=3 if role else 4)]
    if role is None:
        role = _ROLES.get(parts.pop(0).lower()) if len(parts) > 1 else None
    if role is None or not parts or not parts[0]:
        raise argparse.ArgumentTypeError(t("party_bad", current_language(), value=value))
    if any(len(p) > MAX_SHORT for p in parts):  # an escalation could not carry it
        raise argparse.ArgumentTypeError(t("party_too_long", current_language(), value=value[:40],
                                           limit=MAX_SHORT))
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
    if not value.strip().isdigit() or not 1 <= int(value) <= MAX_PEOPLE:
        raise argparse.ArgumentTypeError(t("people_bad", current_language(), value=value,
                                           limit=MAX_PEOPLE))
    return int(value)


def grid_id(value: str) -> str:
    if len(value) != 15 or not value.isdigit():
        raise argparse.ArgumentTypeError(t("grid_bad", current_language(), value=value))
    return value


def case_state(value: str) -> CaseState:
    v = value.strip()
    for s in CaseState:
        if v.upper() == s.value or v in (state_label(s, "zh"), state_label(s, "en")):
            return s
    choices = ", ".join(f"{s.value} {state_label(s, 'zh')}" for s in CaseState)
    raise argparse.ArgumentTypeError(t("state_bad", current_language(), value=value,
                                       choices=choices))


def register(subparsers: Any) -> None:
    cases = group(subparsers, "case", "案件办理 / cases: register, mediate, close")
    p = leaf(cases, "new", "登记新案件 / register a new case", json=True, epilog=NEW_EPILOG)
    p.add_argument("--type", dest="dispute_type", type=dispute_code, required=True,
                   metavar="CODE", help="纠纷类型代码或名称，见下 / dispute type code or name")
    p.add_argument("--facts", required=True, help="纠纷事实 / facts of the dispute")
    p.add_argument("--source", choices=_SOURCES, default="application",
                   help="来源 / source (default: application)")
    p.add_argument("--grid-id", type=grid_id, help="15位网格编号 / 15-digit grid id")
    p.add_argument("--people", type=people_count,
                   help="涉及人数（默认为当事人数）/ people involved (default: number of parties)")
    p.add_argument("--party", dest="parties", action="append", type=party, default=[],
                   metavar="ROLE:NAME[:ID[:PHONE[:ADDR]]]", help="当事人 / party (repeatable)")
    for role, label in (("applicant", "申请人 / applicant"),
                        ("respondent", "被申请人 / respondent")):
        p.add_argument(f"--{role}", dest="parties", action="append", help=label,
                       metavar="NAME[:ID[:PHONE[:ADDR]]]", type=_party_of(role))
    p.add_argument("--accusation", action="store_true",
                   help="检举控告（检举控告人身份不得转给被检举控告单位）/ an accusation (the "
                        "accuser's identity never goes to the accused)")
    p.add_argument("--accused", metavar="CODE",
                   help="被检举控告单位的12位区划代码 / 12-digit area code of the accused unit")
    p.set_defaults(handler=new)

    p = leaf(cases, "list", "案件列表 / list cases", json=True)
    p.add_argument("--state", type=case_state, help="按状态筛选 / only this state "
                                                   "(e.g. MEDIATING or 调解中)")
    p.add_argument("--overdue", action="store_true",
                   help="只列超期案件 / only cases past their target date")
    p.set_defaults(handler=list_cases)

    p = leaf(cases, "show", "案件详情和全部经过 / a case with its full history", json=True)
    p.add_argument("case_id", metavar="ID", help="案件编号 / case id")
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
    assert case.state is not None
    if args.json:
        ctx.emit_json({"case_id": case.case_id, "state": case.state.value})
    else:
        ctx.say(t("case_created", ctx.lang, case_id=case.case_id,
                  state=state_label(case.state, ctx.lang)))
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
