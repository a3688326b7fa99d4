"""The public key directory (`keys.json`): every node's public signing and sealing keys, distributed
with the topology (issue 15 item 3). It holds no secret.

    {"version": 1,
     "nodes": {"330681111242": [
        {"kid": "<16 hex: key id of the signing key>", "signing": "<urlsafe b64 Ed25519 public>",
         "sealing": "<urlsafe b64 X25519 public>", "not_after": "2026-07-01T00:00:00+08:00"}]}}

A node may be listed with several entries, oldest first. A receiver accepts a signature by any
listed entry of the sender whose `not_after` (optional, an ISO time with a zone) has not passed;
a sender seals to the recipient's newest (last) such entry.

Rotation, with no message refused on the way:
  1. the node prepends new keys to its secrets (`signing_key = "NEW OLD"`, same for sealing);
     it keeps signing with OLD and can already open what is sealed to NEW;
  2. its public file (`export_public`) now lists OLD (with a `not_after`) then NEW; gathered into
     `keys.json` and distributed, senders seal to NEW and the node signs with NEW
     (`pick_signing_key` takes its newest key the directory lists);
  3. after `not_after`, OLD is dropped from the secrets and from `keys.json` (`without_key`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from protocol.areas import AreaCodeError, validate_code
from protocol.keys import (
    DirectoryError,
    UnknownRecipient,
    UnknownSigner,
    key_id,
    load_sealing_keys,
    load_sealing_public,
    load_signing_keys,
    load_signing_public,
    public_text,
)

DIRECTORY_VERSION = 1
KEYS_FILE_NAME = "keys.json"
MAX_DIRECTORY_BYTES = 4_000_000  # ~20,000 entries: far above any city's network
_FIELDS = {"kid", "signing", "sealing", "not_after"}


@dataclass(frozen=True)
class PublicKeys:
    """One entry of a node: a signing and a sealing public key, valid until `not_after` if set."""

    signing: Ed25519PublicKey
    sealing: X25519PublicKey
    not_after: datetime | None = None
    kid: str = field(init=False)          # key id of the signing key (named in signatures)
    sealing_kid: str = field(init=False)  # key id of the sealing key (named in sealed tokens)

    def __post_init__(self) -> None:
        if self.not_after is not None and self.not_after.tzinfo is None:
            raise DirectoryError("not_after must carry a time zone")
        object.__setattr__(self, "kid", key_id(self.signing))
        object.__setattr__(self, "sealing_kid", key_id(self.sealing))

    @classmethod
    def of(cls, signing: Ed25519PrivateKey, sealing: X25519PrivateKey,
           not_after: datetime | None = None) -> PublicKeys:
        return cls(signing.public_key(), sealing.public_key(), not_after)

    def valid_at(self, now: datetime) -> bool:
        return self.not_after is None or now <= self.not_after

    def same_keys(self, other: PublicKeys) -> bool:
        return (self.kid, self.sealing_kid) == (other.kid, other.sealing_kid)

    def as_json(self) -> dict[str, str]:
        out = {"kid": self.kid, "signing": public_text(self.signing),
               "sealing": public_text(self.sealing)}
        if self.not_after is not None:
            out["not_after"] = self.not_after.isoformat()
        return out


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


@dataclass(frozen=True)
class KeyDirectory:
    """Node id -> its entries, oldest first. Immutable: changes return a new directory."""

    entries: Mapping[str, tuple[PublicKeys, ...]] = field(default_factory=dict)

    def nodes(self) -> list[str]:
        return sorted(self.entries)

    def keys_of(self, node: str) -> tuple[PublicKeys, ...]:
        return self.entries.get(node, ())

    def verifying_key(self, node: str, kid: str, now: datetime | None = None) -> Ed25519PublicKey:
        """The sender's listed signing key with this id; UnknownSigner if none (or expired)."""
        listed = self.keys_of(node)
        if not listed:
            raise UnknownSigner(f"sender {node} is not in the key directory")
        entry = next((e for e in listed if e.kid == kid), None)
        if entry is None:
            raise UnknownSigner(f"key {kid} is not a listed signing key of {node}")
        if not entry.valid_at(_now(now)):
            raise UnknownSigner(f"key {kid} of {node} expired at {entry.not_after}")
        return entry.signing

    def sealing_entry(self, node: str, now: datetime | None = None) -> PublicKeys:
        """The recipient's newest entry still valid: what a sender seals to."""
        at = _now(now)
        for entry in reversed(self.keys_of(node)):
            if entry.valid_at(at):
                return entry
        raise UnknownRecipient(f"the key directory lists no valid sealing key for {node}")

    def with_keys(self, node: str, keys: PublicKeys, *,
                  retire_others_after: datetime | None = None) -> KeyDirectory:
        """Add (or rotate in) a node's newest entry; the older ones get `not_after` if given."""
        _node_id(node, "with_keys")
        old = self.keys_of(node)
        if any(e.kid == keys.kid or e.sealing_kid == keys.sealing_kid for e in old):
            raise DirectoryError(f"key {keys.kid} of {node} is already listed")
        if retire_others_after is not None:
            old = tuple(PublicKeys(e.signing, e.sealing, min(
                retire_others_after, e.not_after or retire_others_after)) for e in old)
        return KeyDirectory({**self.entries, node: (*old, keys)})

    def without_key(self, node: str, kid: str) -> KeyDirectory:
        """Drop a retired entry (named by its signing key id); a node left with none goes."""
        kept = tuple(e for e in self.keys_of(node) if e.kid != kid)
        if len(kept) == len(self.keys_of(node)):
            raise DirectoryError(f"key {kid} is not listed for {node}")
        rest = {n: v for n, v in self.entries.items() if n != node}
        return KeyDirectory({**rest, node: kept} if kept else rest)

    def to_json(self) -> str:
        nodes = {n: [e.as_json() for e in self.entries[n]] for n in self.nodes()}
        return json.dumps({"version": DIRECTORY_VERSION, "nodes": nodes}, indent=2) + "\n"


