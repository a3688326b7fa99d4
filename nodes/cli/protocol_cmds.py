"""`fengqiao protocol schema`: write the JSON Schemas of every message (for other implementers)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nodes.cli.context import Ctx, bilingual
from nodes.cli.i18n import t
from nodes.cli.parser import group, leaf
from nodes.i18n import _
from protocol.schema_export import SCHEMA_DIR, write_schemas


def register(subparsers: Any) -> None:
    protocol = group(subparsers, "protocol", _("the protocol between tiers"))
    p = leaf(protocol, "schema", _("write the messages' JSON Schemas"))
    p.add_argument("--dir", type=Path, default=SCHEMA_DIR,
                   help=_("output folder (default:"))
    p.set_defaults(handler=schema)


def schema(args: argparse.Namespace, ctx: Ctx) -> int:
    try:
        written = write_schemas(args.dir)
    except OSError as exc:
        raise bilingual("write_failed", path=exc.filename or args.dir,
                        detail=exc.strerror or exc) from None
    ctx.say(t("schema_written", ctx.lang, n=len(written)))
    for path in written:
        ctx.say(f"  {path}")
    return 0
