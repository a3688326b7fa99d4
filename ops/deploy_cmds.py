"""`fengqiao deploy`: RabbitMQ definitions for the nodes whose configs are given, and applying them to
a running broker through the management HTTP API (stdlib urllib: no new dependency).

- `deploy definitions CONFIGS... [--with-users [--secrets-out FILE]]` prints the definitions JSON.
  With users, each node gets a broker user named by its node id with its permissions and topic
  permissions; `--secrets-out` keeps one random password per node in FILE (mode 0600, passwords
  already in it are kept) and puts only their salted hashes into the JSON.
- `deploy apply --management-url http://admin:pw@host:15672 CONFIGS... [--secrets FILE]` imports the
  same document (POST /api/definitions), then reads everything back, because RabbitMQ silently keeps
  an existing queue or exchange whose arguments differ. Without `--secrets` users are not sent at
  all: a user entry without a password hash would clear that user's password on the broker.

Every failure is one sentence and exit 2 (`CliError`).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import secrets
import sys
import tempfile
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodes.cli.context import CliError, Ctx
from nodes.cli.parser import group, leaf
from nodes.config import NodeConfig, load_config
from nodes.i18n import N_, _
from ops.definitions import DEFAULT_VHOST, definitions, hash_password
from ops.keys_cmds import register_keys
from ops.management import DEFAULT_TIMEOUT_S, Management, ManagementError, apply_definitions
from protocol.areas import AreaCodeError, AreaTree, Tier, validate_code

MANAGEMENT_ENV = "FENGQIAO_MANAGEMENT_URL"
SECRETS_HEADER = """\
# fengqiao broker passwords: one RabbitMQ user per node, named by its node id.
# SECRET. Never commit this file. Give each node only its own password, in its own secrets file:
#   broker_password = "<password>"   (its config: broker_url = "amqp://<node id>@<host>:5672/{vhost}")
# Regenerating with the same file keeps these passwords and adds new nodes.
"""


def _fail(code: str, message: str, **params: Any) -> CliError:
    return CliError(code, message, **params)


# --------------------------------------------------------------------------- the network


@dataclass(frozen=True)
class Network:
    nodes: list[tuple[str, Tier]]
    tree: AreaTree
    declaring: frozenset[str] = frozenset()  # nodes whose config says declare_topology = true


def _vhost_of(url: str) -> str:
    path = urllib.parse.urlsplit(url).path
    return "/" if path in ("", "/") else urllib.parse.unquote(path[1:])


def load_network(paths: Sequence[Path], vhost: str, users: bool) -> Network:
    """Configs -> nodes and the network's tree (each config's `parent`/`children` overrides).

    Refused: a node given twice, configs that disagree about a parent, a broker_url on another
    vhost, and (with users) a broker_url whose user is not the node id, which the consumer's
    `user_id == sender` check would quarantine."""
    configs: list[NodeConfig] = [load_config(p, with_secrets=False) for p in paths]
    seen: set[str] = set()
    overrides: dict[str, str | None] = {}

    def attach(child: str, parent: str, where: Path) -> None:
        if overrides.get(child, parent) != parent:
            raise _fail("deploy_parent", N_("{where}: the parent of {child} disagrees with "
                                            "another config"), where=where, child=child)
        overrides[child] = parent

    for path, cfg in zip(paths, configs, strict=True):
        if cfg.node_id in seen:
            raise _fail("deploy_twice", N_("node {node} is given twice ({path})"),
                        node=cfg.node_id, path=path)
        seen.add(cfg.node_id)
        if cfg.parent is not None:
            attach(cfg.node_id, cfg.parent, path)
        for child in cfg.children:
            attach(child, cfg.node_id, path)
        url = urllib.parse.urlsplit(cfg.broker_url)
        if url.scheme not in ("amqp", "amqps"):
            continue
        if _vhost_of(cfg.broker_url) != vhost:
            raise _fail("deploy_vhost", N_("{path}: broker_url uses vhost {used}, but these "
                                           "definitions are for {vhost}"),
                        path=path, used=repr(_vhost_of(cfg.broker_url)), vhost=repr(vhost))
        if users and urllib.parse.unquote(url.username or "") != cfg.node_id:
            raise _fail("deploy_user", N_("{path}: the user in broker_url must be the node id "
                                          "{node} (the broker validates user_id and hubs trust "
                                          "user_id == sender)"), path=path, node=cfg.node_id)
    return Network([(c.node_id, c.tier) for c in configs], AreaTree(overrides=overrides),
                   frozenset(c.node_id for c in configs if c.declare_topology))


# --------------------------------------------------------------------------- secrets


def read_secrets(path: Path) -> dict[str, str]:
    """`[passwords]` node id -> password from a secrets file; one sentence if it is unusable."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail("secrets_missing", N_("secrets file {path} not found"), path=path) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise _fail("secrets_unreadable", N_("cannot read secrets file {path} (not readable, "
                                             "or not TOML)"), path=path) from None
    table = raw.get("passwords", {})
    ok = isinstance(table, dict) and all(isinstance(v, str) and v for v in table.values())
    try:
        ok = ok and all(validate_code(k) for k in table)
    except AreaCodeError:
        ok = False
    if not ok:
        raise _fail("secrets_form", N_('secrets file {path}: expected [passwords] with "<node id>" '
                                       '= "<password>"'), path=path)
    return dict(table)


