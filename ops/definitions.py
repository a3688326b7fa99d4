"""The broker as data: the topology of `protocol.topology` plus who may do what on it, as a RabbitMQ
definitions document (the management plugin's import format).

`deploy/rabbitmq/definitions.json` is generated from this for the sample network, so the broker an
operator loads, the queues a node declares and the permissions its user holds are the same data.

Access control (issue 4): one broker user per node, named by its node id, because the consumer
trusts the broker-validated `user_id` only as far as `user_id == sender` (`Trust`). Each user gets

- regular permissions (configure / write / read regexes over exchange and queue names), and
- topic permissions on the three topic exchanges: `write` limits the routing keys it may publish
  (its own key on `up` and `report`, its direct children's keys on `down`), `read` limits the
  binding keys it may bind with (exactly its own queue's bindings). RabbitMQ allows every key on an
  exchange for which a user has no topic permission at all, so every user gets one on all three
  exchanges; where a node may do nothing, the regex is `NEVER`.

Least privilege is the default (issue 15): `deploy apply` declares everything, and a node on
RabbitMQ only checks passively that its exchanges and queue exist, so its user has no configure
right at all and reads nothing but its own queue: it cannot delete or re-declare a shared exchange,
bind a queue, or read a shared queue. A node whose config says `declare_topology = true` declares
at start, and RabbitMQ checks configure (plus read on the source of every binding and write on the
dead-letter exchange) even when the object already exists; only such nodes (`declaring`) get
configure on the exchanges, the shared queues and their own queue.

Binding probes: every node may publish a probe to its own `down` key, and a hub to its own
`probe_key` on `up`; the probes are mandatory, so a lost binding comes back as a return
(`nodes.probe`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from protocol.areas import AreaTree, Tier
from protocol.routing import node_key, probe_key
from protocol.topology import (
    EXCHANGE_DEAD,
    EXCHANGE_DOWN,
    EXCHANGE_QUARANTINE,
    EXCHANGE_REPORT,
    EXCHANGE_UP,
    EXCHANGES,
    POLICIES,
    SHARED_QUEUES,
    QueueSpec,
    node_queue,
)

DEFAULT_VHOST = "fengqiao"
HASHING_ALGORITHM = "rabbit_password_hashing_sha256"
TOPIC_EXCHANGES: tuple[str, ...] = (EXCHANGE_UP, EXCHANGE_DOWN, EXCHANGE_REPORT)
NEVER = "(?!)"  # a regex (PCRE and Python) that matches no string, not even the empty one
NO_PASSWORD = ""  # a password_hash no password matches: the user exists but cannot log in yet


def exactly(names: Iterable[str]) -> str:
    """A regex anchored at both ends that matches exactly these strings, or NEVER for none.

    RabbitMQ matches permission regexes unanchored (`re:run`), so an unanchored `33.06` would also
    allow `33.06.81.111.201` and `x33y06`; every alternative is escaped and the group anchored.
    """
    unique = sorted(set(names))
    if not unique:
        return NEVER
    return "^(" + "|".join(re.escape(name) for name in unique) + ")$"


def hash_password(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt + sha256(salt + utf-8 password)),
    with a 4-byte random salt, so definitions carry no password and each import re-salts."""
    salt = os.urandom(4) if salt is None else salt
    if len(salt) != 4:
        raise ValueError("RabbitMQ password salts are 4 bytes")
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode("utf-8")).digest()).decode()


def password_matches(password: str, password_hash: str) -> bool:
    """Recompute a `rabbit_password_hashing_sha256` hash with its own salt (tests, checks)."""
    raw = base64.b64decode(password_hash)
    return len(raw) == 36 and hash_password(password, raw[:4]) == password_hash


@dataclass(frozen=True)
class NodeAccess:
    """What one node's broker user may do, as RabbitMQ regexes."""

    node_id: str
    configure: str
    write: str
    read: str
    topic_write: Mapping[str, str]  # exchange -> routing keys it may publish
    topic_read: Mapping[str, str]   # exchange -> binding keys it may bind with


def children_of(node_id: str, nodes: Iterable[str], tree: AreaTree) -> list[str]:
    """Direct children of `node_id` among `nodes`: the only destinations of its `down` messages."""
    return sorted(n for n in nodes if n != node_id and tree.parent_of(n) == node_id)


