"""The one translation catalogue: gettext `.po`/`.mo` files managed with Babel, Simplified
Chinese first, English second (DESIGN §5).

Message ids are the English sentences (`{name}` placeholders). The language of the text being
made is a context variable (`language(lang)`): the command line sets it once per command, the web
app once per request, and `_()` reads it. `t(msgid, lang)` names a language explicitly.
Catalogue upkeep (extract, update, compile, check) is `python -m nodes.i18n.catalogue`.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from protocol.text import N_, Code, Phrase, Translatable, fill

__all__ = ["DEFAULT_LANG", "LANGS", "NP_", "N_", "_", "current", "language", "pt", "render", "t"]

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
DOMAIN = "fengqiao"
LOCALE_DIR = Path(__file__).parent / "locale"
LOCALES = {"zh": "zh_CN", "en": "en"}  # our language names -> gettext locale folders

# How a `Code` parameter is named, by kind (filled in by `nodes.labels`, which names states,
# actions, tiers...): kind -> (code, lang) -> name.
LABELLERS: dict[str, Callable[[str, str | None], str]] = {}

_current: ContextVar[str] = ContextVar("fengqiao_language", default=DEFAULT_LANG)


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of `lang` (zh or en)."""
    return gettext.translation(DOMAIN, LOCALE_DIR, [LOCALES[lang]])


def current() -> str:
    return _current.get()


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Make `lang` the language of `_()` inside the block (this thread or task only)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {LANGS}")
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def switch(lang: str) -> None:
    """Change the current language for the rest of the enclosing `language()` block (a command
    that learns the node's configured language after it started)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {LANGS}")
    _current.set(lang)


def _params(lang: str, params: dict[str, Any]) -> dict[str, Any]:
    return {k: _param(v, lang) for k, v in params.items()}


def _param(value: Any, lang: str) -> Any:
    if isinstance(value, Translatable | Phrase):
        return render(value, lang)
    if isinstance(value, Code):
        labeller = LABELLERS.get(value.kind)
        return labeller(value.value, lang) if labeller else value.value
    return value


def t(msgid: str, lang: str | None = None, /, **params: Any) -> str:
    """`msgid` in `lang` (the current language if None), its `{placeholders}` filled."""
    lang = lang or _current.get()
    return fill(translations(lang).gettext(msgid), _params(lang, params))


def pt(context: str, msgid: str, lang: str | None = None, /, **params: Any) -> str:
    """Like `t`, for a short word whose meaning depends on `context` (a state, a role)."""
    lang = lang or _current.get()
    return fill(translations(lang).pgettext(context, msgid), _params(lang, params))


def _(msgid: str, /, **params: Any) -> str:
    """`msgid` in the current language."""
    return t(msgid, None, **params)


def render(error: Translatable | Phrase, lang: str | None = None) -> str:
    """A translatable error's (or phrase's) sentence in `lang` (the current language if None)."""
    return t(error.message, lang, **error.params)


def NP_(context: str, message: str) -> str:
    """Mark `message` (in `context`) as a catalogue message id; returns it unchanged."""
    return message
