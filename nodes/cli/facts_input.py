"""`--facts TEXT`, `--facts -` (standard input) and `--facts-file PATH`: long facts need not be
typed on the command line (a shell quotes badly; a written statement is already in a file).

The file or stream is read as UTF-8 (a byte-order mark is dropped, Windows line ends made plain)
and bounded: no more than the protocol's text limit is ever read, so a wrong file (a video) is
refused with one sentence instead of filling memory. What may be in the facts is checked where
every path meets (`nodes.text_input.check_facts`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import BinaryIO

from nodes.cli.context import CliError
from nodes.i18n import N_, _
from protocol.messages import MAX_TEXT

STDIN = "-"
MAX_BYTES = MAX_TEXT * 4  # UTF-8 takes at most 4 bytes a character


def add_facts_options(parser: argparse.ArgumentParser, *, required: bool, help_text: str) -> None:
    """--facts and --facts-file, one of them (`required`) but never both."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--facts", metavar="TEXT",
                       help=help_text + _(" ('-' reads them from standard input)"))
    group.add_argument("--facts-file", metavar="PATH",
                       help=_("read the facts from this UTF-8 text file"))


def facts_of(args: argparse.Namespace) -> str | None:
    """The facts the options give (None if neither was given); CliError if they cannot be read."""
    if args.facts_file is not None:
        path = Path(args.facts_file)
        try:
            with path.open("rb") as stream:
                return _decoded(_bounded(stream), str(path))
        except OSError as exc:
            raise CliError("facts_file_unreadable", N_(
                "cannot read the facts file {path} ({detail})"), path=str(path),
                detail=exc.strerror or type(exc).__name__) from None
    if args.facts == STDIN:
        try:
            return _decoded(_bounded(sys.stdin.buffer), _("standard input"))
        except OSError as exc:  # closed, or not readable (a service without one)
            raise CliError("facts_stdin_unreadable", N_(
                "cannot read the facts from standard input ({detail})"),
                detail=exc.strerror or type(exc).__name__) from None
    facts: str | None = args.facts
    return facts


def _bounded(stream: BinaryIO) -> bytes:
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise CliError("facts_input_long", N_(
            "the facts given are longer than the limit of {limit} characters"), limit=MAX_TEXT)
    return data


def _decoded(data: bytes, source: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CliError("facts_not_utf8", N_(
            "the facts in {source} are not UTF-8 text (save the file as UTF-8)"),
            source=source) from None
    return text.replace("\r\n", "\n")
