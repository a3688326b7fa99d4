"""Signed and sealed envelopes (issue 15 item 3): every broker message is signed by its sender and
checked by its receiver before anything else; personal data is sealed to the receiving node.

Signature (detached, in AMQP headers; the body stays the envelope's JSON, or a bundle's NDJSON):

    x-fengqiao-sig   "s1:<urlsafe b64 of the 64-byte Ed25519 signature>"
    x-fengqiao-kid   key id of the signing key (16 hex)
    x-fengqiao-from  the sender's node id
    x-fengqiao-to    the recipient's node id, or "*" on the report exchange (county and city both
                     receive a report)

The signature covers, length-prefixed so no field can run into the next: the version label, the
sender, the key id, the exchange, the routing key, the recipient and the exact body bytes. A signed
message replayed to another exchange, routing key or recipient therefore fails, and so does any
altered byte of the body or of these headers. `check_signature` reads nothing but these headers
before the signature is verified with the sender's key from the directory.

Sealed token (text, ASCII; a payload field holds it in place of the plaintext):

    x1:<recipient sealing key id>:<ephemeral X25519 public>:<nonce(12)>:<AES-256-GCM ciphertext+tag>

(the last three urlsafe base64). The AES key is HKDF-SHA256 of an ephemeral X25519 exchange with
the recipient's sealing key, salt = ephemeral public + recipient public, info = the binding (version,
sender, recipient, context, key id); the binding is also the associated data. A token opens only
with the recipient's private key, and only under the same sender, recipient and context (use the
message id, so a token copied into another message does not open either).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from protocol.keydir import KeyDirectory
from protocol.keys import (
    SealInvalid,
    SignatureInvalid,
    b64decode,
    b64encode,
    by_kid,
    is_kid,
    key_id,
    kid_of,
)
from protocol.topology import EXCHANGE_REPORT

SIG_HEADER = "x-fengqiao-sig"
KID_HEADER = "x-fengqiao-kid"
FROM_HEADER = "x-fengqiao-from"
TO_HEADER = "x-fengqiao-to"
SIGNATURE_HEADERS = (SIG_HEADER, KID_HEADER, FROM_HEADER, TO_HEADER)
SIG_VERSION = "s1"
TOKEN_VERSION = "x1"  # noqa: S105 - a token format label, not a password
BROADCAST = "*"  # the recipient of a report: every hub bound to its routing key
NONCE_BYTES = 12
_SIG_LABEL = b"fengqiao signature " + SIG_VERSION.encode("ascii")
_SEAL_LABEL = b"fengqiao seal " + TOKEN_VERSION.encode("ascii")
_MAX_NAME = 64  # a node id, exchange or routing key read from a header before verification


@dataclass(frozen=True)
class Routing:
    """Where a message goes: what the signature binds besides the body."""

    exchange: str
    routing_key: str
    recipient: str  # a node id, or BROADCAST


def routing_for(exchange: str, routing_key: str, recipient: str) -> Routing:
    """The route as both ends name it: the sender with the node it publishes to (its parent on
    `up`, the destination on `down`), the receiver with itself; on `report` the recipient is
    BROADCAST whatever is passed."""
    return Routing(exchange, routing_key, BROADCAST if exchange == EXCHANGE_REPORT else recipient)


def _framed(*parts: bytes) -> bytes:
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def _signed_bytes(sender: str, kid: str, routing: Routing, body: bytes) -> bytes:
    return _SIG_LABEL + _framed(sender.encode(), kid.encode(), routing.exchange.encode(),
                                routing.routing_key.encode(), routing.recipient.encode(), body)


def signature_headers(body: bytes, routing: Routing, key: Ed25519PrivateKey,
                      sender: str) -> dict[str, str]:
    """The headers that sign `body` from `sender` along `routing` (add them to the message's)."""
    kid = key_id(key)
    signature = key.sign(_signed_bytes(sender, kid, routing, body))
    return {SIG_HEADER: f"{SIG_VERSION}:{b64encode(signature)}", KID_HEADER: kid,
            FROM_HEADER: sender, TO_HEADER: routing.recipient}


def _header(headers: Mapping[str, Any], name: str) -> str:
    value = headers.get(name)
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("ascii", "replace")
    if value is None:
        raise SignatureInvalid(f"message is not signed (no {name} header)")
    if not isinstance(value, str) or not value.isascii() or not value.isprintable():
        raise SignatureInvalid(f"header {name} is not ASCII text")
    return value


def check_signature(body: bytes, headers: Mapping[str, Any], routing: Routing,
                    directory: KeyDirectory, now: datetime | None = None) -> str:
    """The sender whose listed key signed this body for this route (the delivery's exchange and
    routing key, and this node as recipient: build it with `routing_for`). Raises
    SignatureInvalid or UnknownSigner with the reason; the body is not looked into."""
    sender, kid = _header(headers, FROM_HEADER), _header(headers, KID_HEADER)
    signed_to, sig = _header(headers, TO_HEADER), _header(headers, SIG_HEADER)
    if not sender or len(sender) > _MAX_NAME or len(signed_to) > _MAX_NAME:
        raise SignatureInvalid(f"header {FROM_HEADER} or {TO_HEADER} is not a node id")
    if not is_kid(kid):
        raise SignatureInvalid(f"header {KID_HEADER} is not a key id (16 hex digits)")
    version, _, encoded = sig.partition(":")
    if version != SIG_VERSION:
        raise SignatureInvalid(f"signature version {version[:8]!r} is not known (this node "
                               f"checks {SIG_VERSION})")
    signature = b64decode(encoded)
    if signature is None or len(signature) != 64:
        raise SignatureInvalid(f"header {SIG_HEADER} does not hold a 64-byte signature")
    public = directory.verifying_key(sender, kid, now)
    signed_route = Routing(routing.exchange, routing.routing_key, signed_to)
    try:
        public.verify(signature, _signed_bytes(sender, kid, signed_route, body))
    except InvalidSignature:
        raise SignatureInvalid(
            f"signature of {sender} (key {kid}) does not match this body and route: altered, "
            f"or replayed from another exchange or routing key (arrived on {routing.exchange} "
            f"{routing.routing_key})") from None
    if signed_to != routing.recipient:
        raise SignatureInvalid(f"message of {sender} was signed for {signed_to}, not for "
                               f"{routing.recipient}: replayed to another recipient")
    return sender


# --- sealing ------------------------------------------------------------------------------------

def _binding(sender: str, recipient: str, context: str, kid: str) -> bytes:
    return _SEAL_LABEL + _framed(sender.encode("utf-8"), recipient.encode("utf-8"),
                                 context.encode("utf-8"), kid.encode("ascii"))


def _aead(shared: bytes, eph_raw: bytes, recipient_raw: bytes, binding: bytes) -> AESGCM:
    key = HKDF(algorithm=SHA256(), length=32, salt=eph_raw + recipient_raw,
               info=binding).derive(shared)
    return AESGCM(key)


def seal_to(plaintext: bytes, recipient_public: X25519PublicKey, recipient_node: str,
            sender_node: str, context: str) -> str:
    """`plaintext` readable only by the holder of `recipient_public`'s private key, and only
    under the same recipient node, sender node and context."""
    recipient_raw = recipient_public.public_bytes_raw()
    kid = kid_of(recipient_raw)
    ephemeral = X25519PrivateKey.generate()
    eph_raw = ephemeral.public_key().public_bytes_raw()
    try:
        shared = ephemeral.exchange(recipient_public)
    except ValueError:  # a low-order point: not a key anyone can hold
        raise SealInvalid(f"sealing key {kid} of {recipient_node} is not usable") from None
    binding = _binding(sender_node, recipient_node, context, kid)
    nonce = os.urandom(NONCE_BYTES)
    sealed = _aead(shared, eph_raw, recipient_raw, binding).encrypt(nonce, plaintext, binding)
    return f"{TOKEN_VERSION}:{kid}:{b64encode(eph_raw)}:{b64encode(nonce)}:{b64encode(sealed)}"


def seal_for(plaintext: bytes, directory: KeyDirectory, recipient_node: str, sender_node: str,
             context: str, now: datetime | None = None) -> str:
    """Seal to the recipient's newest valid key in the directory (UnknownRecipient if none)."""
    entry = directory.sealing_entry(recipient_node, now)
    return seal_to(plaintext, entry.sealing, recipient_node, sender_node, context)


def is_sealed_token(value: object) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_VERSION + ":")


