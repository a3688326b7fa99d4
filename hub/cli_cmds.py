"""Command groups that need hub code: `hub run`, `hub flow`, `demo` (`deploy` is in `deploy_cmds`).

They live in `hub/` because hub code sits above nodes (dependencies point one way); `hub.main`
adds them to the groups of `nodes.cli.main`.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path
from typing import Any

from hub.bootstrap import handlers_for, node_for
from hub.flow import Station, TierFlow, flow_json
from hub.flow_render import render_flow
from nodes.cli.context import Ctx, bilingual, open_node
from nodes.cli.parser import group, leaf
from nodes.cli.run_cmds import run_node
from nodes.logs import configure
from protocol.areas import Tier


def register_hub(subparsers: Any) -> None:
    """`fengqiao hub run` (the hub's service) and `fengqiao hub flow`."""
    hub = group(subparsers, "hub", "上级中心 / hub (township, county, city)")
    p = leaf(hub, "run", "运行上级中心收发服务（Ctrl-C 或 SIGTERM 安全停止）/ run the hub's relay "
             "and consumer as a service (Ctrl-C or SIGTERM stops cleanly)")
    p.add_argument("--log-json", action="store_true", help="JSON 日志 / JSON log lines")
    p.set_defaults(handler=partial(run_node, hub=True, handlers=handlers_for, factory=node_for))
    flow = leaf(hub, "flow", "跨层级流转统计 / the cross-tier flow table (county and city hubs)")
    flow.add_argument("--json", action="store_true", help="JSON 输出 / JSON output")
    flow.set_defaults(handler=show_flow)


def show_flow(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        if node.config.tier not in (Tier.COUNTY, Tier.CITY):
            raise bilingual("flow_tier", tier=node.config.tier.value)
        hub = node_for(node.config)  # applies the hub tables if this file has none yet
        try:
            data = flow_json(hub.store, ctx.clock.now())
        finally:
            hub.close()
    if args.json:
        ctx.emit_json(data)
    else:
        ctx.say(render_flow([TierFlow(**t) for t in data["tiers"]],  # type: ignore[attr-defined]
                            [Station(**s) for s in data["stations"]],  # type: ignore[attr-defined]
                            ctx.lang))
    return 0


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
    from hub.demo import run_embedded
    from hub.demo_broker import run_broker

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

