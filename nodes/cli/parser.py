"""argparse, made to speak the user's language and to fail with one sentence and exit code 2.

Every command module registers its group with `register(subparsers)` and makes its leaf commands
with `leaf(...)`, which adds the global options (`--lang`, `--config`) so they may be written
after the sub-command too (`fengqiao case list --lang en`).
"""

from __future__ import annotations

import argparse
import gettext
import sys
from collections.abc import Callable
from datetime import date
from typing import Any, NoReturn

from nodes.cli.i18n import LANGS, t

_lang = ["zh"]  # the language chosen before parsing (argv pre-scan), read by error() and types

# argparse builds its messages with gettext; these are the ones a mediator can meet.
_ARGPARSE_ZH = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "show this help message and exit": "显示帮助并退出 / show this help and exit",
    "the following arguments are required: %s": "缺少必需参数：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)":
        "无效的值 %(value)r（可选：%(choices)s）",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "invalid %(type)s value: %(value)r": "%(value)r 不是有效的 %(type)s 值",
    "expected one argument": "缺少参数值",
    "expected at least one argument": "至少需要一个参数值",
    "not allowed with argument %s": "不能与 %s 同时使用",
    "one of the arguments %s is required": "必须给出其中之一：%s",
    "ambiguous option: %(option)s could match %(matches)s":
        "选项 %(option)s 不明确，可能是 %(matches)s",
}


def set_language(lang: str) -> None:
    _lang[0] = lang
    zh: Callable[[str], str] = lambda msg: _ARGPARSE_ZH.get(msg, msg)  # noqa: E731
    argparse._ = gettext.gettext if lang == "en" else zh  # type: ignore[attr-defined]


def current_language() -> str:
    return _lang[0]


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


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one sentence in the chosen language, then exit 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        # Python 3.11's argparse drops a "--" even when it is an option's own value, so
        # `--note=--` or `--party=--` reached the handlers as [] (an internal error, exit 1).
        if action.option_strings and action.nargs is None and arg_strings == ["--"]:
            return self._get_value(action, "--")
        return super()._get_values(action, arg_strings)

    def error(self, message: str) -> NoReturn:
        lang = current_language()
        sys.stderr.write(t("error_prefix", lang) + message + t("usage_hint", lang, prog=self.prog)
                         + "\n")
        sys.exit(2)


def common_options() -> Parser:
    """--lang and --config, accepted before or after the sub-command."""
    common = Parser(add_help=False)
    common.add_argument("--lang", choices=LANGS, default=argparse.SUPPRESS,
                        help="输出语言 / output language (default: $FENGQIAO_LANG, else zh)")
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="节点配置文件 / node config (default: $FENGQIAO_CONFIG, "
                             "else ./fengqiao.toml)")
    return common


def leaf(subparsers: Any, name: str, help_text: str, *, json: bool = False,
         epilog: str | None = None) -> Parser:
    """A leaf command with the global options; `json=True` adds --json."""
    parser: Parser = subparsers.add_parser(name, help=help_text, description=help_text,
                                           epilog=epilog, parents=[common_options()])
    if json:
        parser.add_argument("--json", action="store_true",
                            help="输出 JSON / print JSON (UTF-8, ensure_ascii=False)")
    return parser


def group(subparsers: Any, name: str, help_text: str) -> Any:
    """A command group (`node`, `case`, ...): its sub-parsers, created on first use.

    Several modules may add commands to one group (`node init` here, `node run` elsewhere):
    each calls `group(subparsers, "node", ...)` and gets the same sub-parsers back.
    """
    cache: dict[str, Any] = subparsers.__dict__.setdefault("_fengqiao_groups", {})
    if name not in cache:
        parser: Parser = subparsers.add_parser(name, help=help_text, description=help_text)
        cache[name] = parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND",
                                            required=True)
    return cache[name]


# --- argument types (their errors become argparse errors: one sentence, exit 2) ------------
def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(t("date_bad", current_language(), value=value)) from None


def positive_int(value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(t("int_bad", current_language(), value=value))
    return int(value)
