"""Node builders: a config as `node init` would write it, and a node wired by the one root.

Every node built here has its own fresh data key; nodes of one test share a salt so repeat
parties are found across them, as in a real network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fengqiao.bootstrap import bootstrap
from nodes.clock import Clock
from nodes.config import NodeConfig
from nodes.crypto import new_key
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from protocol.areas import Tier, tier_of

SALT = "test-salt-not-secret"


def node_config(folder: Path, code: str, *, tier: Tier | None = None,
                broker_url: str = "memory://", **fields: Any) -> NodeConfig:
    """A valid config for `code` with its database in `folder`; `fields` override any field."""
    values: dict[str, Any] = {
        "node_id": code, "tier": tier or tier_of(code), "database": folder / f"{code}.db",
        "broker_url": broker_url, "party_hash_salt": SALT, "data_key": new_key()}
    values.update(fields)
    return NodeConfig(**values)


def build_node(folder: Path, code: str, *, broker: MemoryBroker | None = None,
               clock: Clock | None = None, declare: bool = True, **fields: Any) -> Node:
    """A node on the in-memory broker (`broker`, else a fresh one of its own) or, with
    `broker_url=`, on RabbitMQ; its queue declared unless `declare=False`."""
    config = node_config(folder, code, **fields)
    node = bootstrap(config, clock=clock, broker=broker or MemoryBroker())
    if declare:
        node.declare()
    return node


def write_config(folder: Path, code: str, **fields: Any) -> Path:
    """A config file, as `node init` writes one, for tests that go through `--config`."""
    config = node_config(folder, code, **fields)
    path = folder / f"{code}.toml"
    lines = [f'{k} = "{v}"' if not isinstance(v, bool | int) else f"{k} = {str(v).lower()}"
             for k, v in config.model_dump(mode="json", exclude_none=True).items()
             if not isinstance(v, list)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
