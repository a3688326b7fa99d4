"""Enumerated options: each accepts its code or its name in Chinese or English, and its help
lists both (`--reason 未达成协议` works as well as `--reason no_agreement`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable

from nodes.cli.i18n import t
from nodes.cli.parser import unmask
from nodes.i18n import LANGS


def named_choice(codes: Iterable[str], name: Callable[[str, str | None], str],
                 what: str) -> tuple[Callable[[str], str], str]:
    """An argument type for these codes, named by `name(code, lang)`, and the help's list of
    choices ("code 名称, ..." in the current language)."""
    codes = list(codes)
    words: dict[str, str] = {}
    for code in codes:
        words[code] = code
        for lang in LANGS:
            words.setdefault(name(code, lang), code)
            words.setdefault(name(code, lang).lower(), code)

    def parse(value: str) -> str:
        raw = unmask(value).strip()
        code = words.get(raw) or words.get(raw.lower())
        if code is None:
            raise argparse.ArgumentTypeError(t("choice_bad", value=raw, what=what,
                                               choices=listing))
        return code

    parse.__name__ = what
    listing = ", ".join(f"{code} {name(code, None)}" for code in codes)
    return parse, listing
