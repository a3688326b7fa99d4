"""One sub-command per transition or note; each runs `nodes.domain.commands` via `service.act`.

A command either commits whole (its events and outbox rows in one transaction) or, when a rule
forbids it, prints one sentence, exits 2 and leaves the database as it was.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

from nodes.case_ids import resolve_case_id
from nodes.cli import path_cmds
from nodes.cli.context import Ctx, open_node
from nodes.cli.i18n import t
from nodes.cli.options import named_choice
from nodes.cli.parser import Parser, iso_date, leaf, positive_int, unmask
from nodes.cli.sending import latest_by_case, state_text
from nodes.domain import above
from nodes.domain import commands as cmd
from nodes.i18n import _
from nodes.labels import ref_label, word
from nodes.service import CaseService, Command
from protocol.reference import EscalationReason, ReferralTarget

Builder = Callable[[argparse.Namespace, CaseService, Ctx], Command]


def performance_item(value: str) -> dict[str, str]:
    value = unmask(value)
    parts = re.split(r"[:：](?=[^:：]*$)", value.strip(), maxsplit=1)
    if len(parts) != 2 or not parts[0].strip():
        raise argparse.ArgumentTypeError(t("perform_bad", value=value))
    return {"what": parts[0].strip(), "due": iso_date(parts[1].strip()).isoformat()}


def _add(cases: Any, name: str, help_text: str, build: Builder) -> Parser:
    p = leaf(cases, name, help_text, json=True)
    p.add_argument("case_id", metavar="ID", help=_("case id"))
    p.set_defaults(handler=run, build=build)
    return p


def run(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        case_id = resolve_case_id(node.store, args.case_id)  # "4", "2026-00004" (nodes.case_ids)
        case = node.service.act(case_id, args.build(args, node.service, ctx),
                                role=ctx.role or "mediator", user=ctx.user)
        # What this step sends leaves with the running node's relay: until then, say so.
        waiting = latest_by_case(node.store.unsent_case_messages(case_id)).get(case_id)
    assert case.state is not None  # noqa: S101 - a recorded case has a state
    if args.json:
        ctx.emit_json({"case_id": case.case_id, "state": case.state.value,
                       "unsent": waiting is not None and waiting.state_after == case.state})
    else:
        ctx.say(t("case_state", case_id=case.case_id,
                  state=state_text(case.state, waiting)))
    return 0


def _agree(a: argparse.Namespace, s: CaseService, ctx: Ctx) -> Command:
    effective = a.effective_date or ctx.today()
    return lambda case, actor, at: cmd.agree(
        case, actor, at, s.rules, form=a.form, terms=a.terms, effective_date=effective,
        performance=a.perform, signed_by_all=a.signed, sealed=a.sealed, manner=a.manner,
        place=a.place)


def register(cases: Any) -> None:
    _add(cases, "register", _("register a grid report"),
         lambda a, s, c: lambda case, actor, at: cmd.register(case, actor, at, s.rules))
    p = _add(cases, "reject", _("reject (not for people's mediation)"),
             lambda a, s, c: lambda case, actor, at: cmd.reject(case, actor, at, a.reason))
    p.add_argument("--reason", required=True, help=_("reason"))
    p = _add(cases, "consent", _("record the parties' consent or refusal"),
             path_cmds.consent_command)
    p.add_argument("--refuse", action="store_true", help=_("a party refuses"))
    path_cmds.consent_options(p)
    scope, scopes = named_choice(["mediation", "escalation"], word, _("scope"))
    p.add_argument("--scope", type=scope, default="mediation", metavar="SCOPE",
                   help=_("consent to mediation or escalation: {choices}", choices=scopes))
    p.add_argument("--note", default="", help=_("note"))
    p = _add(cases, "accept", _("accept (needs the parties' consent)"),
             path_cmds.accept_command)
    p.add_argument("--consent", action="store_true",
                   help=_("record consent to mediation at the same time (never over a "
                          "recorded refusal)"))
    _add(cases, "mediate", _("start mediating"),
         lambda a, s, c: lambda case, actor, at: cmd.mediate(case, actor, at, s.rules))
    p = _add(cases, "extend", _("extend the target duration (once)"),
             lambda a, s, c: lambda case, actor, at: cmd.extend(
                 case, actor, at, s.rules, days=a.days, both_parties_consent=a.both_consent))
    p.add_argument("--days", type=positive_int, required=True, help=_("extra days"))
    p.add_argument("--both-consent", action="store_true",
                   help=_("both parties consent"))
    p = _add(cases, "agree", _("record the agreement"), _agree)
    form, forms = named_choice(["oral", "written"], word, _("form"))
    p.add_argument("--form", type=form, required=True, metavar="FORM",
                   help=_("oral or written: {choices}", choices=forms))
    p.add_argument("--terms", required=True, help=_("terms"))
    p.add_argument("--effective-date", type=iso_date, metavar="YYYY-MM-DD",
                   help=_("date it took effect (default: today)"))
    p.add_argument("--perform", type=performance_item, action="append", default=[],
                   metavar="WHAT:YYYY-MM-DD", help=_("what, by when"))
    p.add_argument("--signed", action="store_true",
                   help=_("signed by all parties and the mediator"))
    p.add_argument("--sealed", action="store_true",
                   help=_("committee seal affixed"))
    p.add_argument("--manner", default="", help=_("manner of performance (written: required)"))
    p.add_argument("--place", default="", help=_("place of performance (written: required)"))
    _add(cases, "perform", _("performance starts"),
         lambda a, s, c: lambda case, actor, at: cmd.perform(case, actor, at))
    p = _add(cases, "breach", _("record a breach"),
             lambda a, s, c: lambda case, actor, at: cmd.breach(case, actor, at, a.reason))
    p.add_argument("--reason", required=True, help=_("what was not done"))
    p = _add(cases, "terminate", _("end the mediation without agreement"),
             lambda a, s, c: lambda case, actor, at: cmd.terminate(
                 case, actor, at, reason=a.reason, remedies_notified=a.remedies_notified))
    p.add_argument("--reason", required=True, help=_("reason"))
    p.add_argument("--remedies-notified", action="store_true",
                   help=_("parties told their other routes"))
    p = _add(cases, "escalate", _("escalate (needs consent)"),
             lambda a, s, c: lambda case, actor, at: cmd.escalate(
                 case, actor, at, reason=EscalationReason(a.reason), consent_given=a.consent,
                 note=a.note))
    reason, reasons = named_choice([r.value for r in EscalationReason], ref_label,
                                   _("escalation reason"))
    p.add_argument("--reason", type=reason, required=True, metavar="REASON",
                   help=_("escalation reason: {choices}", choices=reasons))
    p.add_argument("--consent", action="store_true",
                   help=_("parties consent (not needed once recorded with consent --scope "
                          "escalation)"))
    p.add_argument("--note", default="", help=_("note"))
    p = _add(cases, "refer-out", _("refer out of people's mediation"),
             lambda a, s, c: lambda case, actor, at: cmd.refer_out(
                 case, actor, at, target=ReferralTarget(a.to), reason=a.reason))
    target, targets = named_choice([r.value for r in ReferralTarget], ref_label, _("referral"))
    p.add_argument("--to", type=target, required=True, metavar="TO",
                   help=_("to whom: {choices}", choices=targets))
    p.add_argument("--reason", required=True, help=_("reason"))
    p = _add(cases, "hand-down", _("hand the case back down with an instruction"),
             lambda a, s, c: lambda case, actor, at: cmd.hand_down(
                 case, actor, at, s.rules, instruction=a.instruction,
                 report_back_days=a.days))
    p.add_argument("--instruction", required=True, help=_("instruction"))
    p.add_argument("--days", type=positive_int, default=15,
                   help=_("report back within N days (default 15)"))
    p = _add(cases, "report-up", _("send an interim report to the tier that handed the case down"),
             lambda a, s, c: lambda case, actor, at: above.report_up(case, actor, at,
                                                                     text=a.text))
    p.add_argument("--text", required=True, help=_("what has been done so far"))
    p = _add(cases, "close", _("close the case"),
             lambda a, s, c: lambda case, actor, at: cmd.close(case, actor, at, a.note))
    p.add_argument("--note", default="", help=_("note"))
    _add(cases, "jc-apply", _("apply for judicial confirmation"),
         lambda a, s, c: lambda case, actor, at: cmd.apply_jc(case, actor, at))
    p = _add(cases, "jc-result", _("judicial confirmation result"),
             lambda a, s, c: lambda case, actor, at: cmd.jc_result(
                 case, actor, at, confirmed=a.confirmed))
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--confirmed", dest="confirmed", action="store_true", help=_("confirmed"))
    g.add_argument("--refused", dest="confirmed", action="store_false", help=_("refused"))
    p = _add(cases, "follow-up", _("follow-up visit"), path_cmds.follow_up_command)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--honoured", dest="honoured", action="store_true", help=_("honoured"))
    g.add_argument("--not-honoured", dest="honoured", action="store_false",
                   help=_("not honoured"))
    p.add_argument("--note", default="", help=_("note"))
    p = _add(cases, "red-flag", _("red flag (report to police at once)"),
             lambda a, s, c: lambda case, actor, at: cmd.red_flag(
                 case, actor, at, note=a.note, police_reported=a.police_reported))
    p.add_argument("--police-reported", action="store_true",
                   help=_("police informed"))
    p.add_argument("--note", required=True, help=_("what happened"))
    path_cmds.register(cases, _add)
