"""Sentences people read, in the form the translation catalogue renders them (DESIGN §5).

Code that refuses something says *what* with a code and an English template (the catalogue's
message id) plus parameters; the edge (command line, web page) picks the language. `N_` marks a
template for extraction (Babel) without translating it here, so this module needs no catalogue.
"""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark `message` as a catalogue message id; returns it unchanged."""
    return message


def fill(template: str, params: dict[str, Any]) -> str:
    """The template with its parameters, `{name}` style (a template without any is left alone)."""
    return template.format(**params) if params else template


class Code:
    """A code shown by its name in the reader's language where it is rendered (a state, an
    action, a tier): `kind` says which table names it; `str()` is the code itself."""

    def __init__(self, kind: str, value: str) -> None:
        self.kind, self.value = kind, value

    def __str__(self) -> str:
        return self.value


class Phrase:
    """A piece of text to be translated where it is shown (a weekday, a field's problem), for
    use as a parameter of a Translatable."""

    def __init__(self, message: str, /, **params: Any) -> None:
        self.message, self.params = message, params

    def __str__(self) -> str:
        return fill(self.message, {k: str(v) for k, v in self.params.items()})


WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
            N_("Saturday"), N_("Sunday"))


class Translatable(Exception):
    """An error with a code, an English template (a message id) and parameters: the text is
    chosen where it is shown. `str()` is the English sentence (for logs and quarantine reasons).
    A parameter may itself be Translatable (a detail rendered in the same language)."""

    def __init__(self, code: str, message: str, /, **params: Any) -> None:
        self.code, self.message, self.params = code, message, params
        super().__init__(fill(message, {k: str(v) for k, v in params.items()}))

    @property
    def english(self) -> str:
        return str(self)
