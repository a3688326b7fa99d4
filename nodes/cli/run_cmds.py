"""`fengqiao node run` and `fengqiao hub run`: a node's relay and consumer as a service.

A station keeps recording cases with the CLI while this runs, and what must travel leaves when
the broker is reachable. The composition root picks what the node's tier handles.
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

from nodes.cli.context import Ctx, bilingual
from nodes.cli.parser import group, leaf
from nodes.config import load_config
from nodes.i18n import _
from nodes.labels import tier_label
from nodes.logs import configure
from nodes.messaging.runtime import NodeRuntime, serve
from protocol.areas import Tier


def register(subparsers: Any) -> None:
    nodes = group(subparsers, "node", _("node"))
    p = leaf(nodes, "run", _(
        "run the station's relay and consumer as a service (Ctrl-C or SIGTERM stops cleanly)"))
    p.add_argument("--log-json", action="store_true", help=_("JSON log lines"))
    p.set_defaults(handler=partial(run_node, hub=False))


def run_node(args: argparse.Namespace, ctx: Ctx, *, hub: bool) -> int:
    """Load the config, check it is the right kind of node, serve until SIGTERM or Ctrl-C."""
    if not ctx.config_path.is_file():
        raise bilingual("config_missing", path=ctx.config_path)
    config = load_config(ctx.config_path)
    if hub and config.tier is Tier.VILLAGE:
        raise bilingual("hub_run_village")
    if not hub and config.tier is not Tier.VILLAGE:
        raise bilingual("node_run_hub", tier=tier_label(config.tier))
    configure(json=args.log_json or None, service=True)
    serve(NodeRuntime(config, partial(ctx.build, config, clock=ctx.clock)))
    return 0
