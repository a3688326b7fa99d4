"""The `fengqiao` program: the mediator's groups of `nodes.cli`, those that need hub code, and
groups other installed packages add through the `fengqiao.commands` entry points (`bench`), so
hub depends on none of them."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from hub import cli_cmds, deploy_cmds
from nodes.cli import main as nodes_main


def plugin_groups() -> tuple[Callable[[Any], None], ...]:
    return tuple(ep.load() for ep in entry_points(group="fengqiao.commands"))


def main(argv: list[str] | None = None) -> int:
    groups = (*nodes_main.GROUPS, cli_cmds.register_hub, cli_cmds.register_demo,
              deploy_cmds.register_deploy, *plugin_groups())
    return nodes_main.main(argv, groups)


if __name__ == "__main__":
    raise SystemExit(main())
