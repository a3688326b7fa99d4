"""The `fengqiao` program: the mediator's groups of `nodes.cli`, the hub's, and the groups the
packages on top add through the `fengqiao.commands` entry points (`demo`, `deploy`, `bench`), all
run against the one composition root."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from fengqiao.bootstrap import bootstrap
from hub.cli_cmds import register_hub
from nodes.cli import main as nodes_main


def plugin_groups() -> tuple[Callable[[Any], None], ...]:
    return tuple(ep.load() for ep in sorted(entry_points(group="fengqiao.commands"),
                                             key=lambda ep: ep.name))


def main(argv: list[str] | None = None) -> int:
    groups = (*nodes_main.GROUPS, register_hub, *plugin_groups())
    return nodes_main.main(argv, groups, bootstrap)


if __name__ == "__main__":
    raise SystemExit(main())