def write_secrets(path: Path, passwords: dict[str, str], vhost: str) -> None:
    """Atomically, readable by the owner only (mode 0600 from creation, then renamed into place)."""
    body = SECRETS_HEADER.format(vhost=vhost) + "[passwords]\n" + "".join(
        f'"{node}" = {json.dumps(pw, ensure_ascii=False)}\n' for node, pw in sorted(passwords.items()))
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".fengqiao-secrets-", dir=folder)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise _fail("secrets_write", N_("cannot write {path} ({detail})"), path=path,
                    detail=errno.errorcode.get(exc.errno or 0, "?")) from None


def passwords_for(nodes: Iterable[str], path: Path) -> tuple[dict[str, str], int]:
    """Passwords already in `path` (if it exists) plus a new random one for each other node;
    returns them and how many are new. URL-safe, so they go into broker_url unescaped."""
    known = read_secrets(path) if path.exists() else {}
    fresh = {n: secrets.token_urlsafe(24) for n in nodes if n not in known}
    return {**known, **fresh}, len(fresh)


# --------------------------------------------------------------------------- management API


def register_deploy(subparsers: Any) -> None:
    deploy = group(subparsers, "deploy", _("deployment helpers"))
    p = leaf(deploy, "definitions",
             _("print RabbitMQ definitions JSON for the nodes whose configs are given"))
    _common(p)
    p.add_argument("--with-users", action="store_true",
                   help=_("one broker user per node, with permissions and topic permissions (no "
                          "password unless --secrets-out)"))
    p.add_argument("--secrets-out", metavar="FILE", type=Path,
                   help=_("keep node passwords in FILE (0600; existing ones kept, new nodes get "
                          "random ones); implies --with-users"))
    p.set_defaults(handler=export_definitions)
    a = leaf(deploy, "apply", _("apply the definitions to a running broker through the management HTTP "
                                "API (idempotent)"))
    a.add_argument("--management-url", metavar="URL", default=os.environ.get(MANAGEMENT_ENV),
                   help=f"http://admin:password@host:15672 (default: ${MANAGEMENT_ENV})")
    _common(a)
    a.add_argument("--secrets", metavar="FILE", type=Path,
                   help=_("create the node users (or reset their passwords) from FILE; without it"
                          " users must exist and are left alone"))
    a.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                   help=_("seconds per HTTP request (default {seconds})",
                          seconds=format(DEFAULT_TIMEOUT_S, "g")))
    a.set_defaults(handler=apply_command)
    register_keys(deploy)  # `deploy keys`: the network's keys.json (ops.keys_cmds)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("configs", nargs="+", type=Path, help=_("node config files"))
    p.add_argument("--vhost", default=DEFAULT_VHOST,
                   help=_("vhost (default {vhost}; must match the configs' broker_url)",
                          vhost=DEFAULT_VHOST))


def export_definitions(args: argparse.Namespace, ctx: Ctx) -> int:
    with_users = args.with_users or args.secrets_out is not None
    net = load_network(args.configs, args.vhost, with_users)
    hashes: dict[str, str] | None = None
    if args.secrets_out is not None:
        passwords, fresh = passwords_for((n for n, _ in net.nodes), args.secrets_out)
        write_secrets(args.secrets_out, passwords, args.vhost)
        hashes = {n: hash_password(passwords[n]) for n, _ in net.nodes}
        sys.stderr.write(_("{path}: {count} node passwords ({fresh} new); keep it secret, give "
                           "each node only its own", path=args.secrets_out,
                           count=len(net.nodes), fresh=fresh) + "\n")
    elif with_users:
        sys.stderr.write(_("users have no password: import this only into an empty broker, then "
                           "set passwords (deploy apply --secrets, or rabbitmqctl "
                           "change_password)") + "\n")
    doc = definitions(net.nodes, args.vhost, net.tree, with_users=with_users,
                      password_hashes=hashes, declaring=net.declaring)
    ctx.say(json.dumps(doc, ensure_ascii=False, indent=2))
    return 0


def apply_command(args: argparse.Namespace, ctx: Ctx) -> int:
    if not args.management_url:
        raise _fail("mgmt_url_missing", N_("give the management API with --management-url or "
                                           "${env}"), env=MANAGEMENT_ENV)
    if not args.timeout > 0:
        raise _fail("timeout_positive", N_("--timeout must be more than 0"))
    net = load_network(args.configs, args.vhost, users=True)
    hashes = None
    if args.secrets is not None:
        passwords = read_secrets(args.secrets)
        missing = [n for n, _ in net.nodes if n not in passwords]
        if missing:
            raise _fail("secrets_node", N_("secrets file {path} has no password for node {node}; "
                                           "add it with deploy definitions --secrets-out {path}"),
                        path=args.secrets, node=missing[0])
        hashes = {n: hash_password(passwords[n]) for n, _ in net.nodes}
    doc = definitions(net.nodes, args.vhost, net.tree, with_users=True, password_hashes=hashes,
                      declaring=net.declaring)
    if hashes is None:
        del doc["users"]  # a user entry without a hash would clear that user's password
    try:
        api = Management(args.management_url, args.timeout)
        done = apply_definitions(api, doc, args.vhost)
    except ManagementError as exc:
        raise _fail("apply_failed", N_("applying the definitions failed: {detail}"),
                    detail=exc) from None
    ctx.say(_("applied to RabbitMQ {version} at {where}, vhost {vhost}{created}: {users} users, "
              "{permissions} permissions, {topics} topic permissions, {queues} queues; read back "
              "and checked", version=done.version, where=api.where, vhost=args.vhost,
              created=_(" (created)") if done.created_vhost else "", users=done.users,
              permissions=done.permissions, topics=done.topic_permissions, queues=done.queues))
    return 0
