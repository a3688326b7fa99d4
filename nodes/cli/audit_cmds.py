"""`fengqiao audit verify | new-key`: check the event log's hash chain; make a data key.

`audit verify` opens the node's database read-only and without the data key (an auditor need not
see personal data), so it cannot repair, migrate or hide anything it finds.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nodes.cli.context import CliError, Ctx, bilingual
from nodes.cli.i18n import t
from nodes.cli.parser import group, leaf
from nodes.config import load_config
from nodes.crypto import new_key
from nodes.i18n import _
from nodes.store.audit import BrokenLink, ChainReport, verify_file
from nodes.store.errors import StoreError, store_problem


def verify_epilog() -> str:
    return "\n".join([
        _("exit codes:"),
        "  0  " + _("the chain is intact"),
        "  1  " + _("the chain is broken; the first broken link is named"),
        "  2  " + _("cannot check (config or database unusable, or the database has no chain "
                    "yet)"),
    ]) + "\n"


def register(subparsers: Any) -> None:
    audit = group(subparsers, "audit", _("audit and data protection"))
    p = leaf(audit, "verify", _("verify the event log's hash chain"),
             json=True, epilog=verify_epilog())
    p.set_defaults(handler=verify)
    p = leaf(audit, "new-key", _("print a new data_key for a node config"))
    p.set_defaults(handler=key)


def verify(args: argparse.Namespace, ctx: Ctx) -> int:
    path = ctx.config_path
    if not path.is_file():
        raise bilingual("config_missing", path=path)
    cfg = load_config(path)
    ctx.use_config_lang(cfg.lang)
    if not cfg.database.is_file():
        raise bilingual("db_missing", path=cfg.database)
    try:
        report = verify_file(str(cfg.database))
    except StoreError as exc:
        raise CliError(exc.code, store_problem(exc)) from None
    if report.broken is not None and report.broken.problem == "no_chain":
        raise bilingual("audit_no_chain", path=cfg.database)
    if args.json:
        ctx.emit_json(report.to_json())
    else:
        ctx.say(describe(report, ctx.lang))
    return 0 if report.intact else 1


def describe(report: ChainReport, lang: str) -> str:
    if report.broken is None:
        return t("audit_intact", lang, rows=report.rows, head=report.head)
    b = report.broken
    where = t("audit_where", lang, case_id=b.case_id or "-", seq=b.seq if b.seq is not None else "-",
              row=b.row_id if b.row_id is not None else "-")
    return t("audit_broken", lang, where=where, what=what_differs(b, lang))


def what_differs(b: BrokenLink, lang: str) -> str:
    text = t(f"audit_{b.problem}", lang, expected=b.expected, found=b.found)
    if b.fields:
        text += t("audit_fields", lang, fields=", ".join(b.fields))
    return text


def key(args: argparse.Namespace, ctx: Ctx) -> int:
    ctx.say(f'data_key = "{new_key()}"')
    sys.stderr.write(t("new_key_note", ctx.lang) + "\n")  # stdout stays pasteable
    return 0