def token_kid(token: str) -> str | None:
    """The key id a token was sealed to, None if it is not a token of a known version."""
    parts = token.split(":")
    return parts[1] if len(parts) == 5 and parts[0] == TOKEN_VERSION and is_kid(parts[1]) else None


def open_sealed(token: str, recipient_private: X25519PrivateKey | Sequence[X25519PrivateKey],
                recipient_node: str, sender_node: str, context: str) -> bytes:
    """The plaintext of a token sealed to this node (any of its sealing keys, newest first);
    SealInvalid with the reason if it is malformed, for another key, or does not open."""
    keys = [recipient_private] if isinstance(recipient_private, X25519PrivateKey) \
        else list(recipient_private)
    parts = token.split(":") if isinstance(token, str) else []
    if len(parts) != 5:
        raise SealInvalid("not a sealed token (version:kid:key:nonce:ciphertext)")
    version, kid, eph_text, nonce_text, sealed_text = parts
    if version != TOKEN_VERSION:
        raise SealInvalid(f"sealed token version {version[:8]!r} is not known (this node "
                          f"opens {TOKEN_VERSION})")
    if not is_kid(kid):
        raise SealInvalid("sealed token does not name a key id (16 hex digits)")
    private = by_kid(keys, kid)
    if private is None:
        held = ", ".join(key_id(k) for k in keys) or "none"
        raise SealInvalid(f"sealed to key {kid}, which this node does not hold (it holds {held})")
    eph_raw, nonce, sealed = b64decode(eph_text), b64decode(nonce_text), b64decode(sealed_text)
    if eph_raw is None or len(eph_raw) != 32 or nonce is None or len(nonce) != NONCE_BYTES \
            or sealed is None or len(sealed) < 16:
        raise SealInvalid("sealed token is malformed (bad base64 or lengths)")
    binding = _binding(sender_node, recipient_node, context, kid)
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(eph_raw))
        aead = _aead(shared, eph_raw, private.public_key().public_bytes_raw(), binding)
        return aead.decrypt(nonce, sealed, binding)
    except (InvalidTag, ValueError):
        raise SealInvalid(f"sealed token does not open: altered, or sealed for another "
                          f"recipient, sender or context than {recipient_node} from "
                          f"{sender_node}") from None
