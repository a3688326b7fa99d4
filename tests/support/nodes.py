"""Node builders: a config as `node init` would write it, and a node wired by the one root.

Every node built here has its own fresh data key; nodes of one test share a salt so repeat
parties are found across them, as in a real network. Message keys: a node built in code takes its
pair from the process's keyring (`nodes.keyring`); a config written to a file gets the same pair in
its secrets file and names one keys.json that lists every node this test process has keys for (a
node reads it again when it grows), so nodes in child processes verify each other too.
"""

from __future__ import annotations

import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

from fengqiao.bootstrap import bootstrap
from nodes.clock import Clock
from nodes.config import SECRET_FIELDS, NodeConfig, without_password
from nodes.crypto import new_key
from nodes.keyring import process_keyring
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from nodes.secrets import write_secrets
from protocol.areas import Tier, tier_of
from protocol.keydir import save_directory

SALT = "test-identity-key-not-secret"
_KEYS_JSON: list[Path] = []  # the one keys.json of this test process, made on first use


def shared_keys_file(*codes: str) -> Path:
    """The process's keys.json, written again with these nodes' keys added (the process
    keyring's whole directory)."""
    keyring = process_keyring()
    for code in codes:
        keyring.pair(code)
    if not _KEYS_JSON:
        _KEYS_JSON.append(Path(tempfile.mkdtemp(prefix="fengqiao-test-keys-")) / "keys.json")
    save_directory(_KEYS_JSON[0], keyring.directory())
    return _KEYS_JSON[0]


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
        "require_user_id": broker_url.startswith("memory://"),
        # The shared test broker is not set up by `deploy apply`: nodes declare what they use.
        "declare_topology": True,
        # No web app unless a test asks for one: many nodes run side by side here.
        "web": {"listen": ""}}
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
    if "signing_key" not in fields and "keys_file" not in fields:  # as `node init` and deploy
        parent = config.parent_id
        secrets.update(process_keyring().secrets(code))
        data["keys_file"] = str(shared_keys_file(code, *([parent] if parent else [])))
    password = urllib.parse.urlsplit(config.broker_url).password
    if password:  # as `node init` does: the password goes to the secrets file
        secrets["broker_password"] = urllib.parse.unquote(password)
        data["broker_url"] = without_password(config.broker_url)
    data["secrets_file"] = f"{code}.secrets.toml"
    lines = [f'{k} = "{v}"' if not isinstance(v, bool | int) else f"{k} = {str(v).lower()}"
             for k, v in data.items() if not isinstance(v, list | dict)]
    for table, values in ((k, v) for k, v in data.items() if isinstance(v, dict)):
        lines.append(f"[{table}]")
        lines += [f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {str(v).lower()}"
                  for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_secrets(folder / f"{code}.secrets.toml", secrets)
    return path
