"""Command groups of hubs: `hub run` (the hub's service), `hub flow` (the flow table) and `hub
overdue` (the subtree's overdue cases, `nodes.deadline_sweep`).

They live in `hub/` because hub code sits above nodes (dependencies point one way); the
`fengqiao` program (`fengqiao.main`) adds them to the groups of `nodes.cli.main`.
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

from hub.flow import Station, TierFlow, flow_json
from hub.flow_render import render_flow
from hub.overdue_render import SORTS, ordered, render_deadlines, split
from hub.store import HubStore
from nodes.cli.context import Ctx, bilingual, open_node
from nodes.cli.parser import choice, group, leaf
from nodes.cli.run_cmds import run_node, web_option
from nodes.i18n import _
from nodes.labels import tier_label
from protocol.areas import Tier


def register_hub(subparsers: Any) -> None:
    """`fengqiao hub run` (the hub's service) and `fengqiao hub flow`."""
    hub = group(subparsers, "hub", _("hub (township, county, city)"))
    p = leaf(hub, "run", _(
        "run the hub's relay and consumer as a service (Ctrl-C or SIGTERM stops cleanly)"))
    p.add_argument("--log-json", action="store_true", help=_("JSON log lines"))
    web_option(p)
    p.set_defaults(handler=partial(run_node, hub=True))
    flow = leaf(hub, "flow", _("the cross-tier flow table and the stations below (hubs)"))
    flow.add_argument("--json", action="store_true", help=_("JSON output"))
    flow.set_defaults(handler=show_flow)
    late = leaf(hub, "overdue", _(
        "the subtree's overdue cases, as the deadline sweeps below reported them (hubs)"))
    late.add_argument("--json", action="store_true", help=_("JSON output"))
    late.add_argument("--soon", action="store_true", help=_("list the cases due soon instead"))
    late.add_argument("--sort", type=choice({s: s for s in SORTS}, _("sort order")), default="due",
                      help=_("order: due (the most late first), tier, or area (by node)"))
    late.set_defaults(handler=show_overdue)


def show_flow(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        if node.config.tier is Tier.VILLAGE or not isinstance(node.store, HubStore):
            raise bilingual("flow_tier", tier=tier_label(node.config.tier))
        data = flow_json(node.store, ctx.clock.now(), node.node_id)  # never itself
    if args.json:
        ctx.emit_json(data)
    else:
        ctx.say(render_flow([TierFlow(**t) for t in data["tiers"]],  # type: ignore[attr-defined]
                            [Station(**s) for s in data["stations"]],  # type: ignore[attr-defined]
                            ctx.lang))
    return 0


def show_overdue(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        if node.config.tier is Tier.VILLAGE or not isinstance(node.store, HubStore):
            raise bilingual("overdue_tier", tier=tier_label(node.config.tier))
        today = ctx.today()
        late, soon = (ordered(rows, args.sort)
                      for rows in split(node.store.deadlines_reported(today)))
    if args.json:
        ctx.emit_json({"today": today.isoformat(), "overdue": late, "due_soon": soon})
    else:
        ctx.say(render_deadlines(soon if args.soon else late, today.isoformat(), ctx.lang,
                                 soon=args.soon, sort=args.sort))
    return 0
