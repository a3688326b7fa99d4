"""`fengqiao deploy keys`: the network's public key directory (`keys.json`, issue 15 item 3) from
every node's public file (`public-keys.json`, written by `fengqiao node init` and `node keys`).

The result holds no secret. Give it to every node with the topology (each node's `keys_file`):
a node verifies a sender only if `keys.json` lists it, and seals personal data only to a node it
lists. With `--configs`, every configured node must be listed, so a node left out is found here
rather than by its first refused message. Every failure is one sentence and exit 2.
"""

from __future__ import annotations

import argparse
import errno
from pathlib import Path
from typing import Any

from nodes.cli.context import CliError, Ctx
from nodes.cli.parser import leaf
from nodes.config import load_config
from nodes.i18n import N_, _
from protocol.keydir import load_directory, merge_directories, save_directory
from protocol.keys import TrustError


def register_keys(deploy: Any) -> None:
    """`deploy keys`, in the `deploy` group made by `ops.deploy_cmds.register_deploy`."""
    p = leaf(deploy, "keys", _("gather the nodes' public keys into the network's keys.json"))
    p.add_argument("public", nargs="+", type=Path,
                   help=_("each node's public-keys.json (written by fengqiao node init)"))
    p.add_argument("--out", "-o", type=Path, required=True, metavar="FILE",
                   help=_("where to write keys.json (replaced atomically)"))
    p.add_argument("--configs", nargs="+", type=Path, default=[], metavar="CONFIG",
                   help=_("node configs: fail if one of these nodes has no keys"))
    p.set_defaults(handler=keys_command)


def keys_command(args: argparse.Namespace, ctx: Ctx) -> int:
    try:
        merged = merge_directories(load_directory(path) for path in args.public)
    except TrustError as exc:
        raise CliError("deploy_keys_bad", N_("cannot gather the public keys: {detail}"),
                       detail=str(exc)) from None
    for config in args.configs:
        node = load_config(config, with_secrets=False).node_id
        if not merged.keys_of(node):
            raise CliError("deploy_keys_missing", N_(
                "{path}: node {node} has no public keys among those given (add its "
                "public-keys.json)"), path=config, node=node)
    try:
        save_directory(args.out, merged)
    except OSError as exc:
        raise CliError("deploy_keys_write", N_("cannot write {path} ({detail})"), path=args.out,
                       detail=errno.errorcode.get(exc.errno or 0, "?")) from None
    ctx.say(_("{path}: public keys of {count} nodes; give it to every node (its keys_file)",
              path=args.out, count=len(merged.nodes())))
    return 0
