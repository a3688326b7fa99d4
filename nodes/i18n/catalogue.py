"""Upkeep of the one catalogue with Babel: extract every message id, update the `.po` files,
compile the `.mo` files, and check that nothing is missing or stale.

    python -m nodes.i18n.catalogue update   # after changing any user-facing text
    python -m nodes.i18n.catalogue check    # what the test suite runs (exit 1 with the reason)

Message ids come from our packages (`N_`, `_`, `NP_`/`pt` with a context, `DisputeType` names)
and from argparse's own messages (its `_`/`ngettext`), so the command line's usage errors are in
the catalogue too. English is the source language: the English catalogue repeats each id as its
own translation, so that a missing English entry is as visible as a missing Chinese one.
Needs Babel (the `dev` and `test` extras); the running program only reads the `.mo` files.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from nodes.i18n import DOMAIN, LOCALE_DIR, LOCALES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("protocol", "nodes", "hub", "demo", "ops", "fengqiao", "bench")
KEYWORDS: dict[str, Any] = {
    "_": None, "N_": None, "NP_": ((1, "c"), 2), "pt": ((1, "c"), 2), "DisputeType": (2,),
    "ngettext": (1, 2),
}
METHODS = [("**.py", "python")]
TEMPLATES = ("**/templates/**.html", "jinja2")  # the web app's pages (when there are any)
POT = LOCALE_DIR / f"{DOMAIN}.pot"


def _po(lang: str) -> Path:
    return LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


def _mo(lang: str) -> Path:
    return _po(lang).with_suffix(".mo")


def _found() -> Iterator[tuple[str, Any, str | None]]:
    """(file, message id or (singular, plural), context) for every marked text."""
    for package in PACKAGES:
        folder = ROOT / package
        methods = [*METHODS]
        if any(folder.glob("**/templates/*.html")):
            methods.append(TEMPLATES)
        for name, _line, message, _comments, context in extract_from_dir(
                str(folder), methods, keywords=KEYWORDS):
            yield f"{package}/{name}", message, context
    for _line, message, _comments, context in extract_from_file(
            "python", argparse.__file__, keywords=KEYWORDS):
        yield "argparse.py", message, context


def template() -> Catalog:
    """Every message id the code uses, as a fresh catalogue template."""
    pot = Catalog(domain=DOMAIN, project="fengqiao", charset="utf-8")
    for where, message, context in _found():
        if message and message != "" and message != ("", ""):
            pot.add(message, locations=[(where, 0)], context=context)
    return pot


def _read(path: Path, locale: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=locale, domain=DOMAIN, charset="utf-8")
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def update(extra: dict[str, str] | None = None) -> None:
    """Write the template, update both catalogues from it (keeping translations), fill the
    English one from the ids, and compile both. `extra` (id -> Chinese) fills missing Chinese."""
    pot = template()
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with POT.open("wb") as fh:
        write_po(fh, pot, omit_header=False, sort_output=True, width=100)
    for lang, locale in LOCALES.items():
        catalog = _read(_po(lang), locale)
        catalog.update(template(), no_fuzzy_matching=True)  # its own copy: update shares messages
        catalog.obsolete.clear()
        for message in catalog:
            if not message.id:
                continue
            if lang == "en" and (not _translated(message.string) or not _english(message)):
                message.string = message.id
            if lang == "zh" and extra and not _translated(message.string):
                key = message.id if isinstance(message.id, str) else message.id[0]
                key = f"{message.context}\x04{key}" if message.context else key
                if key in extra:
                    text = extra[key]
                    message.string = (text,) if isinstance(message.id, tuple) else text
            message.flags.discard("fuzzy")
        _po(lang).parent.mkdir(parents=True, exist_ok=True)
        with _po(lang).open("wb") as fh:
            write_po(fh, catalog, sort_output=True, width=100)
        with _mo(lang).open("wb") as fh:
            write_mo(fh, catalog)


def _english(message: Any) -> bool:
    """An English entry must not hold another language (CJK) unless its id does."""
    def cjk(text: Any) -> bool:
        texts = text if isinstance(text, tuple | list) else (text,)
        return any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"
                   for t in texts for ch in str(t))
    return cjk(message.id) or not cjk(message.string)


def _translated(string: Any) -> bool:
    if isinstance(string, tuple | list):
        return bool(string) and all(bool(s) for s in string)
    return bool(string)


def problems() -> list[str]:
    """What is wrong with the catalogue: ids in the code but missing or untranslated in a
    language, ids in a catalogue the code no longer has, and `.mo` files older than their `.po`."""
    wanted = {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in template() if m.id}
    found: list[str] = []
    for lang, locale in LOCALES.items():
        catalog = _read(_po(lang), locale)
        have = {(m.id if isinstance(m.id, str) else m.id[0], m.context): m
                for m in catalog if m.id}
        for key in sorted(wanted - set(have), key=str):
            found.append(f"{lang}: no entry for {key[0]!r}" + (f" ({key[1]})" if key[1] else ""))
        for key in sorted(set(have) - wanted, key=str):
            found.append(f"{lang}: {key[0]!r} is no longer used")
        for key in sorted(wanted & set(have), key=str):
            if not _translated(have[key].string) or "fuzzy" in have[key].flags:
                found.append(f"{lang}: {key[0]!r} is not translated")
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        if not _mo(lang).exists() or _mo(lang).read_bytes() != compiled.getvalue():
            found.append(f"{lang}: {_mo(lang).name} is not compiled from {_po(lang).name}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["update", "check"])
    args = parser.parse_args(argv)
    if args.action == "update":
        update()
    found = problems()
    for line in found:
        print(line, file=sys.stderr)
    if args.action == "update" and found:
        print(f"{len(found)} problems: translate the entries above in {_po('zh')}, then run "
              "update again", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
