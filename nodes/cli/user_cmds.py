"""`fengqiao user add/list/disable/enable/passwd`: the accounts of this node's web app (issue 17).

A password is never an argument (it would sit in the shell's history and in `ps`): it is asked
twice at a terminal, or read as one line from standard input with `--password-stdin` (scripts,
the demo). Roles are the codes of `nodes.domain.roles.ACCOUNT_ROLES`, several joined by commas.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from nodes.cli.case_render import local_time
from nodes.cli.context import CliError, Ctx, open_node
from nodes.cli.parser import group as cli_group
from nodes.cli.parser import leaf
from nodes.cli.table import render as table
from nodes.domain.roles import ACCOUNT_ROLES
from nodes.i18n import N_, _, t
from nodes.store import users
from nodes.web.accounts import (
    check_password,
    check_roles,
    check_user_name,
    hash_password,
    role_label,
)


def register(subparsers: Any) -> None:
    accounts = cli_group(subparsers, "user", _("web app accounts of this node"))
    p = leaf(accounts, "add", _("add an account (the password is asked for, never an argument)"))
    p.add_argument("name", metavar="NAME", help=_("login name"))
    p.add_argument("--roles", required=True, metavar="ROLES",
                   help=_("role, or several joined by commas: {choices}",
                          choices=", ".join(ACCOUNT_ROLES)))
    _stdin_option(p)
    p.set_defaults(handler=add)
    p = leaf(accounts, "list", _("list the accounts"), json=True)
    p.set_defaults(handler=list_users)
    for name, help_text, disabled in (("disable", _("disable an account"), True),
                                      ("enable", _("enable an account again"), False)):
        p = leaf(accounts, name, help_text)
        p.add_argument("name", metavar="NAME", help=_("login name"))
        p.set_defaults(handler=lambda a, c, d=disabled: set_disabled(a, c, d))
    p = leaf(accounts, "passwd", _("set a new password (also unlocks the account)"))
    p.add_argument("name", metavar="NAME", help=_("login name"))
    _stdin_option(p)
    p.set_defaults(handler=passwd)


def _stdin_option(p: Any) -> None:
    p.add_argument("--password-stdin", action="store_true",
                   help=_("read the password as one line from standard input"))


def read_password(args: argparse.Namespace) -> str:
    """The new password from stdin (one line) or typed twice at the terminal, checked."""
    if args.password_stdin:
        return check_password(sys.stdin.readline().rstrip("\r\n"))
    first = check_password(getpass.getpass(t(N_("password: "))))
    if getpass.getpass(t(N_("the same password again: "))) != first:
        raise CliError("password_mismatch", N_("the two passwords differ; nothing was changed"))
    return first


def add(args: argparse.Namespace, ctx: Ctx) -> int:
    name, roles = check_user_name(args.name), check_roles(args.roles)
    password = read_password(args)
    with open_node(ctx) as node:
        if not users.add_user(node.store, name, roles, hash_password(password), ctx.clock.now()):
            raise CliError("user_exists", N_("there is already an account {name}"), name=name)
    ctx.say(t(N_("account {name} added ({roles})"), name=name, roles=_roles_text(roles)))
    return 0


def _roles_text(roles: str) -> str:
    return role_label(roles)


def list_users(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        rows = users.users(node.store)
    if args.json:
        ctx.emit_json([{"name": r.name, "roles": r.roles.split(","), "disabled": r.disabled,
                        "locked_until": r.locked_until, "last_login_at": r.last_login_at}
                       for r in rows])
        return 0
    if not rows:
        ctx.say(t(N_("no accounts yet: fengqiao user add NAME --roles ROLE")))
        return 0
    ctx.say(table([t(N_("name")), t(N_("roles")), t(N_("status")), t(N_("last login"))],
                  [[r.name, _roles_text(r.roles),
                    t(N_("disabled")) if r.disabled else
                    t(N_("locked until {time}"), time=r.locked_until[:16]) if r.locked_until
                    else t(N_("active")),
                    local_time(r.last_login_at) if r.last_login_at else "—"] for r in rows]))
    return 0


def set_disabled(args: argparse.Namespace, ctx: Ctx, disabled: bool) -> int:
    name = check_user_name(args.name)
    with open_node(ctx) as node:
        if not users.set_disabled(node.store, name, disabled, ctx.clock.now()):
            raise CliError("user_unknown", N_("there is no account {name}"), name=name)
    ctx.say(t(N_("account {name} disabled") if disabled else N_("account {name} enabled"),
              name=name))
    return 0


def passwd(args: argparse.Namespace, ctx: Ctx) -> int:
    name = check_user_name(args.name)
    password = read_password(args)
    with open_node(ctx) as node:
        if not users.set_password(node.store, name, hash_password(password), ctx.clock.now()):
            raise CliError("user_unknown", N_("there is no account {name}"), name=name)
    ctx.say(t(N_("new password set for {name}"), name=name))
    return 0
