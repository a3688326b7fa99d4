"""Command groups of hubs: `hub run` (the hub's service) and `hub flow` (the flow table).

They live in `hub/` because hub code sits above nodes (dependencies point one way); the
`fengqiao` program (`fengqiao.main`) adds them to the groups of `nodes.cli.main`.
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

from hub.flow import Station, TierFlow, flow_json
from hub.flow_render import render_flow
from hub.store import HubStore
from nodes.cli.context import Ctx, bilingual, open_node
from nodes.cli.parser import group, leaf
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
