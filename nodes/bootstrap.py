"""The one composition root: a config file in, a wired node out. Real or fake adapters are chosen here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nodes.calendar_loader import load_calendar_dir
from nodes.config import NodeConfig, load_config
from nodes.domain.calendar import WorkingDays
from nodes.domain.case import Rules
from nodes.service import CaseService, Clock, SystemClock
from nodes.store.sqlite_store import SqliteStore


@dataclass
class Node:
    config: NodeConfig
    store: SqliteStore
    service: CaseService

    def close(self) -> None:
        self.store.close()


def rules_for(config: NodeConfig) -> Rules:
    """Without an operator calendar, deadlines count weekends only and their records say so."""
    days = load_calendar_dir(config.calendar_dir) if config.calendar_dir else WorkingDays.empty()
    return Rules(target_days=config.target_days, max_extension_days=config.max_extension_days,
                 days=days)


def bootstrap(config: NodeConfig | str | Path, clock: Clock | None = None,
              store: SqliteStore | None = None) -> Node:
    cfg = config if isinstance(config, NodeConfig) else load_config(config)
    store = store or SqliteStore(cfg.database)
    service = CaseService(store, clock or SystemClock(), node_id=cfg.node_id, tier=cfg.tier,
                          rules=rules_for(cfg), salt=cfg.party_hash_salt)
    return Node(cfg, store, service)
