"""What every command gets: the language, the config path, the clock, output helpers, the node.

`FENGQIAO_NOW` (an ISO time such as 2026-01-05T10:00:00+08:00; a time without an offset is read as
Beijing time) fixes the clock for tests and demos: every event is recorded at that instant and
"today" (for overdue checks and default dates) is its date. Unset, the system clock is used.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from nodes import i18n
from nodes.cli.i18n import message
from nodes.clock import Clock, FixedClock, SystemClock
from nodes.config import DEFAULT_CONFIG_NAME, NodeConfig, load_config
from nodes.domain.case import SHANGHAI, DomainError, local_date
from nodes.node import Node


class CliError(DomainError):
    """Bad input to the command line: one sentence (a catalogue message), exit code 2."""


class Build(Protocol):
    """The composition root as the CLI calls it (`fengqiao.bootstrap.bootstrap`)."""

    def __call__(self, config: NodeConfig, *, clock: Clock | None = None) -> Node: ...


def clock_from_env() -> Clock:
    raw = os.environ.get("FENGQIAO_NOW", "").strip()
    if not raw:
        return SystemClock()
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise bilingual("env_now_bad", value=raw) from None
    return FixedClock(at if at.tzinfo else at.replace(tzinfo=SHANGHAI))


def config_path_from(explicit: str | None) -> Path:
    """--config, else $FENGQIAO_CONFIG, else ./fengqiao.toml."""
    return Path(explicit or os.environ.get("FENGQIAO_CONFIG") or DEFAULT_CONFIG_NAME)


def bilingual(key: str, **kw: Any) -> CliError:
    """The command line's error `key` (nodes.cli.i18n), rendered in the reader's language when
    it is shown."""
    return CliError(key, message(key), **kw)


@dataclass
class Ctx:
    lang: str
    lang_explicit: bool
    config_path: Path
    build: Build
    clock: Clock = field(default_factory=SystemClock)
    user: str = ""  # who acts (`nodes.cli.acting`), recorded on every event
    role: str | None = None  # None: the command's default role

    def use_config_lang(self, lang: str) -> None:
        """The node's configured language applies unless --lang or FENGQIAO_LANG chose one."""
        if not self.lang_explicit:
            self.lang = lang
            i18n.switch(lang)

    def today(self) -> date:
        return local_date(self.clock.now())

    def say(self, text: str) -> None:
        sys.stdout.write(text + "\n")

    def emit_json(self, obj: Any) -> None:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


@contextmanager
def open_node(ctx: Ctx) -> Iterator[Node]:
    """Load the config (its `lang` applies unless --lang/FENGQIAO_LANG chose one), open the node."""
    path = ctx.config_path
    if not path.is_file():
        raise bilingual("config_missing", path=path)
    cfg = load_config(path)
    ctx.use_config_lang(cfg.lang)
    node = ctx.build(cfg, clock=ctx.clock)
    try:
        yield node
    finally:
        node.close()
