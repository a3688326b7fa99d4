"""The `fengqiao` program: the mediator's groups of `nodes.cli`, the hub's, the demo's, the
operator's (`deploy`), and groups other installed packages add through the `fengqiao.commands`
entry points (`bench`), all run against the one composition root."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from demo.cli import register_demo
from fengqiao.bootstrap import bootstrap
from hub.cli_cmds import register_hub
from nodes.cli import main as nodes_main
from ops.deploy_cmds import register_deploy


def plugin_groups() -> tuple[Callable[[Any], None], ...]:
    return tuple(ep.load() for ep in entry_points(group="fengqiao.commands"))


def main(argv: list[str] | None = None) -> int:
    groups = (*nodes_main.GROUPS, register_hub, register_demo, register_deploy, *plugin_groups())
    return nodes_main.main(argv, groups, bootstrap)


if __name__ == "__main__":
    raise SystemExit(main())
