"""Node builders: a config as `node init` would write it, and a node wired by the one root.

Every node built here has its own fresh data key; nodes of one test share a salt so repeat
parties are found across them, as in a real network.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

from fengqiao.bootstrap import bootstrap
from nodes.clock import Clock
from nodes.config import SECRET_FIELDS, NodeConfig, without_password
from nodes.crypto import new_key
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from nodes.secrets import write_secrets
from protocol.areas import Tier, tier_of

SALT = "test-identity-key-not-secret"


def node_config(folder: Path, code: str, *, tier: Tier | None = None,
                broker_url: str = "memory://", **fields: Any) -> NodeConfig:
    """A valid config for `code` with its database in `folder`; `fields` override any field."""
    values: dict[str, Any] = {
        "node_id": code, "tier": tier or tier_of(code), "database": folder / f"{code}.db",
        "broker_url": broker_url, "identity_key": SALT, "data_key": new_key(),
        # Invented parties: the cheap party-hash profile (the standard one costs ~20 ms a hash).
        "identity_cost": "test",
        # The broker tests connect as guest (one shared user); the in-memory broker gives every
        # node its own user id, as RabbitMQ does with one user per node.
        "require_user_id": broker_url.startswith("memory://")}
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
    """A config file and its secrets file (0600), as `node init` writes them, for tests that go
    through `--config`."""
    config = node_config(folder, code, **fields)
    path = folder / f"{code}.toml"
    data = config.model_dump(mode="json", exclude_none=True)
    secrets = {k: data.pop(k, None) for k in SECRET_FIELDS}
    password = urllib.parse.urlsplit(config.broker_url).password
    if password:  # as `node init` does: the password goes to the secrets file
        secrets["broker_password"] = urllib.parse.unquote(password)
        data["broker_url"] = without_password(config.broker_url)
    data["secrets_file"] = f"{code}.secrets.toml"
    lines = [f'{k} = "{v}"' if not isinstance(v, bool | int) else f"{k} = {str(v).lower()}"
             for k, v in data.items() if not isinstance(v, list)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_secrets(folder / f"{code}.secrets.toml", secrets)
    return path
