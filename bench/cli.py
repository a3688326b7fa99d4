"""`fengqiao bench [--broker URL] [--json]`: registered by `fengqiao.main` like the other groups.

The sizes default to `bench.settings`; smaller ones (the smoke test's) give the same report in a
few seconds, with figures too noisy to mean anything.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path
from typing import Any

from bench import settings
from nodes.cli.context import CliError, Ctx
from nodes.cli.parser import leaf
from nodes.i18n import N_, _


def register_bench(subparsers: Any) -> None:
    p = leaf(subparsers, "bench", _("benchmark the escalation pipeline against the raw broker "
                                    "(needs RabbitMQ)"))
    p.add_argument("--broker", metavar="URL", default=settings.DEFAULT_BROKER,
                   help=_("the broker to measure (default {url})",
                          url=settings.DEFAULT_BROKER.replace("%", "%%")))
    p.add_argument("--json", action="store_true", help=_("JSON output"))
    p.add_argument("--raw-messages", type=int, default=settings.RAW_MESSAGES, metavar="N",
                   help=_("messages in the raw pika baseline"))
    p.add_argument("--villages", type=int, default=settings.VILLAGES, metavar="N",
                   help=_("village processes"))
    p.add_argument("--cases", type=int, default=settings.PIPELINE_CASES, metavar="N",
                   help=_("pipeline cases, all villages together"))
    p.add_argument("--latency-seconds", type=float, default=settings.LATENCY_SECONDS,
                   metavar="S", help=_("length of the half-load run"))
    p.add_argument("--drain", type=int, default=settings.DRAIN_CASES, metavar="N",
                   help=_("escalations queued while the broker is away"))
    p.add_argument("--local-cases", type=int, default=settings.LOCAL_CASES, metavar="N",
                   help=_("cases per round of the node-local figure"))
    p.add_argument("--dir", type=Path, help=_("keep the nodes' files here"))
    p.add_argument("--web", action="store_true",
                   help=_("instead: the web pages' server times and the village node's memory "
                          "(no broker needed)"))
    p.add_argument("--web-cases", type=int, default=5000, metavar="N",
                   help=_("cases at the village of --web"))
    p.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace, ctx: Ctx) -> int:
    if args.web:
        return run_web_bench(args, ctx)
    try:
        import pika.exceptions
    except ImportError:
        raise CliError("bench_extra", N_("the bench needs the bench extra: pip install "
                                         "'fengqiao[bench]'")) from None

    from bench.figures import safe_url
    from bench.procs import ChildError
    from bench.report import render
    from bench.run import Workload, run
    from nodes.logs import configure
    from nodes.messaging.port import TransportError

    sizes = (args.raw_messages, args.villages, args.cases, args.drain, args.local_cases)
    if min(sizes) < 1 or args.villages > 98 or args.latency_seconds <= 0:
        raise CliError("bench_sizes", N_("bench sizes must be positive, with at most 98 "
                                         "villages"))
    configure(level="WARNING")
    work = Workload(raw_messages=args.raw_messages, villages=args.villages,
                    pipeline_cases=args.cases, latency_seconds=args.latency_seconds,
                    drain_cases=args.drain, local_cases=args.local_cases)
    try:
        result = run(args.broker, work, args.dir)
    except (TransportError, pika.exceptions.AMQPError, OSError) as exc:
        where = safe_url(args.broker)
        raise CliError("bench_broker", N_("cannot use the broker at {where} ({kind})"),
                       where=where, kind=exc.__class__.__name__) from None
    except ChildError as exc:
        raise CliError("bench_failed", N_("the bench failed: {detail}"), detail=str(exc)) \
            from None
    if args.json:
        ctx.emit_json(result)
    else:
        ctx.say(render(result, ctx.lang))
    return 0


def run_web_bench(args: argparse.Namespace, ctx: Ctx) -> int:
    """`--web` (`bench.web`): needs neither the broker nor pika."""
    from bench.web import render, run_in
    from nodes.logs import configure

    if args.web_cases < 1:
        raise CliError("bench_sizes", N_("--web-cases must be a positive number"))
    configure(level="WARNING")
    try:
        result = run_in(args.dir, args.web_cases, 20, 0.1)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        raise CliError("bench_failed", N_("the bench failed: {detail}"),
                       detail=exc.__class__.__name__) from None
    if args.json:
        ctx.emit_json(result)
    else:
        ctx.say(render(result, ctx.lang))
    return 0