def _node_id(node: object, source: str) -> str:
    try:
        return validate_code(node)  # type: ignore[arg-type]  # checked: raises on non-str
    except AreaCodeError as exc:
        raise DirectoryError(f"{source}: {exc}") from None


def _entry(raw: object, where: str) -> PublicKeys:
    if not isinstance(raw, dict):
        raise DirectoryError(f"{where} is not an object")
    for name in ("kid", "signing", "sealing"):
        if not isinstance(raw.get(name), str):
            raise DirectoryError(f"{where}: field '{name}' is missing or not text")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise DirectoryError(f"{where}: field '{unknown[0]}' is not a key directory field")
    not_after = None
    if raw.get("not_after") is not None:
        try:
            not_after = datetime.fromisoformat(str(raw["not_after"]))
        except ValueError:
            raise DirectoryError(f"{where}: not_after is not an ISO date and time") from None
        if not_after.tzinfo is None:
            raise DirectoryError(f"{where}: not_after must carry a time zone")
    try:
        entry = PublicKeys(load_signing_public(raw["signing"], f"{where}: field 'signing'"),
                           load_sealing_public(raw["sealing"], f"{where}: field 'sealing'"),
                           not_after)
    except DirectoryError:
        raise
    except ValueError as exc:
        raise DirectoryError(str(exc)) from None
    if entry.kid != raw["kid"]:
        raise DirectoryError(f"{where}: kid {raw['kid']} is not the id of its signing key "
                             f"({entry.kid})")
    return entry


