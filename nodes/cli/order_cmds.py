"""`fengqiao order ...`: 督办 from the command line (issue 18, `nodes.supervision`).

- `order issue CASE --reason TEXT [--days N | --by DATE] [--listed]` at a county or city hub: the
  operator issues as the hub's supervisor (督查), named by `--user` as every command's actor.
- `order answer ORDER --text TEXT` at the node holding the case (办理情况反馈).
- `order list [--open] [--overdue] [--json]` and `order show ORDER [--json]`.

The order and the message it sends are written in one transaction; `node run` / `hub run`
publishes it (or the demo's pump). Reasons and answers may name people: `list` shows neither,
`show` both (like `case show`).
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from typing import Any

from nodes.cli.acting import acting
from nodes.cli.context import CliError, Ctx, open_node
from nodes.cli.parser import group, leaf
from nodes.cli.table import render
from nodes.domain.case import local_date
from nodes.domain.supervision import next_hop, origin_of
from nodes.i18n import N_, NP_, _, pt, t
from nodes.labels import state_label
from nodes.node import Node
from nodes.store import supervision as orders
from nodes.store.supervision import OrderRow
from nodes.supervision import Supervision

DEFAULT_DAYS = 7
LEVEL_NAMES = {"supervise": NP_("order level", "supervision"),
               "listed_supervision": NP_("order level", "listed supervision")}
PART_NAMES = {"issued": NP_("order part", "issued here"), "held": NP_("order part", "to answer"),
              "passed": NP_("order part", "passed on")}


def register(subparsers: Any) -> None:
    g = group(subparsers, "order", _("supervision orders (督办): issue, answer, list"))
    p = leaf(g, "issue", _("issue a supervision order on a case in this hub's area"), json=True)
    p.add_argument("case_id", metavar="CASE", help=_("the case's full number"))
    p.add_argument("--reason", required=True, help=_("what is to be done"))
    when = p.add_mutually_exclusive_group()
    when.add_argument("--days", type=int, default=DEFAULT_DAYS,
                      help=_("answer within this many days (default {days})", days=DEFAULT_DAYS))
    when.add_argument("--by", type=date.fromisoformat, metavar="YYYY-MM-DD",
                      help=_("answer by this date"))
    p.add_argument("--listed", action="store_true", help=_("listed supervision (挂牌督办)"))
    p.set_defaults(handler=issue)
    p = leaf(g, "answer", _("answer a supervision order held here (what was done)"), json=True)
    p.add_argument("order_id", metavar="ORDER")
    p.add_argument("--text", required=True, help=_("what was done"))
    p.set_defaults(handler=answer)
    p = leaf(g, "list", _("the orders this node issued, holds or passed on"), json=True)
    p.add_argument("--open", action="store_true", help=_("only those not answered yet"))
    p.add_argument("--overdue", action="store_true", help=_("only those overdue"))
    p.set_defaults(handler=list_orders)
    p = leaf(g, "listed", _("listed supervision orders (挂牌督办) issued in this hub's subtree"),
             json=True)
    p.add_argument("--all", action="store_true", help=_("answered ones too"))
    p.set_defaults(handler=listed)
    p = leaf(g, "show", _("one order with its reason and answer"), json=True)
    p.add_argument("order_id", metavar="ORDER")
    p.set_defaults(handler=show)


def _service(node: Node) -> Supervision:
    if node.supervision is None:  # bootstrap always wires it
        raise CliError("no_supervision", N_("this node has no supervision service"))
    return node.supervision


def issue(args: argparse.Namespace, ctx: Ctx) -> int:
    user, _role = acting(args)
    with open_node(ctx) as node:
        today = local_date(node.clock.now())
        by = args.by or today + timedelta(days=args.days)
        row = _service(node).issue(args.case_id, reason=args.reason, respond_by=by,
                                   level="listed_supervision" if args.listed else "supervise",
                                   user=user, role="supervisor")
        if args.json:
            ctx.emit_json(order_json(row, today, texts=False))
            return 0
        ctx.say(t(N_("order {order} issued on case {case}: {level}, answer by {date}; it goes "
                     "down through {hop}"), ctx.lang, order=row.order_id, case=row.case_id,
                  level=pt("order level", LEVEL_NAMES[row.level], ctx.lang),
                  date=row.respond_by.isoformat(), hop=_first_hop(node, row)))
    return 0


def _first_hop(node: Node, row: OrderRow) -> str:
    return next_hop(node.config.area_tree(), node.config.node_id, origin_of(row.case_id))


def answer(args: argparse.Namespace, ctx: Ctx) -> int:
    user, _role = acting(args)
    with open_node(ctx) as node:
        row = _service(node).answer(args.order_id, text=args.text, user=user)
        if args.json:
            ctx.emit_json(order_json(row, local_date(node.clock.now()), texts=False))
            return 0
        ctx.say(t(N_("order {order} answered; the answer goes to {issuer}"), ctx.lang,
                  order=row.order_id, issuer=row.issuing_node))
    return 0


def status_of(row: OrderRow, today: date) -> str:
    """answered / overdue / waiting, as a code (`order_json`) the text labels."""
    return "answered" if row.answered_at else "overdue" if row.overdue(today) else "waiting"


STATUS_NAMES = {"answered": NP_("order status", "answered"),
                "overdue": NP_("order status", "overdue"),
                "waiting": NP_("order status", "waiting for the answer")}


def order_json(row: OrderRow, today: date, *, texts: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_id": row.order_id, "case_id": row.case_id, "part": row.part,
        "issuing_node": row.issuing_node, "issuing_name": row.issuing_name,
        "level": row.level, "respond_by": row.respond_by.isoformat(),
        "issued_at": row.issued_at, "status": status_of(row, today),
        "raised_from": row.raised_from, "answered_at": row.answered_at,
        "answer_state": row.answer_state, "answering_node": row.answering_node,
        "automatic": row.automatic}
    if texts:
        data.update(reason=row.reason, answer=row.answer, issued_by=row.issued_by,
                    answered_by=row.answered_by)
    return data


def list_orders(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        today = local_date(node.clock.now())
        rows = [r for r in orders.orders(node.store, open_only=args.open or args.overdue)
                if not args.overdue or r.overdue(today)]
        if args.json:
            ctx.emit_json([order_json(r, today, texts=False) for r in rows])
            return 0
        if not rows:
            ctx.say(t(N_("no supervision orders"), ctx.lang))
            return 0
        head = [t(h, ctx.lang) for h in (N_("order"), N_("case"), N_("part"), N_("level"),
                                           N_("answer by"), N_("status"))]
        ctx.say(render(head, [[r.order_id, r.case_id, pt("order part", PART_NAMES[r.part],
                                                           ctx.lang),
                               pt("order level", LEVEL_NAMES[r.level], ctx.lang),
                               r.respond_by.isoformat(),
                               pt("order status", STATUS_NAMES[status_of(r, today)], ctx.lang)]
                              for r in rows]))
    return 0


def show(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        today = local_date(node.clock.now())
        row = orders.order(node.store, args.order_id)
        if row is None:
            raise CliError("order_not_found", N_("no supervision order {order} at this node"),
                           order=args.order_id)
        data = order_json(row, today, texts=True)
        if args.json:
            ctx.emit_json(data)
            return 0
        lines = [f"{t(N_('order'), ctx.lang)} {row.order_id} · {row.case_id} · "
                 f"{pt('order level', LEVEL_NAMES[row.level], ctx.lang)} · "
                 f"{pt('order status', STATUS_NAMES[data['status']], ctx.lang)}",
                 t(N_("issued by {node} {name} at {at}; answer by {date}"), ctx.lang,
                   node=row.issuing_node, name=row.issuing_name, at=row.issued_at,
                   date=row.respond_by.isoformat()),
                 t(N_("what is to be done: {text}"), ctx.lang, text=row.reason)]
        if row.answered_at:
            said = t(N_("(said by the node itself: the case had gone up from there)"),
                     ctx.lang) if row.automatic else row.answer or ""
            lines.append(t(N_("answered by {node} {name} at {at}, the case {state}: {text}"),
                           ctx.lang, node=row.answering_node or "",
                           name=row.answering_name or "", at=row.answered_at,
                           state=state_label(row.answer_state, ctx.lang) if row.answer_state
                           else "", text=said))
        ctx.say("\n".join(lines))
    return 0


def listed(args: argparse.Namespace, ctx: Ctx) -> int:
    """The listed orders every tier above their issuer can read (from the subtree's reports:
    codes and dates, no reason)."""
    with open_node(ctx) as node:
        rows = node.store.listed_orders(open_only=not args.all)
    if args.json:
        ctx.emit_json(rows)
        return 0
    if not rows:
        ctx.say(t(N_("no listed supervision orders"), ctx.lang))
        return 0
    head = [t(h, ctx.lang) for h in (N_("order"), N_("case"), N_("issued by"), N_("answer by"),
                                       N_("status"))]
    ctx.say(render(head, [[r["order_id"], r["case_id"], r["issuing_node"], r["due"] or "",
                           pt("order status", STATUS_NAMES["answered" if r["ended_at"]
                                                            else "waiting"], ctx.lang)]
                          for r in rows]))
    return 0
