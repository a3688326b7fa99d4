"""Who acts: a named user with a role, recorded on every event a command writes (issue 16).

Accounts come with the web app (issue 17); until then the command line names the person with
`--user NAME` and `--role ROLE` (before or after the sub-command), else the environment
variables FENGQIAO_USER and FENGQIAO_ROLE. With no name given, the operating system's login name
is recorded, so no event is left without one. The role defaults to mediator (a grid report: grid
worker). A person with two roles gives both, `--role grid_worker,mediator` (a grid worker who is
also an appointed mediator may accept and decide, `nodes.domain.roles`).

The name is staff data: it is kept in the node's event log and shown by `case show`, never put
into lifecycle reports or dossiers (`nodes.outbound` builds those field by field).
"""

from __future__ import annotations

import argparse
import getpass
import os
import re

from nodes.cli.context import CliError
from nodes.cli.parser import unmask
from nodes.domain.roles import PERSON_ROLES
from nodes.i18n import LANGS, N_, t
from nodes.labels import word

MAX_USER = 50
UNKNOWN = "unknown"
_SPLIT = re.compile(r"[,，+、]")


def _user(value: str) -> str | None:
    name = value.strip()
    return name if 0 < len(name) <= MAX_USER and name.isprintable() else None


def _role(value: str) -> str | None:
    """Canonical codes joined by commas, each given as its code or its name in either language."""
    names = {code: code for code in PERSON_ROLES}
    names.update({word(code, lang).lower(): code for code in PERSON_ROLES for lang in LANGS})
    codes: list[str] = []
    for part in _SPLIT.split(value):
        code = names.get(part.strip().lower())
        if code is None:
            return None
        if code not in codes:
            codes.append(code)
    return ",".join(codes) or None


def _choices() -> str:
    return ", ".join(f"{code} {word(code)}" for code in PERSON_ROLES)


def user_arg(value: str) -> str:
    """`--user`: a name of 1 to 50 visible characters."""
    name = _user(unmask(value))
    if name is None:
        raise argparse.ArgumentTypeError(t(N_(
            "user {value!r} must be a name of 1 to {limit} characters without control "
            "characters"), value=unmask(value)[:60], limit=MAX_USER))
    return name


def role_arg(value: str) -> str:
    """`--role`: one role, or several joined by commas."""
    role = _role(unmask(value))
    if role is None:
        raise argparse.ArgumentTypeError(t(N_(
            "role {value!r} is not valid; give one or more of: {choices}"),
            value=unmask(value)[:60], choices=_choices()))
    return role


def os_login() -> str:
    """The operating system's login name (the default user), else "unknown"."""
    try:
        return _user(getpass.getuser()) or UNKNOWN
    except Exception:  # no login name (a container without one): say so
        return UNKNOWN


def acting(args: argparse.Namespace) -> tuple[str, str | None]:
    """(user, role or None for the command's default) from the options, else the environment."""
    user: str | None = getattr(args, "user", None)
    if user is None and os.environ.get("FENGQIAO_USER", "").strip():
        raw = os.environ["FENGQIAO_USER"]
        user = _user(raw)
        if user is None:
            raise CliError("env_user_bad", N_(
                "environment variable FENGQIAO_USER is {value!r}, not a name of 1 to {limit} "
                "characters"), value=raw[:60], limit=MAX_USER)
    role: str | None = getattr(args, "role", None)
    if role is None and os.environ.get("FENGQIAO_ROLE", "").strip():
        raw = os.environ["FENGQIAO_ROLE"]
        role = _role(raw)
        if role is None:
            raise CliError("env_role_bad", N_(
                "environment variable FENGQIAO_ROLE is {value!r}; give one or more of: "
                "{choices}"), value=raw[:60], choices=_choices())
    return user or os_login(), role
