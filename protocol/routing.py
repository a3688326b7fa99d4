"""Routing keys built from area codes, one word per level (DESIGN §3).

A key is the node's path: province.city.county.township.village with trailing zero levels dropped,
so `33.06.81.111.242` is a village and `33.06.81` its county. Topic patterns then follow the tree:
a county binds `33.06.81.#` and sees every report under it; a broker user can be limited to keys
that start with its own path.
"""

from __future__ import annotations

from collections.abc import Iterable

from protocol.areas import AreaTree, path_segments


def node_key(code: str) -> str:
    """The routing key that names one node: the sender's key on `up` and `report`, the
    destination's key on `down`."""
    return ".".join(path_segments(code))


def escalation_key(sender: str) -> str:
    """Key for an escalation published by `sender` on the up exchange."""
    return node_key(sender)


def report_key(sender: str) -> str:
    """Key for a lifecycle report or heartbeat published by `sender` on the report exchange."""
    return node_key(sender)


def down_key(destination: str) -> str:
    """Key for a decision, instruction or supervision order sent down to `destination`."""
    return node_key(destination)


def probe_key(hub: str) -> str:
    """Key of a hub's binding probe on `up`: matched by its own children pattern (`hub.*`) and by
    no other binding, since every other key on `up` is a node's path of digits."""
    return node_key(hub) + ".probe"


def children_pattern(hub: str) -> str:
    """Binding on `up` for a hub's direct children under derived parents: one more word."""
    return node_key(hub) + ".*"


def subtree_pattern(hub: str) -> str:
    """Binding on `report` for a hub's whole subtree, itself included."""
    return node_key(hub) + ".#"


def up_bindings(hub: str, tree: AreaTree, configured_children: Iterable[str] = ()) -> list[str]:
    """Patterns a hub binds on the up exchange.

    Derived children are one level down (`children_pattern`). Children that the configured tree
    attaches to this hub from further down (a township directly under a city without counties)
    are bound by their exact key.
    """
    patterns = [children_pattern(hub)]
    own_depth = len(path_segments(hub))
    for child in configured_children:
        if tree.parent_of(child) == hub and len(path_segments(child)) != own_depth + 1:
            patterns.append(node_key(child))
    return sorted(set(patterns))


def key_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching (`*` one word, `#` zero or more words), for tests and permission checks."""
    return _match(pattern.split("."), key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])


_KEY_WIDTHS = (2, 2, 2, 3, 3)  # digits per level: province, city, county, township, village


def node_of_key(key: str) -> str | None:
    """The node a routing key names (`node_key` read back), None if it names none: a signer
    binds a `down` message to its destination node, read from the key it is sent with."""
    words = key.split(".")
    if not 1 <= len(words) <= len(_KEY_WIDTHS):
        return None
    if any(len(w) != n or not (w.isascii() and w.isdigit())
           for w, n in zip(words, _KEY_WIDTHS, strict=False)):
        return None
    code = "".join(words) + "0" * sum(_KEY_WIDTHS[len(words):])
    try:
        return code if node_key(code) == key else None
    except ValueError:  # AreaCodeError: not a node's code
        return None
