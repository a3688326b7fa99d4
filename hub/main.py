"""The `fengqiao` program: the mediator's groups of `nodes.cli` plus those that need hub code."""

from __future__ import annotations

from bench.cli import register_bench
from hub import cli_cmds, deploy_cmds
from nodes.cli import main as nodes_main


def main(argv: list[str] | None = None) -> int:
    groups = (*nodes_main.GROUPS, cli_cmds.register_hub, cli_cmds.register_demo,
              deploy_cmds.register_deploy, register_bench)
    return nodes_main.main(argv, groups)


if __name__ == "__main__":
    raise SystemExit(main())
