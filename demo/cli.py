"""`fengqiao demo`: the sample city on the embedded transport, or on RabbitMQ with `--broker`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hub.flow import Station, TierFlow
from hub.flow_render import render_flow
from hub.overdue_render import render_deadlines
from nodes.cli.context import CliError, Ctx, bilingual
from nodes.cli.parser import leaf
from nodes.i18n import N_, _
from nodes.logs import configure

PORT_BASE = 8100
MAX_PORT = 65535
NODES = 19  # the sample city's nodes, one port each
MAX_DAYS = 365  # --days: how far the demo's clock may move on


def register_demo(subparsers: Any) -> None:
    p = leaf(subparsers, "demo", _(
        "run the sample city network (embedded transport; --broker for RabbitMQ, one process "
        "per tier)"))
    p.add_argument("--broker", metavar="URL", help=_("run on RabbitMQ"))
    p.add_argument("--cases", type=int, default=30, help=_("disputes per village"))
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--dir", type=Path, help=_("keep the nodes' files here"))
    p.add_argument("--json", action="store_true", help=_("JSON output"))
    p.add_argument("--days", type=int, default=0, help=_(
        "then leave a dispute waiting at each village, move the clock on this many days and "
        "show the city's overdue list (the deadline sweep)"))
    p.add_argument("--serve", action="store_true", help=_(
        "then serve every node's web app with sample logins until Ctrl-C"))
    p.add_argument("--port-base", type=port_base, default=PORT_BASE, metavar="PORT", help=_(
        "the first node's port with --serve; the others follow (default {port})",
        port=PORT_BASE))
    p.set_defaults(handler=run_demo)


def port_base(value: str) -> int:
    """--port-base: the 19 ports from it must be ports a program may listen on."""
    if not value.isdigit() or not 1024 <= int(value) <= MAX_PORT - NODES + 1:
        raise argparse.ArgumentTypeError(_("{value!r} is not a port from 1024 to {limit}",
                                           value=value, limit=MAX_PORT - NODES + 1))
    return int(value)


def run_demo(args: argparse.Namespace, ctx: Ctx) -> int:
    from demo.broker import run_broker
    from demo.embedded import run_embedded

    if not 1 <= args.cases <= 1000:
        raise bilingual("demo_cases")
    if not 0 <= args.days <= MAX_DAYS or (args.days and (args.broker or args.serve)):
        raise CliError("demo_days", N_("--days takes 1 to {limit} days, on the embedded run "
                                       "only (neither --broker nor --serve)"), limit=MAX_DAYS)
    if args.serve and (args.broker or args.json):
        raise CliError("demo_serve", N_("--serve runs the embedded city: it takes neither "
                                        "--broker nor --json"))
    configure(level="WARNING")
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
    if args.serve:
        return serve_demo(args, ctx)
    result = (run_broker(args.broker, args.cases, args.seed, args.dir) if args.broker
              else run_embedded(args.dir, args.cases, args.seed, days=args.days))
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
    if "deadlines" in result:
        show_deadlines(ctx, result["deadlines"])  # type: ignore[arg-type]
    ctx.say(_("files: {path}", path=result["workdir"]))
    return 0


def show_deadlines(ctx: Ctx, found: dict[str, Any]) -> None:
    """What the deadline sweep told the city after `--days`."""
    ctx.say(_("{days} days later: one dispute per village still waits for acceptance; every "
              "node swept its deadlines and sent {reports} reports up. The city sees:",
              days=found["days"], reports=found["reports"]))
    ctx.say(render_deadlines(found["overdue"], found["today"], ctx.lang))
    if found["due_soon"]:
        ctx.say(render_deadlines(found["due_soon"], found["today"], ctx.lang, soon=True))


def serve_demo(args: argparse.Namespace, ctx: Ctx) -> int:
    """The city run to quiet, then its pages served until Ctrl-C or SIGTERM (exit 0)."""
    import signal
    import tempfile
    import threading

    from demo.serve import SAMPLE_PASSWORD, Served, serve
    from nodes.labels import tier_label
    from nodes.web.accounts import role_label

    workdir = args.dir or Path(tempfile.mkdtemp(prefix="fengqiao-demo-"))
    stop = threading.Event()

    def announce(s: Served) -> None:
        ctx.say(_("{name} ({tier} {code}): {url}", name=s.name, tier=tier_label(s.tier),
                  code=s.node_id, url=s.url))
        ctx.say("  " + _("sample logins: {logins}; password {password}", logins=", ".join(
            f"{name} ({role_label(role)})" for name, role in s.logins),
            password=SAMPLE_PASSWORD))
        sys.stdout.flush()

    ctx.say(_("sample data: the area codes, names, parties and logins are invented for the demo"))
    ctx.say(_("running the sample city ({cases} disputes per village), then serving every node's "
              "pages ...", cases=args.cases))
    sys.stdout.flush()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        serve(workdir, args.cases, stop, announce, seed=args.seed, port_base=args.port_base,
              ready=lambda: ready(ctx))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    ctx.say(_("stopped; files: {path}", path=workdir))
    return 0


def ready(ctx: Ctx) -> None:
    ctx.say(_("every node's pages are up; Ctrl-C stops the demo"))
    sys.stdout.flush()
