"""What every command gets: the language, the config path, the clock, output helpers, the node.

`FENGQIAO_NOW` (an ISO time such as 2026-01-05T10:00:00+08:00; a time without an offset is read as
Beijing time) fixes the clock for tests and demos: every event is recorded at that instant and
"today" (for overdue checks and default dates) is its date. Unset, the system clock is used.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from nodes.cli.i18n import t
from nodes.cli.labels import tier_label
from nodes.clock import Clock, FixedClock, SystemClock
from nodes.config import DEFAULT_CONFIG_NAME, NodeConfig, load_config
from nodes.domain.case import SHANGHAI, DomainError, local_date
from nodes.node import Node
from nodes.store.errors import StoreError
from protocol.areas import Tier, tier_of


class CliError(DomainError):
    """Bad input to the command line: one sentence in each language, exit code 2."""


class Build(Protocol):
    """The composition root as the CLI calls it (`fengqiao.bootstrap.bootstrap`)."""

    def __call__(self, config: NodeConfig, *, clock: Clock | None = None) -> Node: ...


def clock_from_env(lang: str) -> Clock:
    raw = os.environ.get("FENGQIAO_NOW", "").strip()
    if not raw:
        return SystemClock()
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise CliError(t("env_now_bad", "zh", value=raw), t("env_now_bad", "en", value=raw)) \
            from None
    return FixedClock(at if at.tzinfo else at.replace(tzinfo=SHANGHAI))


def config_path_from(explicit: str | None) -> Path:
    """--config, else $FENGQIAO_CONFIG, else ./fengqiao.toml."""
    return Path(explicit or os.environ.get("FENGQIAO_CONFIG") or DEFAULT_CONFIG_NAME)


def bilingual(key: str, **kw: Any) -> CliError:
    return CliError(t(key, "zh", **kw), t(key, "en", **kw))


@dataclass
class Ctx:
    lang: str
    lang_explicit: bool
    config_path: Path
    build: Build
    clock: Clock = field(default_factory=SystemClock)

    def today(self) -> date:
        return local_date(self.clock.now())

    def say(self, text: str) -> None:
        sys.stdout.write(text + "\n")

    def emit_json(self, obj: Any) -> None:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


def _check_tier(path: Path) -> None:
    """Name the field when `tier` contradicts `node_id` (the model reports it file-wide)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        code, derived, tier = raw["node_id"], tier_of(raw["node_id"]), Tier(raw["tier"])
    except Exception:  # anything else wrong is reported by load_config
        return
    if tier is not derived:
        zh = t("config_tier", "zh", path=path, tier=tier.value, code=code,
               derived=tier_label(derived.value, "zh"))
        raise CliError(zh, t("config_tier", "en", path=path, tier=tier.value, code=code,
                             derived=derived.value))


@contextmanager
def open_node(ctx: Ctx) -> Iterator[Node]:
    """Load the config (its `lang` applies unless --lang/FENGQIAO_LANG chose one), open the node."""
    path = ctx.config_path
    if not path.is_file():
        raise bilingual("config_missing", path=path)
    _check_tier(path)
    cfg = load_config(path)
    if not ctx.lang_explicit:
        ctx.lang = cfg.lang
    try:
        node = ctx.build(cfg, clock=ctx.clock)
    except StoreError as exc:
        raise bilingual("db_open", path=cfg.database, detail=exc.detail) from None
    try:
        yield node
    finally:
        node.close()