def parse_directory(text: str | bytes, source: str = KEYS_FILE_NAME) -> KeyDirectory:
    """A directory from its JSON text; DirectoryError naming `source` and the place."""
    if len(text) > MAX_DIRECTORY_BYTES:
        raise DirectoryError(f"keys file {source} is larger than {MAX_DIRECTORY_BYTES} bytes")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise DirectoryError(f"keys file {source} is not valid JSON") from None
    if not isinstance(data, dict) or data.get("version") != DIRECTORY_VERSION:
        raise DirectoryError(f"keys file {source} is not a version {DIRECTORY_VERSION} key "
                             "directory (a JSON object with \"version\": 1 and \"nodes\")")
    nodes = data.get("nodes")
    if not isinstance(nodes, dict):
        raise DirectoryError(f"keys file {source}: field 'nodes' is not an object")
    entries: dict[str, tuple[PublicKeys, ...]] = {}
    for node, listed in nodes.items():
        where = f"keys file {source}: node {node}"
        _node_id(node, where)
        if not isinstance(listed, list) or not listed:
            raise DirectoryError(f"{where} is not a non-empty list of keys")
        found = tuple(_entry(raw, f"{where} entry {n}") for n, raw in enumerate(listed, 1))
        kids = [e.kid for e in found] + [e.sealing_kid for e in found]
        if len(set(kids)) != len(kids):
            raise DirectoryError(f"{where} lists the same key twice")
        entries[node] = found
    return KeyDirectory(entries)


def load_directory(path: str | Path) -> KeyDirectory:
    file = Path(path)
    try:
        text = file.read_bytes()
    except FileNotFoundError:
        raise DirectoryError(f"keys file {file} not found") from None
    except OSError:
        raise DirectoryError(f"keys file {file} cannot be read") from None
    return parse_directory(text, str(file))


def save_directory(path: str | Path, directory: KeyDirectory) -> None:
    """Write atomically (a reader sees the old file or the new one, never half of one); 0644."""
    file = Path(path)
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(directory.to_json())
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # public keys: readable by everyone on purpose
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def merge_directories(parts: Iterable[KeyDirectory]) -> KeyDirectory:
    """One directory from several (deploy gathers each node's public file into `keys.json`).
    A node listed by two parts must be listed identically."""
    merged: dict[str, tuple[PublicKeys, ...]] = {}
    for part in parts:
        for node, listed in part.entries.items():
            seen = merged.setdefault(node, listed)
            if [e.as_json() for e in seen] != [e.as_json() for e in listed]:
                raise DirectoryError(f"node {node} is listed twice with different keys")
    return KeyDirectory(merged)


class NodeKeys(Protocol):
    """What `export_public` reads from a node's config (nodes.config.NodeConfig fits)."""

    @property
    def node_id(self) -> str: ...
    @property
    def signing_key(self) -> str | None: ...
    @property
    def sealing_key(self) -> str | None: ...


def export_public(config: NodeKeys, *, retire_after: datetime | None = None) -> KeyDirectory:
    """A one-node directory of this node's public keys, for `keys.json`: one entry per key pair
    in its secrets (the i-th signing key with the i-th sealing key), oldest first; the older
    ones get `not_after = retire_after` if given."""
    signing = load_signing_keys(config.signing_key)
    sealing = load_sealing_keys(config.sealing_key)
    if len(signing) != len(sealing):
        raise DirectoryError(f"node {config.node_id} has {len(signing)} signing keys but "
                             f"{len(sealing)} sealing keys; they rotate together")
    pairs = list(zip(signing, sealing, strict=True))[::-1]
    entries = tuple(PublicKeys.of(s, x, None if n == len(pairs) - 1 else retire_after)
                    for n, (s, x) in enumerate(pairs))
    return KeyDirectory({_node_id(config.node_id, "export_public"): entries})


def pick_signing_key(keys: Sequence[Ed25519PrivateKey], directory: KeyDirectory, node: str,
                     now: datetime | None = None) -> Ed25519PrivateKey:
    """The newest of this node's signing keys (newest first) that the directory lists as valid:
    a receiver could not verify any other. UnknownSigner if none is listed (do not publish)."""
    at = _now(now)
    listed = {e.kid for e in directory.keys_of(node) if e.valid_at(at)}
    for key in keys:
        if key_id(key) in listed:
            return key
    raise UnknownSigner(f"none of {node}'s signing keys is listed in the key directory")
