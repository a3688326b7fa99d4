"""Personal data at rest (DOMAIN §7, PIPL): one node key, AES-256-GCM, one random nonce per value.

Why AES-GCM and not Fernet: both authenticate, but GCM takes associated data, and every value is
sealed together with where it lives (`parties.name` of case X, the outbox body of message Y). A
value copied into another row or column then fails to open, just as an edited one does. Each
token also names the key it was sealed with (a short fingerprint, never the key), so a wrong key
is reported as a wrong key rather than as corrupt data.

Token format (text, ASCII): ``fq1:<key id, 8 hex>:<urlsafe base64 of nonce(12) + ciphertext+tag>``.

The key is 32 random bytes in urlsafe base64 (44 characters), from the node config's `data_key`
or else the environment variable `FENGQIAO_DATA_KEY`. Losing it loses the names: nothing can
recover them, so it must be backed up with the same care as the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from nodes.domain.case import DomainError
from protocol.text import N_, Translatable

KEY_ENV = "FENGQIAO_DATA_KEY"
KEY_BYTES = 32
NONCE_BYTES = 12
TOKEN_PREFIX = "fq1"  # noqa: S105 - a token prefix, not a password


class DataKeyError(Translatable, ValueError):
    """The configured key is not a key (wrong length or not base64); str() is one sentence."""


class PersonalDataError(DomainError):
    """Personal data cannot be written or read: no key, the wrong key, or an altered value."""


def new_key() -> str:
    """A fresh key for one node's config (`data_key = "..."`)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def new_identity_key() -> str:
    """A fresh network identity key (for the party hash): one per network, shared by its nodes."""
    return secrets.token_urlsafe(32)


def configured_key(config_value: str | None) -> str | None:
    """The config's `data_key` if set, else `FENGQIAO_DATA_KEY`, else None."""
    if config_value and config_value.strip():
        return config_value.strip()
    env = os.environ.get(KEY_ENV, "").strip()
    return env or None


def key_id_of(raw: bytes) -> str:
    """A public fingerprint of a key: names it in tokens and messages without revealing it."""
    return hashlib.sha256(b"fengqiao data key id|" + raw).hexdigest()[:8]


def is_sealed(value: str | bytes | None) -> bool:
    if value is None:
        return False
    head = value[:4] if isinstance(value, str) else value[:4].decode("ascii", "replace")
    return head == TOKEN_PREFIX + ":"


def token_key_id(token: str) -> str | None:
    parts = token.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == TOKEN_PREFIX else None


class DataCipher:
    """Seals and opens single values; `context` says where the value lives (associated data)."""

    def __init__(self, key: str) -> None:
        try:
            raw = base64.b64decode(key.strip(), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise DataKeyError("key_base64", N_(
                "data_key is not urlsafe base64 (use a key written by `fengqiao node init` or "
                "`fengqiao audit new-key`)")) from None
        if len(raw) != KEY_BYTES:
            raise DataKeyError("key_length", N_("data_key must decode to {expected} bytes, not "
                                                "{length} (use `fengqiao audit new-key`)"),
                               expected=KEY_BYTES, length=len(raw))
        self._aead = AESGCM(raw)
        self.key_id = key_id_of(raw)
        self._prefix = f"{TOKEN_PREFIX}:{self.key_id}:"

    def seal(self, value: str, context: str) -> str:
        return self.seal_bytes(value.encode("utf-8"), context).decode("ascii")

    def open(self, token: str, context: str) -> str:
        return self._open_raw(token, context).decode("utf-8")

    def _open_raw(self, token: str, context: str) -> bytes:
        key_id = token_key_id(token)
        if key_id is None:
            raise PersonalDataError("not_sealed", N_("{context} does not hold an encrypted "
                                                     "value; it may have been altered"),
                                    context=context)
        if key_id != self.key_id:
            raise wrong_key(key_id, self.key_id)
        try:
            blob = base64.urlsafe_b64decode(token.split(":", 2)[2])
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                                      context.encode("utf-8"))
        except (InvalidTag, binascii.Error, ValueError):
            raise PersonalDataError("does_not_open", N_(
                "the encrypted value in {context} does not open: it was altered or moved from "
                "another row"), context=context) from None

    def seal_bytes(self, value: bytes, context: str) -> bytes:
        """Any bytes, UTF-8 or not (a quarantined message is whatever arrived), as an ASCII token."""
        # os.urandom is what secrets.token_bytes calls; binascii + translate is what
        # base64.urlsafe_b64encode does, minus two layers of Python calls per value.
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value, context.encode("utf-8"))
        return self._prefix.encode("ascii") + binascii.b2a_base64(
            nonce + sealed, newline=False).translate(_URLSAFE)

    def open_bytes(self, token: bytes, context: str) -> bytes:
        return self._open_raw(token.decode("ascii", "replace"), context)


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def wrong_key(stored: str, configured: str) -> PersonalDataError:
    return PersonalDataError(
        "wrong_key", N_("the configured data_key (key id {configured}) is not the key this "
                        "database's personal data was encrypted with (key id {stored}); use the "
                        "original key"), configured=configured, stored=stored)


def no_key() -> PersonalDataError:
    return PersonalDataError("no_key", N_("no data_key is configured, so personal data cannot "
                                          "be read or written"))
