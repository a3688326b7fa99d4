"""Where a node's message keys come from (issue 15 item 3): its own private keys and the network's
public key directory (`keys.json`).

Two sources, and no third:

- a node run from a config file (every `node run`, `hub run`, CLI command, the demo): its
  `signing_key` and `sealing_key` from its secrets file, and the directory from `keys_file`
  (default `keys.json` beside the config). Missing or unusable, the program stops with one
  sentence naming the field. The file is read again when it changes (a distributed `keys.json`
  takes effect without a restart; a broken one is ignored, logged, and the last good one kept);
- a node built in code with no keys at all (`NodeConfig` with neither keys nor `keys_file`: the
  unit and in-process tests): a `LocalKeyring`, the one given to the composition root or else the
  process's own, generates a key pair per node on first use and lists it in its in-memory
  directory. Only nodes of the same keyring can then verify and open each other's messages, which
  is exactly an in-process network. Signing and sealing are never switched off.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from nodes.config import ConfigError, NodeConfig
from protocol.areas import validate_code
from protocol.keydir import KeyDirectory, PublicKeys, load_directory, pick_signing_key
from protocol.keys import TrustError, b64encode, load_sealing_keys, load_signing_keys
from protocol.text import N_

log = structlog.get_logger("fengqiao.keys")


class DirectorySource(Protocol):
    def directory(self) -> KeyDirectory:
        """The public key directory as it is now."""


@dataclass(frozen=True)
class NodeKeys:
    """One node's private keys (newest first) and where it reads the network's public keys."""

    node_id: str
    signing: tuple[Ed25519PrivateKey, ...]
    sealing: tuple[X25519PrivateKey, ...]
    source: DirectorySource

    def directory(self) -> KeyDirectory:
        return self.source.directory()


class FileDirectory:
    """`keys.json`, read at start (an error stops the node) and again whenever the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp = self._stat()
        self._directory = load_directory(path)  # DirectoryError: the caller names the field
        self._lock = threading.Lock()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def directory(self) -> KeyDirectory:
        stamp = self._stat()
        if stamp is not None and stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._stamp = stamp
                    try:
                        self._directory = load_directory(self.path)
                        log.info("keys.reloaded", nodes=len(self._directory.entries))
                    except TrustError as exc:
                        log.error("keys.reload_failed", reason=str(exc))  # keep the last good one
        return self._directory


@dataclass(frozen=True)
class _DerivedDirectory(KeyDirectory):
    """A seeded keyring's directory: it lists every node, its pair made when first asked for."""

    ring: LocalKeyring | None = None

    def keys_of(self, node: str) -> tuple[PublicKeys, ...]:
        if node in self.entries or self.ring is None:
            return super().keys_of(node)
        try:
            validate_code(node)
        except ValueError:  # AreaCodeError: not a node
            return ()
        self.ring.pair(node)
        return self.ring.directory().keys_of(node)


class LocalKeyring:
    """The keys of an in-process network: a fresh pair per node on first use, and one directory.

    `derived(seed)` makes the pairs from a seed, so the processes of one bench run agree on them
    without passing keys around, and its directory lists any node asked for: anyone who knows the
    seed holds every key, so never for real data."""

    def __init__(self, seed: str | None = None) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._private: dict[str, tuple[Ed25519PrivateKey, X25519PrivateKey]] = {}
        self._directory = KeyDirectory()

    @classmethod
    def derived(cls, seed: str) -> LocalKeyring:
        return cls(seed)

    def _new_pair(self, node_id: str) -> tuple[Ed25519PrivateKey, X25519PrivateKey]:
        if self._seed is None:
            return Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
        def raw(kind: str) -> bytes:
            return hashlib.sha256(f"{self._seed}|{node_id}|{kind}".encode()).digest()
        return (Ed25519PrivateKey.from_private_bytes(raw("signing")),
                X25519PrivateKey.from_private_bytes(raw("sealing")))

    def pair(self, node_id: str) -> tuple[Ed25519PrivateKey, X25519PrivateKey]:
        """This node's pair, made and listed on first use."""
        with self._lock:
            if node_id not in self._private:
                signing, sealing = self._private[node_id] = self._new_pair(node_id)
                self._directory = self._directory.with_keys(node_id,
                                                            PublicKeys.of(signing, sealing))
            return self._private[node_id]

    def secrets(self, node_id: str) -> dict[str, str]:
        """The pair as a secrets file holds it (tests that write configs to files)."""
        signing, sealing = self.pair(node_id)
        return {"signing_key": b64encode(signing.private_bytes_raw()),
                "sealing_key": b64encode(sealing.private_bytes_raw())}

    def node_keys(self, node_id: str) -> NodeKeys:
        signing, sealing = self.pair(node_id)
        return NodeKeys(node_id, (signing,), (sealing,), self)

    def directory(self) -> KeyDirectory:
        with self._lock:
            if self._seed is not None:
                return _DerivedDirectory(self._directory.entries, self)
            return self._directory


_PROCESS = LocalKeyring()


def process_keyring() -> LocalKeyring:
    """The keyring of in-code nodes given no other (as `default_broker` is their broker)."""
    return _PROCESS


K = TypeVar("K", Ed25519PrivateKey, X25519PrivateKey)


def _loaded(text: str | None, field: str, node: str,
            loader: Callable[[str | None], tuple[K, ...]]) -> tuple[K, ...]:
    if not text:
        raise ConfigError("no_message_keys", N_(
            "no {field}: set signing_key and sealing_key in the secrets file of node {node} "
            "(`fengqiao node keys` writes a fresh pair), because every message is signed and "
            "personal data is sealed"), field=field, node=node)
    try:
        return loader(text)
    except TrustError as exc:
        raise ConfigError("bad_message_key", N_("field '{field}': {detail}"), field=field,
                          detail=str(exc)) from None


def keys_for(config: NodeConfig, keyring: LocalKeyring | None = None) -> NodeKeys:
    """The node's keys (see the module's docstring), checked: ConfigError names the field."""
    if config.keys_file is None and config.signing_key is None and config.sealing_key is None:
        local = keyring or process_keyring()
        if config.parent_id is not None:  # listed now: an escalation is sealed to it at once
            local.pair(config.parent_id)
        return local.node_keys(config.node_id)
    if keyring is not None:
        raise ValueError("a node with keys of its own takes no in-process keyring")
    signing = _loaded(config.signing_key, "signing_key", config.node_id, load_signing_keys)
    sealing = _loaded(config.sealing_key, "sealing_key", config.node_id, load_sealing_keys)
    if config.keys_file is None:
        raise ConfigError("no_keys_file", N_(
            "field 'keys_file' is missing: name the network's public keys file (keys.json)"))
    try:
        source = FileDirectory(config.keys_file)
        pick_signing_key(signing, source.directory(), config.node_id)
    except TrustError as exc:
        raise ConfigError("bad_keys_file", N_(
            "field 'keys_file': {detail} (get the network's keys.json from `fengqiao deploy "
            "keys`)"), detail=str(exc)) from None
    return NodeKeys(config.node_id, signing, sealing, source)
