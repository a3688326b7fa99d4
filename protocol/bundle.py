"""Several envelopes in one broker message (protocol 1.3), so a backlog costs the broker one
persistent message per bundle instead of one per envelope (issue 5).

A bundle is not a new kind of message: every part is an ordinary envelope (its own message id,
sender, case, sequence number), validated, trusted, applied, deduplicated and quarantined on its
own. The bundle is only how they travel: the parts' JSON texts joined by newlines (NDJSON; an
encoded envelope never holds a raw newline, JSON escapes it), and the broker message carries the
number of parts in the `BUNDLE_HEADER` header. Parts of one bundle come from one sender and go to
one exchange and routing key, so the broker's user id and the routing key vouch for each of them.

A single waiting envelope still travels alone, without the header, exactly as in protocol 1.2; a
1.2 receiver that gets a bundle quarantines it (nothing is lost, but mixed networks must upgrade
receivers first, see deploy/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from protocol.envelope import DecodeError
from protocol.topology import MAX_BROKER_MESSAGE_BYTES

BUNDLE_HEADER = "x-fengqiao-bundle"  # value: the number of envelopes in the body
BUNDLE_CONTENT_TYPE = "application/x-ndjson"
# The relay names the schema its message carries ("mixed" for a bundle of several); not signed,
# so a receiver holds the envelopes to it (nodes.messaging.trust) before relying on it.
SCHEMA_HEADER = "schema"
MIXED = "mixed"
MAX_BUNDLE_PARTS = 500              # a receiver refuses more: bounds what one message can cost
MAX_BUNDLE_BYTES = MAX_BROKER_MESSAGE_BYTES  # no broker message is larger (protocol.topology)


def pack(bodies: Sequence[bytes]) -> bytes:
    """Join encoded envelopes into one bundle body; ValueError if one cannot be framed."""
    if not 1 <= len(bodies) <= MAX_BUNDLE_PARTS:
        raise ValueError(f"a bundle holds 1 to {MAX_BUNDLE_PARTS} envelopes, not {len(bodies)}")
    for body in bodies:
        if b"\n" in body:
            raise ValueError("an encoded envelope holds a raw newline and cannot be bundled")
    return b"\n".join(bodies)


def declared_parts(headers: Mapping[str, Any]) -> int | None:
    """The part count a message declares, None for a single envelope (no header)."""
    value = headers.get(BUNDLE_HEADER)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError(f"bundle header {BUNDLE_HEADER} is not a whole number: {value!r}")
    return value


def declared_schema(headers: Mapping[str, Any]) -> str | None:
    """The schema a message's header names (MIXED for a bundle of several), None if it names
    none."""
    value = headers.get(SCHEMA_HEADER)
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("ascii", "replace")
    return value if isinstance(value, str) else None


def unpack(body: bytes, headers: Mapping[str, Any]) -> list[bytes] | None:
    """The parts of a bundle, None if the message is a single envelope; DecodeError (the whole
    message is quarantined) when the framing is wrong. Each part is decoded by its receiver."""
    count = declared_parts(headers)
    if count is None:
        return None
    if not 1 <= count <= MAX_BUNDLE_PARTS:
        raise DecodeError(f"bundle declares {count} parts; 1 to {MAX_BUNDLE_PARTS} are accepted")
    if len(body) > MAX_BUNDLE_BYTES:
        raise DecodeError(f"bundle is {len(body)} bytes, above the limit of {MAX_BUNDLE_BYTES}")
    parts = body.split(b"\n")
    if len(parts) != count:
        raise DecodeError(f"bundle declares {count} parts but holds {len(parts)}")
    return parts


def weight(headers: Mapping[str, Any]) -> int:
    """How many envelopes a message carries, for sizing a consumer's batch (1 if unsure)."""
    try:
        count = declared_parts(headers)
    except DecodeError:
        return 1
    return 1 if count is None else max(1, min(count, MAX_BUNDLE_PARTS))
