"""`fengqiao calendar list | install FILE | recompute`: the holiday calendars a node counts with.

Installing a year's arrangement (a TOML file, format in `nodes/data/holidays/README.md`) copies
it into the node's `calendar_dir` and recomputes every open deadline it moves, each case with
one appended event whose note names the calendar (`nodes.clock_sync`). The file is checked
before anything is written: a bad one is one sentence, exit code 2, nothing changed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from nodes.calendar_loader import (
    SHIPPED_HOLIDAY_DIR,
    load_calendar_dir,
    load_calendar_file,
    load_node_calendars,
)
from nodes.cli.context import CliError, Ctx, open_node
from nodes.cli.parser import group, leaf
from nodes.clock_sync import SyncResult, sync_clocks
from nodes.domain.calendar import HolidayCalendar
from nodes.i18n import N_, _


def register(subparsers: Any) -> None:
    cals = group(subparsers, "calendar", _("holiday calendars and the deadlines counted with them"))
    p = leaf(cals, "list", _("the years this node has a holiday arrangement for"), json=True)
    p.set_defaults(handler=list_calendars)
    p = leaf(cals, "install", _("install a year's holiday arrangement and recompute the open "
                                "deadlines it moves"), json=True)
    p.add_argument("file", metavar="FILE", help=_("the year's calendar file (TOML)"))
    p.add_argument("--replace", action="store_true",
                   help=_("replace the file already installed for that year"))
    p.set_defaults(handler=install)
    p = leaf(cals, "recompute", _("recompute the open deadlines with the installed calendars "
                                  "(also done when the node starts)"), json=True)
    p.set_defaults(handler=recompute)


def list_calendars(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        days = node.service.rules.days
        own = node.config.calendar_dir
    rows = []
    for year in days.years:
        cal = days.calendar_for(year)
        assert cal is not None  # noqa: S101 - a listed year has its calendar
        rows.append({"year": year, "source": cal.source, "official": not cal.is_sample,
                     "provisional": days.provisional(year)})
    if args.json:
        ctx.emit_json({"calendar_dir": str(own) if own else None, "years": rows})
        return 0
    for row in rows:
        kind = _("official") if row["official"] else _("sample, not official")
        ctx.say(_("{year}: {kind}; source: {source}", year=row["year"], kind=kind,
                  source=row["source"]))
    ctx.say(_("other years: weekends and statutory holidays only; their deadlines are "
              "provisional until the year's arrangement is installed"))
    return 0


def install(args: argparse.Namespace, ctx: Ctx) -> int:
    source = Path(args.file)
    calendar = load_calendar_file(source)  # one sentence naming file and field if wrong
    with open_node(ctx) as node:
        folder = node.config.calendar_dir
        if folder is None:
            raise CliError("calendar_no_dir", N_(
                "config file {file}: field 'calendar_dir' is not set; set it to the folder "
                "where this node keeps its holiday calendars"), file=str(ctx.config_path))
        target = _check_target(folder, calendar, source, replace=args.replace)
        _write(target, source.read_bytes())
        # Interrupted from here on, the rest is recomputed when the node next starts.
        result = sync_clocks(node, replace(node.service.rules,
                                           days=load_node_calendars(folder)))
    _report(ctx, args, result, calendar=calendar, path=target)
    return 0


def recompute(args: argparse.Namespace, ctx: Ctx) -> int:
    with open_node(ctx) as node:
        result = sync_clocks(node)
    _report(ctx, args, result)
    return 0


def _check_target(folder: Path, calendar: HolidayCalendar, source: Path, *,
                  replace: bool) -> Path:
    """Where the file goes (`<year>.toml` in the node's folder), refusing a second file for the
    year and, without --replace, overwriting one."""
    if folder.resolve() == SHIPPED_HOLIDAY_DIR.resolve():
        raise CliError("calendar_shipped_dir", N_(
            "field 'calendar_dir' names the folder shipped with fengqiao; use a folder of "
            "this node's own"))
    target = folder / f"{calendar.year}.toml"
    if folder.exists():
        load_calendar_dir(folder)  # the folder as it is must load (else one sentence)
        for other in sorted(folder.glob("*.toml")):
            if other != target and load_calendar_file(other).year == calendar.year:
                raise CliError("calendar_year_taken", N_(
                    "calendar file {other} already defines year {year}; remove it first"),
                    other=str(other), year=calendar.year)
    same = target.exists() and source.resolve() == target.resolve()
    if target.exists() and not replace and not same:
        raise CliError("calendar_exists", N_(
            "{path} is already installed for year {year}; add --replace to replace it"),
            path=str(target), year=calendar.year)
    return target


def _write(target: Path, body: bytes) -> None:
    """Whole or not at all: a temporary file beside the target, then renamed over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".install-", suffix=".toml")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _report(ctx: Ctx, args: argparse.Namespace, result: SyncResult, *,
            calendar: HolidayCalendar | None = None, path: Path | None = None) -> None:
    if args.json:
        out: dict[str, Any] = {"cases": result.cases, "recomputed": result.recomputed,
                               "set": result.set}
        if calendar is not None:
            out.update(year=calendar.year, source=calendar.source, path=str(path))
        ctx.emit_json(out)
        return
    if calendar is not None:
        ctx.say(_("installed the {year} calendar (source: {source}) as {path}",
                  year=calendar.year, source=calendar.source, path=str(path)))
    ctx.say(_("deadlines recomputed: {moved}; deadlines set: {added}; cases changed: {cases}",
              moved=result.recomputed, added=result.set, cases=result.cases))
