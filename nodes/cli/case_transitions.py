"""One sub-command per transition or note; each runs `nodes.domain.commands` via `service.act`.

A command either commits whole (its events and outbox rows in one transaction) or, when a rule
forbids it, prints one sentence, exits 2 and leaves the database as it was.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from nodes.cli.context import Ctx, open_node
from nodes.cli.i18n import t
from nodes.cli.labels import state_label
from nodes.cli.parser import Parser, current_language, iso_date, leaf, positive_int
from nodes.domain import commands as cmd
from nodes.domain.case import Actor, Case
from nodes.service import CaseService, Command
from protocol.reference import EscalationReason, ReferralTarget

Builder = Callable[[argparse.Namespace, CaseService, Ctx], Command]


def performance_item(value: str) -> dict[str, str]:
    parts = re.split(r"[:：](?=[^:：]*$)", value.strip(), maxsplit=1)
    if len(parts) != 2 or not parts[0].strip():
        raise argparse.ArgumentTypeError(t("perform_bad", current_language(), value=value))
    return {"what": parts[0].strip(), "due": iso_date(parts[1].strip()).isoformat()}


def _add(cases: Any, name: str, help_text: str, build: Builder) -> Parser:
    p = leaf(cases, name, help_text, json=True)
    p.add_argument("case_id", metavar="ID", help="案件编号 / case id")
    p.set_defaults(handler=run, build=build)
    return p


def run(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        case = node.service.act(args.case_id, args.build(args, node.service, ctx))
    assert case.state is not None
    if args.json:
        ctx.emit_json({"case_id": case.case_id, "state": case.state.value})
    else:
        ctx.say(t("case_state", ctx.lang, case_id=case.case_id,
                  state=state_label(case.state, ctx.lang)))
    return 0


def _accept(a: argparse.Namespace, s: CaseService, ctx: Ctx) -> Command:
    def command(case: Case, actor: Actor, at: datetime) -> None:
        if a.consent:  # consent and acceptance commit together or not at all
            cmd.consent(case, actor, at, scope="mediation", given=True)
        cmd.accept(case, actor, at, s.rules)
    return command


def _agree(a: argparse.Namespace, s: CaseService, ctx: Ctx) -> Command:
    effective = a.effective_date or ctx.today()
    return lambda case, actor, at: cmd.agree(
        case, actor, at, s.rules, form=a.form, terms=a.terms, effective_date=effective,
        performance=a.perform, signed_by_all=a.signed, sealed=a.sealed)


def register(cases: Any) -> None:
    _add(cases, "register", "登记网格上报的案件 / register a grid report",
         lambda a, s, c: lambda case, actor, at: cmd.register(case, actor, at))
    p = _add(cases, "reject", "不予受理 / reject (not for people's mediation)",
             lambda a, s, c: lambda case, actor, at: cmd.reject(case, actor, at, a.reason))
    p.add_argument("--reason", required=True, help="理由 / reason")
    p = _add(cases, "consent", "记录当事人同意或拒绝 / record the parties' consent or refusal",
             lambda a, s, c: lambda case, actor, at: cmd.consent(
                 case, actor, at, scope=a.scope, given=not a.refuse, note=a.note))
    p.add_argument("--refuse", action="store_true", help="当事人明确拒绝 / a party refuses")
    p.add_argument("--scope", choices=["mediation", "escalation"], default="mediation",
                   help="同意调解或上报 / consent to mediation or escalation")
    p.add_argument("--note", default="", help="备注 / note")
    p = _add(cases, "accept", "受理（须已记录当事人同意）/ accept (needs the parties' consent)",
             _accept)
    p.add_argument("--consent", action="store_true",
                   help="同时记录当事人同意调解 / record consent to mediation at the same time")
    _add(cases, "mediate", "开始调解 / start mediating",
         lambda a, s, c: lambda case, actor, at: cmd.mediate(case, actor, at, s.rules))
    p = _add(cases, "extend", "延长调解期限（一次）/ extend the target duration (once)",
             lambda a, s, c: lambda case, actor, at: cmd.extend(
                 case, actor, at, s.rules, days=a.days, both_parties_consent=a.both_consent))
    p.add_argument("--days", type=positive_int, required=True, help="延长天数 / extra days")
    p.add_argument("--both-consent", action="store_true",
                   help="双方当事人均同意 / both parties consent")
    p = _add(cases, "agree", "达成调解协议 / record the agreement", _agree)
    p.add_argument("--form", choices=["oral", "written"], required=True,
                   help="口头或书面 / oral or written")
    p.add_argument("--terms", required=True, help="协议内容 / terms")
    p.add_argument("--effective-date", type=iso_date, metavar="YYYY-MM-DD",
                   help="生效日期（默认今天）/ date it took effect (default: today)")
    p.add_argument("--perform", type=performance_item, action="append", default=[],
                   metavar="WHAT:YYYY-MM-DD", help="履行事项及期限，可重复 / what, by when")
    p.add_argument("--signed", action="store_true",
                   help="各方当事人和调解员已签名 / signed by all parties and the mediator")
    p.add_argument("--sealed", action="store_true",
                   help="已加盖调委会印章 / committee seal affixed")
    _add(cases, "perform", "开始履行 / performance starts",
         lambda a, s, c: lambda case, actor, at: cmd.perform(case, actor, at))
    p = _add(cases, "breach", "记录未履行 / record a breach",
             lambda a, s, c: lambda case, actor, at: cmd.breach(case, actor, at, a.reason))
    p.add_argument("--reason", required=True, help="未履行情况 / what was not done")
    p = _add(cases, "terminate", "终止调解 / end the mediation without agreement",
             lambda a, s, c: lambda case, actor, at: cmd.terminate(
                 case, actor, at, reason=a.reason, remedies_notified=a.remedies_notified))
    p.add_argument("--reason", required=True, help="理由 / reason")
    p.add_argument("--remedies-notified", action="store_true",
                   help="已告知仲裁、行政、诉讼等途径 / parties told their other routes")
    p = _add(cases, "escalate", "上报上级（须当事人同意）/ escalate (needs consent)",
             lambda a, s, c: lambda case, actor, at: cmd.escalate(
                 case, actor, at, reason=EscalationReason(a.reason), consent_given=a.consent,
                 note=a.note))
    p.add_argument("--reason", choices=[r.value for r in EscalationReason], required=True,
                   help="上报理由 / escalation reason")
    p.add_argument("--consent", action="store_true", help="当事人同意上报 / parties consent")
    p.add_argument("--note", default="", help="说明 / note")
    p = _add(cases, "refer-out", "移交其他途径 / refer out of people's mediation",
             lambda a, s, c: lambda case, actor, at: cmd.refer_out(
                 case, actor, at, target=ReferralTarget(a.to), reason=a.reason))
    p.add_argument("--to", choices=[r.value for r in ReferralTarget], required=True,
                   help="移交对象 / to whom")
    p.add_argument("--reason", required=True, help="理由 / reason")
    p = _add(cases, "hand-down", "交办下级（上级中心）/ hand the case back down with an instruction",
             lambda a, s, c: lambda case, actor, at: cmd.hand_down(
                 case, actor, at, s.rules, instruction=a.instruction,
                 report_back_days=a.days))
    p.add_argument("--instruction", required=True, help="办理要求 / instruction")
    p.add_argument("--days", type=positive_int, default=15,
                   help="反馈期限天数 / report back within N days (default 15)")
    p = _add(cases, "close", "结案 / close the case",
             lambda a, s, c: lambda case, actor, at: cmd.close(case, actor, at, a.note))
    p.add_argument("--note", default="", help="备注 / note")
    _add(cases, "jc-apply", "申请司法确认（协议生效后30日内）/ apply for judicial confirmation",
         lambda a, s, c: lambda case, actor, at: cmd.apply_jc(case, actor, at))
    p = _add(cases, "jc-result", "司法确认结果 / judicial confirmation result",
             lambda a, s, c: lambda case, actor, at: cmd.jc_result(
                 case, actor, at, confirmed=a.confirmed))
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--confirmed", dest="confirmed", action="store_true", help="确认 / confirmed")
    g.add_argument("--refused", dest="confirmed", action="store_false", help="驳回 / refused")
    p = _add(cases, "follow-up", "回访 / follow-up visit",
             lambda a, s, c: lambda case, actor, at: cmd.follow_up(
                 case, actor, at, honoured=a.honoured, note=a.note))
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--honoured", dest="honoured", action="store_true", help="已履行 / honoured")
    g.add_argument("--not-honoured", dest="honoured", action="store_false",
                   help="未履行 / not honoured")
    p.add_argument("--note", default="", help="备注 / note")
    p = _add(cases, "red-flag", "风险报警（须已报告公安）/ red flag (report to police at once)",
             lambda a, s, c: lambda case, actor, at: cmd.red_flag(
                 case, actor, at, note=a.note, police_reported=a.police_reported))
    p.add_argument("--police-reported", action="store_true",
                   help="已报告公安机关 / police informed")
    p.add_argument("--note", required=True, help="情况说明 / what happened")
