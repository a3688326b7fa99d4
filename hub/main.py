"""The `fengqiao` program: the mediator's groups of `nodes.cli` plus those that need hub code."""

from __future__ import annotations

from hub import cli_cmds
from nodes.cli import main as nodes_main


def main(argv: list[str] | None = None) -> int:
    groups = (*nodes_main.GROUPS, cli_cmds.register_hub, cli_cmds.register_demo,
              cli_cmds.register_deploy)
    return nodes_main.main(argv, groups)


if __name__ == "__main__":
    raise SystemExit(main())