def node_access(node_id: str, tier: Tier, tree: AreaTree, children: Iterable[str] = (),
                node_declares: bool = False) -> NodeAccess:
    """Least privilege for one node, given its direct children in the network."""
    kids = sorted(children)
    queue = node_queue(node_id, tier, tree, kids)
    has_parent = tree.parent_of(node_id) is not None
    is_hub = tier is not Tier.VILLAGE
    # Reports, heartbeats; quarantine copies; decisions down and the probe of its own down binding.
    publishes = {EXCHANGE_REPORT, EXCHANGE_QUARANTINE, EXCHANGE_DOWN}
    if has_parent or is_hub:  # escalations up; a hub's probe of its up binding
        publishes.add(EXCHANGE_UP)
    if node_declares:
        shared = {q.name for q in SHARED_QUEUES}
        configure = exactly({*(e.name for e in EXCHANGES), *shared, queue.name})
        # Declaring checks write on the own queue's dead-letter exchange, and each binding write
        # on its queue and read on its exchange.
        write = exactly({*publishes, EXCHANGE_DEAD, *shared, queue.name})
        read = exactly({queue.name, *(e.name for e in EXCHANGES)})
    else:
        configure, write, read = "", exactly(publishes), exactly({queue.name})
    own = node_key(node_id)
    up_keys = ([own] if has_parent else []) + ([probe_key(node_id)] if is_hub else [])
    topic_write = {EXCHANGE_UP: exactly(up_keys),
                   EXCHANGE_REPORT: exactly([own]),
                   EXCHANGE_DOWN: exactly([own, *(node_key(kid) for kid in kids)])}
    topic_read = {ex: exactly(key for source, key in queue.bindings if source == ex)
                  for ex in TOPIC_EXCHANGES}
    return NodeAccess(node_id, configure, write, read, topic_write, topic_read)


def _queue(spec: QueueSpec, vhost: str) -> dict[str, Any]:
    return {"name": spec.name, "vhost": vhost, "durable": spec.durable, "auto_delete": False,
            "arguments": spec.arguments}


def _bindings(spec: QueueSpec, vhost: str) -> list[dict[str, Any]]:
    return [{"source": exchange, "vhost": vhost, "destination": spec.name,
             "destination_type": "queue", "routing_key": key, "arguments": {}}
            for exchange, key in spec.bindings]


def access_definitions(nodes: Iterable[tuple[str, Tier]], vhost: str = DEFAULT_VHOST,
                       tree: AreaTree | None = None,
                       password_hashes: Mapping[str, str] | None = None,
                       declaring: Collection[str] = ()) -> dict[str, list[dict[str, Any]]]:
    """Users, permissions and topic permissions for `nodes`.

    A user without an entry in `password_hashes` gets NO_PASSWORD: importing that onto a running
    broker clears the user's password (RabbitMQ replaces it), so only a document made with the
    secrets belongs on a live broker. Node users carry no tags: `impersonator` would let a node
    publish under another user id, and management tags would open the HTTP API to node passwords.
    """
    node_list = list(nodes)
    tree = tree or AreaTree()
    ids = [n for n, _ in node_list]
    hashes = password_hashes or {}
    users, permissions, topics = [], [], []
    for node_id, tier in node_list:
        access = node_access(node_id, tier, tree, children_of(node_id, ids, tree),
                             node_id in declaring)
        users.append({"name": node_id, "password_hash": hashes.get(node_id, NO_PASSWORD),
                      "hashing_algorithm": HASHING_ALGORITHM, "tags": []})
        permissions.append({"user": node_id, "vhost": vhost, "configure": access.configure,
                            "write": access.write, "read": access.read})
        topics += [{"user": node_id, "vhost": vhost, "exchange": ex,
                    "write": access.topic_write[ex], "read": access.topic_read[ex]}
                   for ex in TOPIC_EXCHANGES]
    return {"users": users, "permissions": permissions, "topic_permissions": topics}


def definitions(nodes: Iterable[tuple[str, Tier]], vhost: str = DEFAULT_VHOST,
                tree: AreaTree | None = None, *, with_users: bool = False,
                password_hashes: Mapping[str, str] | None = None,
                declaring: Collection[str] = ()) -> dict[str, Any]:
    """Vhost, exchanges, shared queues and one quorum queue per node with its bindings; with
    `with_users`, also one user per node with its permissions and topic permissions (configure
    rights only for the nodes in `declaring`)."""
    node_list = list(nodes)
    tree = tree or AreaTree()
    ids = [n for n, _ in node_list]
    queues = [*SHARED_QUEUES,
              *(node_queue(n, t, tree, children_of(n, ids, tree)) for n, t in node_list)]
    document: dict[str, Any] = {
        "rabbitmq_version": "3.12",
        "vhosts": [{"name": vhost}],
        "exchanges": [{"name": e.name, "vhost": vhost, "type": e.type, "durable": e.durable,
                       "auto_delete": False, "internal": False, "arguments": e.arguments}
                      for e in EXCHANGES],
        "queues": [_queue(q, vhost) for q in queues],
        "bindings": [b for q in queues for b in _bindings(q, vhost)],
        # The shared queues' length limits (protocol.topology.POLICIES: why a policy).
        "policies": [{"name": p.name, "vhost": vhost, "pattern": p.pattern,
                      "apply-to": p.apply_to, "priority": p.priority,
                      "definition": p.definition} for p in POLICIES],
    }
    if with_users:
        document.update(access_definitions(node_list, vhost, tree, password_hashes, declaring))
    return document

