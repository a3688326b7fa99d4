"""`fengqiao node run` and `fengqiao hub run`: a node's relay and consumer as a service.

A station keeps recording cases with the CLI while this runs, and what must travel leaves when
the broker is reachable. The composition root picks what the node's tier handles.

Honest failures (issue 15): the node is opened once before any thread starts (config, data key,
database and its quick check), so a wrong key or a damaged file stops the command at once with one
sentence and a non-zero exit. While it runs, a thread whose node cannot be built again for a reason
no restart mends (a rule or config error such as a wrong key, a damaged database) stops the whole
service, which then exits non-zero with that sentence, instead of restarting it for ever while
systemd sees it alive. A broker that is away, a busy or full disk are waited out as before.
"""

from __future__ import annotations

import argparse
import signal
import threading
from functools import partial
from typing import Any

import structlog

from nodes.cli.context import Ctx, bilingual
from nodes.cli.parser import group, leaf
from nodes.clock_sync import sync_clocks
from nodes.config import NodeConfig, load_config
from nodes.i18n import _
from nodes.labels import tier_label
from nodes.logs import configure
from nodes.memory import limit_malloc_arenas
from nodes.messaging.runtime import NodeBuilder, NodeRuntime, describe
from nodes.node import Node
from nodes.store.errors import StoreCorrupt
from nodes.web.server import WebServer
from protocol.areas import Tier
from protocol.text import Translatable

log = structlog.get_logger("fengqiao.runtime")
# Errors a restart does not mend: the service stops with them.
PERMANENT: tuple[type[Exception], ...] = (Translatable, StoreCorrupt)


def register(subparsers: Any) -> None:
    nodes = group(subparsers, "node", _("node"))
    p = leaf(nodes, "run", _(
        "run the station's relay and consumer as a service (Ctrl-C or SIGTERM stops cleanly)"))
    p.add_argument("--log-json", action="store_true", help=_("JSON log lines"))
    web_option(p)
    p.set_defaults(handler=partial(run_node, hub=False))


def web_option(p: Any) -> None:
    """`--no-web` for `node run` and `hub run` (the web app is on unless [web] listen is "")."""
    p.add_argument("--no-web", action="store_true",
                   help=_("do not serve the web app (else it listens on [web] listen)"))


def start_web(config: NodeConfig, build: NodeBuilder, runtime: NodeRuntime,
              args: argparse.Namespace) -> WebServer | None:
    """The web app on its own thread and node, unless switched off; a commit wakes the relay."""
    if getattr(args, "no_web", False) or config.web.host_port is None:
        return None
    web = WebServer(config, build, on_commit=runtime.wake.set)
    web.start()
    return web


def run_node(args: argparse.Namespace, ctx: Ctx, *, hub: bool) -> int:
    """Load the config, check it is the right kind of node, serve until SIGTERM or Ctrl-C."""
    if not ctx.config_path.is_file():
        raise bilingual("config_missing", path=ctx.config_path)
    config = load_config(ctx.config_path)
    if hub and config.tier is Tier.VILLAGE:
        raise bilingual("hub_run_village")
    if not hub and config.tier is not Tier.VILLAGE:
        raise bilingual("node_run_hub", tier=tier_label(config.tier))
    limit_malloc_arenas()  # before the relay's, consumer's and web app's threads start
    build = partial(ctx.build, config, clock=ctx.clock)
    node = checked(build)()  # config, key and database, before any thread starts
    configure(json=args.log_json or None, service=True)
    try:
        recompute_at_start(node)
    finally:
        node.close()
    watch = Watch(config, build)
    web = start_web(config, checked(build), watch.runtime, args)
    try:
        serve_until_failed(watch.runtime)
    finally:
        if web is not None:
            web.stop()
    if watch.fatal is not None:
        raise watch.fatal  # one sentence and a non-zero exit (nodes.cli.main)
    return 0


def recompute_at_start(node: Node) -> None:
    """A calendar installed while the node was down moves open deadlines, and cases recorded
    before a clock existed get it: one appended event per case changed (`nodes.clock_sync`)."""
    result = sync_clocks(node)
    if result.cases:
        log.info("clocks.synced", node_id=node.node_id, cases=result.cases,
                 recomputed=result.recomputed, set=result.set)


def checked(build: NodeBuilder) -> NodeBuilder:
    """`build`, refusing a node whose database failed its quick check (it opens read-only)."""

    def open_writable() -> Node:
        node = build()
        try:
            node.store.require_writable()
        except BaseException:
            node.close()
            raise
        return node

    return open_writable


class Watch:
    """A runtime whose threads' nodes are built through `checked`; the first permanent failure
    is kept in `fatal` and stops the runtime (its supervisor then starts nothing again)."""

    def __init__(self, config: NodeConfig, build: NodeBuilder) -> None:
        self.fatal: Exception | None = None
        self._build = checked(build)
        self.runtime = NodeRuntime(config, self.build, notices=True)  # and the notifier

    def build(self) -> Node:
        try:
            return self._build()
        except PERMANENT as exc:
            if self.fatal is None:
                self.fatal = exc
                log.error("node.failed", error=describe(exc), thread=threading.current_thread().name)
            self.runtime.stop_event.set()
            raise


def serve_until_failed(runtime: NodeRuntime) -> None:
    """`nodes.messaging.runtime.serve`, which also returns when the runtime stopped itself:
    run until SIGTERM, Ctrl-C or a permanent failure, then stop cleanly."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runtime.start()
    while not stop.wait(0.2) and not runtime.stop_event.is_set():
        pass
    log.info("node.stopping", node_id=runtime.config.node_id)
    runtime.stop()
