"""Text people type and terminals print: refuse what cannot be seen on input, strip it on output.

An ANSI escape in a case's facts turned a mediator's terminal red; a right-to-left override in
a name shows it reversed and hides what it really holds. Such characters (C0 and C1 controls,
DEL, and the bidirectional embeddings, overrides, isolates and marks) are refused in names and
facts as they are entered, with one sentence, and stripped from everything `case show`, `case
list` and `case find` print, whatever a file already holds or another node sent. Facts keep
their line breaks and tabs; a name keeps neither.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, TypeVar, cast

from nodes.domain.case import DomainError
from protocol.messages import MAX_TEXT
from protocol.text import N_

# Controls except tab and newline, DEL and C1; ALM, LRM, RLM; LRE..RLO; LRI..PDI.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A terminal's escape sequences whole (CSI, as 7-bit ESC [ and 8-bit U+009B, and OSC), so that
# no "[31m" is left behind once the ESC is gone.
_SEQUENCE = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
_LINE = re.compile("[\t\n]")
T = TypeVar("T")
_IGNORED_IN_SEARCH = re.compile(r"[\s·・•．.\-]")  # spaces and the dots between name parts


def printable(text: str) -> str:
    """`text` without terminal escape sequences, control and text-direction characters (tab
    and newline kept)."""
    return UNSAFE.sub("", _SEQUENCE.sub("", text))


def printable_tree(value: T) -> T:
    """The same for every string in a JSON-like structure (keys included; a tuple comes back
    as a list, as JSON has it)."""
    return cast(T, _cleaned(value))


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {_cleaned(k): _cleaned(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned(v) for v in value]
    return value


def check_name(name: str) -> str:
    """A party's name without surrounding spaces, or DomainError if it holds a control or
    text-direction character (or a line break or tab)."""
    if UNSAFE.search(name) or _LINE.search(name):
        raise DomainError("party_name_control", N_(
            "a party's name contains control or text-direction characters; type it again "
            "without them"))
    return name.strip()


def check_facts(facts: str) -> str:
    """The facts with Windows line ends made plain and surrounding spaces removed, or
    DomainError if they hold a control or text-direction character, or are too long to travel
    up the tiers (the protocol's limit)."""
    text = facts.replace("\r\n", "\n").strip()
    if UNSAFE.search(text):
        raise DomainError("facts_control", N_(
            "the facts contain control or text-direction characters (such as a terminal colour "
            "code); remove them"))
    if len(text) > MAX_TEXT:
        raise DomainError("facts_too_long", N_(
            "the facts are {length} characters, more than the limit of {limit}"),
            length=len(text), limit=MAX_TEXT)
    return text


def search_key(text: str) -> str:
    """What a search compares: compatibility forms (full-width letters and digits) folded, case
    folded, without spaces, dots between name parts, or unseen characters."""
    folded = unicodedata.normalize("NFKC", printable(text)).casefold()
    return _IGNORED_IN_SEARCH.sub("", folded)
