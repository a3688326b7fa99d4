"""The one composition root: a config file in, a wired node out. Real or fake adapters are chosen here.

No key, no node: personal data is sealed at rest with the node's `data_key` (or
`FENGQIAO_DATA_KEY`), and a node without one refuses to start rather than store names in the
clear. `fengqiao node init` and the demo write a fresh key into every config they create.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nodes.calendar_loader import load_calendar_dir
from nodes.config import ConfigError, NodeConfig, load_config
from nodes.crypto import KEY_ENV, DataCipher, DataKeyError, configured_key
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


def cipher_for(config: NodeConfig) -> DataCipher:
    """The node's data key as a cipher, or ConfigError naming `data_key`."""
    key = configured_key(config.data_key)
    if key is None:
        raise ConfigError(f"no data_key: set data_key in the node's config file (`fengqiao audit "
                          f"new-key` prints one) or the environment variable {KEY_ENV}, because "
                          "personal data is never stored unencrypted")
    try:
        return DataCipher(key)
    except DataKeyError as exc:
        raise ConfigError(str(exc)) from None


def bootstrap(config: NodeConfig | str | Path, clock: Clock | None = None,
              store: SqliteStore | None = None) -> Node:
    cfg = config if isinstance(config, NodeConfig) else load_config(config)
    cipher = cipher_for(cfg)
    store = store or SqliteStore(cfg.database, cipher=cipher)
    service = CaseService(store, clock or SystemClock(), node_id=cfg.node_id, tier=cfg.tier,
                          rules=rules_for(cfg), salt=cfg.party_hash_salt, parent=cfg.parent_id)
    return Node(cfg, store, service)
