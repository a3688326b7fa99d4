"""`fengqiao demo`: the sample city on the embedded transport, or on RabbitMQ with `--broker`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hub.flow import Station, TierFlow
from hub.flow_render import render_flow
from nodes.cli.context import Ctx, bilingual
from nodes.cli.parser import leaf
from nodes.i18n import _
from nodes.logs import configure


def register_demo(subparsers: Any) -> None:
    p = leaf(subparsers, "demo", _(
        "run the sample city network (embedded transport; --broker for RabbitMQ, one process "
        "per tier)"))
    p.add_argument("--broker", metavar="URL", help=_("run on RabbitMQ"))
    p.add_argument("--cases", type=int, default=30, help=_("disputes per village"))
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--dir", type=Path, help=_("keep the nodes' files here"))
    p.add_argument("--json", action="store_true", help=_("JSON output"))
    p.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, ctx: Ctx) -> int:
    from demo.broker import run_broker
    from demo.embedded import run_embedded

    if not 1 <= args.cases <= 1000:
        raise bilingual("demo_cases")
    configure(level="WARNING")
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
    result = (run_broker(args.broker, args.cases, args.seed, args.dir) if args.broker
              else run_embedded(args.dir, args.cases, args.seed))
    if args.json:
        ctx.emit_json(result)
        return 0
    ctx.say(_("sample data: the area codes, names and parties are invented for the demo"))
    mode = _("RabbitMQ, one process per tier") if args.broker else \
        _("embedded transport, one process")
    ctx.say(_("sample city: 1 city, 2 counties, 4 townships, 12 villages; {cases} disputes; "
              "{mode}; {seconds} s", cases=result["cases"], mode=mode, seconds=result["seconds"]))
    ctx.say(render_flow([TierFlow(**t) for t in result["tiers"]],  # type: ignore[attr-defined]
                        [Station(**s) for s in result["stations"]],  # type: ignore[attr-defined]
                        all_stations=False))  # only those that need a look
    ctx.say(_("files: {path}", path=result["workdir"]))
    return 0
