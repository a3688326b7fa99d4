"""argparse, made to speak the user's language and to fail with one sentence and exit code 2.

Every command module registers its group with `register(subparsers)` and makes its leaf commands
with `leaf(...)`, which adds the global options (`--lang`, `--config`) so they may be written
after the sub-command too (`fengqiao case list --lang en`).

Language: our own texts come from the catalogue (`nodes.i18n`). argparse's own ("usage:", "the
following arguments are required") come from the same catalogue through gettext's documented
way of translating a library that uses `gettext.gettext`: while a command runs, the process's
default text domain is ours and `LANGUAGE` names the chosen language (`argparse_language`). Only
public APIs of argparse and gettext are used.
"""

from __future__ import annotations

import argparse
import gettext
import os
import sys
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, NoReturn

from nodes import i18n
from nodes.cli.i18n import LANGS, t
from nodes.i18n import _

# argparse (Python 3.11) drops a lone "--" even when it is an option's own value (`--note=--`
# reached the handlers as []): such a value is masked before parsing and restored after.
_DASHES = "\ue000"  # a private-use character no one types, standing for "--"


@contextmanager
def argparse_language(lang: str) -> Iterator[None]:
    """argparse's messages in `lang` for the length of the block, from our catalogue."""
    saved_domain = gettext.textdomain()
    saved_env = os.environ.get("LANGUAGE")
    gettext.bindtextdomain(i18n.DOMAIN, str(i18n.LOCALE_DIR))
    gettext.textdomain(i18n.DOMAIN)
    os.environ["LANGUAGE"] = i18n.LOCALES[lang]
    try:
        yield
    finally:
        gettext.textdomain(saved_domain)
        if saved_env is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = saved_env


def prescan_lang(argv: list[str], default: str) -> str:
    """`--lang xx` or `--lang=xx` anywhere in argv, so even usage errors use that language."""
    for i, arg in enumerate(argv):
        value = None
        if arg == "--lang" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
        if value in LANGS:
            return value
    return default


def mask_dashes(argv: Sequence[str]) -> list[str]:
    """`--opt=--` -> a masked value argparse keeps (see `_DASHES`)."""
    return [a[:-2] + _DASHES if a.startswith("--") and a.endswith("=--") else a for a in argv]


def unmask(value: str) -> str:
    return "--" if value == _DASHES else value


def unmask_all(args: argparse.Namespace) -> None:
    """Put back every "--" that `mask_dashes` hid, in plain values and in lists."""
    for name, value in vars(args).items():
        if isinstance(value, str):
            setattr(args, name, unmask(value))
        elif isinstance(value, list):
            setattr(args, name, [unmask(v) if isinstance(v, str) else v for v in value])


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one sentence in the chosen language, then exit 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(t("error_prefix") + message.replace(_DASHES, "--")
                         + t("usage_hint", prog=self.prog) + "\n")
        sys.exit(2)


def common_options() -> Parser:
    """--lang, --config, --user and --role, accepted before or after the sub-command."""
    from nodes.cli.acting import role_arg, user_arg  # it imports this module

    common = Parser(add_help=False)
    common.add_argument("--lang", choices=LANGS, default=argparse.SUPPRESS,
                        help=_("output language (default: $FENGQIAO_LANG, else zh)"))
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help=_("node config (default: $FENGQIAO_CONFIG, else ./fengqiao.toml)"))
    common.add_argument("--user", metavar="NAME", type=user_arg, default=argparse.SUPPRESS,
                        help=_("who is acting, recorded on every event (default: "
                               "$FENGQIAO_USER, else the login name)"))
    common.add_argument("--role", metavar="ROLE", type=role_arg, default=argparse.SUPPRESS,
                        help=_("the acting person's role: mediator, grid_worker, station_head, "
                               "hub_staff, or several joined by commas (default: "
                               "$FENGQIAO_ROLE, else mediator)"))
    return common


def leaf(subparsers: Any, name: str, help_text: str, *, json: bool = False,
         epilog: str | None = None) -> Parser:
    """A leaf command with the global options; `json=True` adds --json."""
    parser: Parser = subparsers.add_parser(name, help=help_text, description=help_text,
                                           epilog=epilog, parents=[common_options()])
    if json:
        parser.add_argument("--json", action="store_true",
                            help=_("print JSON (UTF-8, ensure_ascii=False)"))
    return parser


# Each `subparsers` object's groups by name: several modules add commands to one group.
_GROUPS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def group(subparsers: Any, name: str, help_text: str) -> Any:
    """A command group (`node`, `case`, ...): its sub-parsers, created on first use.

    Several modules may add commands to one group (`node init` here, `node run` elsewhere):
    each calls `group(subparsers, "node", ...)` and gets the same sub-parsers back.
    """
    groups = _GROUPS.setdefault(subparsers, {})
    if name not in groups:
        parser: Parser = subparsers.add_parser(name, help=help_text, description=help_text)
        groups[name] = parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND",
                                             required=True)
    return groups[name]


def choice(options: dict[str, str], label: str) -> Any:
    """An argument type for an enumerated option: the code or its name in either language.
    `options` maps each accepted word to its code; the error lists code and name."""
    def parse(value: str) -> str:
        code = options.get(unmask(value).strip())
        if code is None:
            shown = ", ".join(sorted({f"{c}" for c in options.values()}))
            raise argparse.ArgumentTypeError(t("choice_bad", value=unmask(value), what=label,
                                               choices=shown))
        return code
    parse.__name__ = label
    return parse


# --- argument types (their errors become argparse errors: one sentence, exit 2) ------------
def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(unmask(value))
    except ValueError:
        raise argparse.ArgumentTypeError(t("date_bad", value=unmask(value))) from None


def positive_int(value: str) -> int:
    value = unmask(value)
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(t("int_bad", value=value))
    return int(value)
