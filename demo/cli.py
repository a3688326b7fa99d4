"""`fengqiao demo`: the sample city on the embedded transport, or on RabbitMQ with `--broker`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hub.flow import Station, TierFlow
from hub.flow_render import render_flow
from nodes.cli.context import Ctx, bilingual
from nodes.cli.parser import leaf
from nodes.logs import configure


def register_demo(subparsers: Any) -> None:
    p = leaf(subparsers, "demo", "运行示例网络（无需安装消息服务器）/ run the sample city network "
             "(embedded transport; --broker for RabbitMQ, one process per tier)")
    p.add_argument("--broker", metavar="URL", help="amqp://… 使用 RabbitMQ / run on RabbitMQ")
    p.add_argument("--cases", type=int, default=30, help="每村纠纷数 / disputes per village")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--dir", type=Path, help="保留数据的目录 / keep the nodes' files here")
    p.add_argument("--json", action="store_true", help="JSON 输出 / JSON output")
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
    zh = ctx.lang == "zh"
    ctx.say(str(result["note"]))
    mode = ("RabbitMQ，每个层级一个进程" if zh else "RabbitMQ, one process per tier") \
        if args.broker else ("内置传输，单进程" if zh else "embedded transport, one process")
    ctx.say((f"示例市：1 市、2 县、4 镇、12 村；{result['cases']} 件纠纷；{mode}；"
             f"用时 {result['seconds']} 秒") if zh else
            (f"sample city: 1 city, 2 counties, 4 townships, 12 villages; {result['cases']} "
             f"disputes; {mode}; {result['seconds']} s"))
    ctx.say(render_flow([TierFlow(**t) for t in result["tiers"]],  # type: ignore[attr-defined]
                        [Station(**s) for s in result["stations"]],  # type: ignore[attr-defined]
                        ctx.lang))
    ctx.say(("数据目录：" if zh else "files: ") + str(result["workdir"]))
    return 0
