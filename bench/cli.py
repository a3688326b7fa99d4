"""`fengqiao bench [--broker URL] [--json]`: registered by `fengqiao.main` like the other groups.

The sizes default to `bench.settings`; smaller ones (the smoke test's) give the same report in a
few seconds, with figures too noisy to mean anything.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench import settings
from nodes.cli.context import CliError, Ctx
from nodes.cli.parser import leaf


def register_bench(subparsers: Any) -> None:
    p = leaf(subparsers, "bench", "性能基准：上报链路对比裸消息服务器 / benchmark the escalation "
             "pipeline against the raw broker (needs RabbitMQ)")
    p.add_argument("--broker", metavar="URL", default=settings.DEFAULT_BROKER,
                   help="RabbitMQ（默认 " + settings.DEFAULT_BROKER.replace("%", "%%")
                   + "）/ the broker to measure")
    p.add_argument("--json", action="store_true", help="JSON 输出 / JSON output")
    p.add_argument("--raw-messages", type=int, default=settings.RAW_MESSAGES, metavar="N",
                   help="裸基准消息数 / messages in the raw pika baseline")
    p.add_argument("--villages", type=int, default=settings.VILLAGES, metavar="N",
                   help="村节点进程数 / village processes")
    p.add_argument("--cases", type=int, default=settings.PIPELINE_CASES, metavar="N",
                   help="流水线案件数（各村合计）/ pipeline cases, all villages together")
    p.add_argument("--latency-seconds", type=float, default=settings.LATENCY_SECONDS,
                   metavar="S", help="半负载时延测量时长 / length of the half-load run")
    p.add_argument("--drain", type=int, default=settings.DRAIN_CASES, metavar="N",
                   help="断网期间积压的上报数 / escalations queued while the broker is away")
    p.add_argument("--local-cases", type=int, default=settings.LOCAL_CASES, metavar="N",
                   help="本地登记基准案件数（每轮）/ cases per round of the node-local figure")
    p.add_argument("--dir", type=Path, help="保留节点文件的目录 / keep the nodes' files here")
    p.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace, ctx: Ctx) -> int:
    import pika.exceptions

    from bench.procs import ChildError
    from bench.report import render
    from bench.run import Workload, run, safe_url
    from nodes.logs import configure
    from nodes.messaging.port import TransportError

    sizes = (args.raw_messages, args.villages, args.cases, args.drain, args.local_cases)
    if min(sizes) < 1 or args.villages > 98 or args.latency_seconds <= 0:
        raise CliError("基准规模须为正数，村数不超过 98",
                       "bench sizes must be positive, with at most 98 villages")
    configure(level="WARNING")
    work = Workload(raw_messages=args.raw_messages, villages=args.villages,
                    pipeline_cases=args.cases, latency_seconds=args.latency_seconds,
                    drain_cases=args.drain, local_cases=args.local_cases)
    try:
        result = run(args.broker, work, args.dir)
    except (TransportError, pika.exceptions.AMQPError, OSError) as exc:
        where = safe_url(args.broker)
        raise CliError(f"无法连接消息服务器 {where}：{exc.__class__.__name__}",
                       f"cannot use the broker at {where}: {exc.__class__.__name__} {exc}"
                       ) from None
    except ChildError as exc:
        raise CliError(f"基准运行失败：{exc}", f"the bench failed: {exc}") from None
    if args.json:
        ctx.emit_json(result)
    else:
        ctx.say(render(result, ctx.lang))
    return 0
