"""`fengqiao`, the one command-line program (DESIGN §5): Chinese by default, `--lang en` English.

Command groups register themselves: each module has `register(subparsers)`, and adding a group
is one line in `GROUPS`. A handler takes `(args, ctx)` and returns the exit code.

Exit codes: 0 done; 2 bad input or a rule forbids it (one sentence on stderr, database unchanged);
1 internal error (one sentence; the traceback goes to the log on stderr only with
FENGQIAO_DEBUG=1); 130 interrupted.
"""

from __future__ import annotations

import argparse
import errno
import io
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from nodes import i18n
from nodes.cli import (
    audit_cmds,
    calendar_cmds,
    case_cmds,
    key_cmds,
    node_cmds,
    notice_cmds,
    order_cmds,
    protocol_cmds,
    run_cmds,
    status_cmds,
    user_cmds,
)
from nodes.cli.acting import acting
from nodes.cli.context import Build, Ctx, bilingual, clock_from_env, config_path_from
from nodes.cli.flag_hints import with_flags
from nodes.cli.i18n import DEFAULT_LANG, LANGS, env_lang, t
from nodes.cli.parser import (
    Parser,
    argparse_language,
    common_options,
    mask_dashes,
    prescan_lang,
    unmask_all,
)
from nodes.i18n import _, render
from nodes.logs import configure
from nodes.store.errors import StoreError, StoreFull, problem, translate
from nodes.text_input import printable
from protocol.messages import MAX_TEXT
from protocol.text import Translatable

GROUPS: tuple[Callable[[Any], None], ...] = (
    node_cmds.register,
    key_cmds.register,
    run_cmds.register,
    status_cmds.register,
    case_cmds.register,
    protocol_cmds.register,
    audit_cmds.register,
    calendar_cmds.register,
    user_cmds.register,
    order_cmds.register,
    notice_cmds.register,
)


def build_parser(groups: Sequence[Callable[[Any], None]] = GROUPS) -> Parser:
    parser = Parser(prog="fengqiao", parents=[common_options()],
                    description=_("a tiered dispute-mediation network"),
                    epilog=_("environment: FENGQIAO_LANG (zh|en), FENGQIAO_CONFIG (file), "
                             "FENGQIAO_NOW (fixed clock, ISO time), FENGQIAO_DEBUG=1 (tracebacks)"))
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in groups:
        register(subparsers)
    return parser


def _utf8(stream: Any) -> None:
    if isinstance(stream, io.TextIOWrapper) and (stream.encoding or "").lower() != "utf-8":
        stream.reconfigure(encoding="utf-8", errors="replace")


def _fail(text: str) -> int:
    # An error may quote what was typed or received: never a terminal escape (nodes.text_input).
    sys.stderr.write(t("error_prefix") + printable(text) + "\n")
    return 2


def _make_ctx(args: argparse.Namespace, lang: str, build: Build) -> Ctx:
    explicit_lang = getattr(args, "lang", None) or env_lang()
    if explicit_lang is not None and explicit_lang not in LANGS:
        raise bilingual("env_lang_bad", value=explicit_lang)
    config = getattr(args, "config", None)
    user, role = acting(args)
    return Ctx(lang=explicit_lang or lang, lang_explicit=explicit_lang is not None,
               config_path=config_path_from(config), build=build, clock=clock_from_env(),
               user=user, role=role)


def _check_text(argv: Sequence[str]) -> None:
    """Bytes that are not UTF-8 reach sys.argv as lone surrogates (a GBK terminal, say), which
    SQLite and stdout cannot encode: refuse them, and NUL, before anything reads them."""
    for arg in argv:
        if "\x00" in arg or any("\ud800" <= ch <= "\udfff" for ch in arg):
            raise bilingual("arg_not_text", value=ascii(arg)[:60])


def _check_lengths(args: argparse.Namespace) -> None:
    """No single value longer than the protocol's text limit: a case holding one could never
    be escalated (its dossier would not validate), an internal error at the worst moment."""
    for name, value in vars(args).items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise bilingual("arg_too_long", option="--" + name.replace("_", "-"), limit=MAX_TEXT,
                            length=len(value))


def main(argv: list[str] | None, groups: Sequence[Callable[[Any], None]], build: Build) -> int:
    """Run one command; `fengqiao.main` passes the full set of groups (hub, demo, deploy) and
    the composition root."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _utf8(sys.stdout)
    _utf8(sys.stderr)
    env = env_lang()
    lang = prescan_lang(argv, env if env in LANGS else DEFAULT_LANG)
    with i18n.language(lang), argparse_language(lang):
        return _run(argv, groups, build, lang)


def _run(argv: list[str], groups: Sequence[Callable[[Any], None]], build: Build,
         lang: str) -> int:
    try:
        _check_text(argv)
        try:
            args = build_parser(groups).parse_args(mask_dashes(argv))
        except SystemExit as exc:  # --help (0) or a usage error already printed (2)
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        unmask_all(args)
        _check_lengths(args)
        ctx = _make_ctx(args, lang, build)
        handler: Callable[[argparse.Namespace, Ctx], int] = args.handler
        return _logging_to_stderr(handler, args, ctx)
    except Translatable as exc:  # a rule, bad input, a bad config or calendar: one sentence
        return _fail(with_flags(exc, render(exc)))
    except StoreError as exc:  # a full disk, a damaged file: says so, naming the file if known
        return _fail(render(problem(exc)))
    except sqlite3.Error as exc:  # one that slipped past the store's edge: still one sentence
        return _fail(render(problem(translate(exc))))
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return _internal(argv, exc)
        return _fail(render(problem(StoreFull(str(exc)))))
    except KeyboardInterrupt:
        sys.stderr.write(t("interrupted") + "\n")
        return 130
    except Exception as exc:  # never a traceback for the user
        return _internal(argv, exc)


def _logging_to_stderr(handler: Callable[[argparse.Namespace, Ctx], int],
                       args: argparse.Namespace, ctx: Ctx) -> int:
    """Run the command with log lines on stderr, warnings and worse unless FENGQIAO_LOG_LEVEL
    says otherwise (stdout is the command's output, JSON for scripts; `node run` sets its
    own), then put back the logging the caller had (a test or a program running commands
    in-process keeps its own)."""
    previous = structlog.get_config()
    configure(level=os.environ.get("FENGQIAO_LOG_LEVEL", "WARNING"))
    try:
        return handler(args, ctx)
    finally:
        structlog.configure(**previous)


def _internal(argv: list[str], exc: Exception) -> int:
    if os.environ.get("FENGQIAO_DEBUG") == "1":
        configure()
        structlog.get_logger("fengqiao.cli").exception("internal error", argv=argv)
    sys.stderr.write(t("internal", kind=type(exc).__name__) + "\n")
    return 1
