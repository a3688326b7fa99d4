"""A node's own key pairs (issue 15 item 3): an Ed25519 pair that signs what it sends and an X25519
pair that others seal personal data to. Both are `cryptography`'s primitives; nothing here is a
home-made cipher.

Text forms (ASCII, what the secrets file and `keys.json` hold):

- a private key is the urlsafe base64 of its 32 raw bytes (44 characters). The secrets file's
  `signing_key` and `sealing_key` may each hold several, separated by spaces, newest first: during
  a rotation a node keeps its old sealing key to open what was sealed to it before, and keeps
  signing with the old signing key until `keys.json` lists the new one (see `pick_signing_key`);
- a public key is the urlsafe base64 of its 32 raw bytes;
- a key id (kid) is the first 8 bytes of SHA-256 of the raw public key, as 16 hex digits. It names
  a key in headers, tokens and reasons without revealing anything.

Every error here and in `protocol.keydir` and `protocol.seal` is a `TrustError`: a ValueError whose
str() is one short English reason (stored in quarantine rows and logs; the CLI edge may wrap it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

RAW_KEY_BYTES = 32
KID_BYTES = 8
MAX_KEYS_IN_SECRET = 8  # one text holds the current key and a few retired ones, not a list


class TrustError(ValueError):
    """A key, signature, sealed token or key directory cannot be trusted; str() is the reason."""

    code = "trust"


class KeyTextError(TrustError):
    """Key text that is not a key of the expected kind (or no key at all)."""

    code = "key_text"


class DirectoryError(TrustError):
    """The public key directory (`keys.json`) cannot be read or is not well formed."""

    code = "key_directory"


class UnknownSigner(TrustError):
    """The message names a sender or key id that the directory does not list (or lists as expired)."""

    code = "unknown_signer"


class UnknownRecipient(TrustError):
    """The directory lists no valid sealing key for the node a payload must be sealed to."""

    code = "unknown_recipient"


class SignatureInvalid(TrustError):
    """The message is unsigned, or its signature does not match its body and route."""

    code = "signature_invalid"


class SealInvalid(TrustError):
    """A sealed token is malformed, sealed to another key, or does not open (altered, or moved to
    another recipient, sender or message)."""

    code = "seal_invalid"


# --- base64 and key ids -------------------------------------------------------------------------

def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def b64decode(text: str) -> bytes | None:
    """Strict urlsafe base64: the only text that decodes to these bytes, else None. (The standard
    decoder also takes `+/`, stray characters and spare bits, so one token would have many
    spellings that all open.)"""
    try:
        raw = base64.b64decode(text.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    return raw if b64encode(raw) == text else None


def kid_of(public_raw: bytes) -> str:
    """The key id of a raw public key: first 8 bytes of its SHA-256, hex (16 characters)."""
    return hashlib.sha256(public_raw).digest()[:KID_BYTES].hex()


def is_kid(text: object) -> bool:
    return isinstance(text, str) and len(text) == 2 * KID_BYTES and all(
        c in "0123456789abcdef" for c in text)


# --- private keys -------------------------------------------------------------------------------

def new_signing_key() -> str:
    """A fresh Ed25519 private key as text (the secrets file's `signing_key`)."""
    return b64encode(Ed25519PrivateKey.generate().private_bytes_raw())


def new_sealing_key() -> str:
    """A fresh X25519 private key as text (the secrets file's `sealing_key`)."""
    return b64encode(X25519PrivateKey.generate().private_bytes_raw())


def _raw_keys(text: str | None, field: str) -> list[bytes]:
    words = (text or "").replace(",", " ").split()
    if not words:
        raise KeyTextError(f"no {field} is configured")
    if len(words) > MAX_KEYS_IN_SECRET:
        raise KeyTextError(f"{field} holds {len(words)} keys; at most {MAX_KEYS_IN_SECRET}")
    out = []
    for n, word in enumerate(words, 1):
        raw = b64decode(word)
        if raw is None or len(raw) != RAW_KEY_BYTES:
            raise KeyTextError(f"{field} key {n} is not a key (urlsafe base64 of 32 bytes)")
        out.append(raw)
    return out


def load_signing_keys(text: str | None) -> tuple[Ed25519PrivateKey, ...]:
    """Every Ed25519 private key in `text` (space-separated, newest first)."""
    return tuple(Ed25519PrivateKey.from_private_bytes(raw)
                 for raw in _raw_keys(text, "signing_key"))


def load_signing_key(text: str | None) -> Ed25519PrivateKey:
    """The newest (first) Ed25519 private key in `text`."""
    return load_signing_keys(text)[0]


def load_sealing_keys(text: str | None) -> tuple[X25519PrivateKey, ...]:
    """Every X25519 private key in `text` (space-separated, newest first): all of them open."""
    return tuple(X25519PrivateKey.from_private_bytes(raw)
                 for raw in _raw_keys(text, "sealing_key"))


def load_sealing_key(text: str | None) -> X25519PrivateKey:
    """The newest (first) X25519 private key in `text`."""
    return load_sealing_keys(text)[0]


# --- public keys --------------------------------------------------------------------------------

def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey | X25519PrivateKey | X25519PublicKey,
               ) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey | X25519PrivateKey) else key
    return public.public_bytes_raw()


def public_text(key: Ed25519PrivateKey | Ed25519PublicKey | X25519PrivateKey | X25519PublicKey,
                ) -> str:
    """The public half of a key (or a public key itself) as text, for `keys.json`."""
    return b64encode(public_raw(key))


def signing_public_text(private_text: str) -> str:
    """The public key of the newest signing key in a secrets value."""
    return public_text(load_signing_key(private_text))


def sealing_public_text(private_text: str) -> str:
    """The public key of the newest sealing key in a secrets value."""
    return public_text(load_sealing_key(private_text))


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey | X25519PrivateKey | X25519PublicKey) -> str:
    """The key id of a key pair (of its public half)."""
    return kid_of(public_raw(key))


def _public_raw_from(text: object, what: str) -> bytes:
    raw = b64decode(text) if isinstance(text, str) else None
    if raw is None or len(raw) != RAW_KEY_BYTES:
        raise KeyTextError(f"{what} is not a public key (urlsafe base64 of 32 bytes)")
    return raw


def load_signing_public(text: object, what: str = "signing key") -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_public_raw_from(text, what))


def load_sealing_public(text: object, what: str = "sealing key") -> X25519PublicKey:
    return X25519PublicKey.from_public_bytes(_public_raw_from(text, what))


def by_kid(keys: Sequence[X25519PrivateKey], kid: str) -> X25519PrivateKey | None:
    """The private key among `keys` whose public half has key id `kid`."""
    return next((key for key in keys if key_id(key) == kid), None)
