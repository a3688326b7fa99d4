"""Messages signed and sealed as a node sends them, for tests that publish by hand (a foreign
client, a crafted corpus, a replay): with the keys of the process's keyring, which every node a
test builds in code uses (`nodes.keyring`), so such a node verifies and opens them."""

from __future__ import annotations

import json
from typing import Any

from nodes.keyring import LocalKeyring, process_keyring
from protocol.areas import default_parent, validate_code
from protocol.envelope import DecodeError, Envelope, decode
from protocol.keys import TrustError
from protocol.routing import node_of_key
from protocol.seal import (
    BROADCAST,
    FROM_HEADER,
    TO_HEADER,
    routing_for,
    seal_for,
    signature_headers,
)
from protocol.sealed import PERSONAL_FIELDS, open_payload
from protocol.topology import EXCHANGE_DOWN, EXCHANGE_UP


def signed(body: bytes, exchange: str, routing_key: str, *, sender: str, to: str,
           keyring: LocalKeyring | None = None) -> dict[str, str]:
    """Signature headers of `sender` over `body` on this route, for recipient `to` (ignored on
    `report`, where it is every hub)."""
    signing, _ = (keyring or process_keyring()).pair(sender)
    return signature_headers(body, routing_for(exchange, routing_key, to), signing, sender)


def sealed(body: bytes, to: str, keyring: LocalKeyring | None = None) -> bytes:
    """`body` with its personal fields sealed to `to`, as the sender's outbox would hold it. The
    JSON is patched, not re-encoded, so whatever else is odd about it stays as it is; a body that
    does not decode (it must fail there, as it is) or has no personal fields is returned
    unchanged."""
    try:
        decode(body)
    except DecodeError:
        return body
    try:
        data = json.loads(body)
        payload = data["payload"]
        fields = PERSONAL_FIELDS[payload["type"]]
        sender, context = str(data["sender"]), str(data["message_id"])
    except (ValueError, KeyError, TypeError):
        return body
    if payload["type"] == "case_decision" and not payload.get("instruction"):
        return body
    clear = {f: payload[f] for f in fields if f in payload}
    empty: dict[str, Any] = {"facts": "", "parties": [], "reason_text": "", "history": [],
                             "instruction": "", "red_flag_note": "", "reason": "", "text": ""}
    local = keyring or process_keyring()
    local.pair(to)
    try:
        token = seal_for(json.dumps(clear, ensure_ascii=False).encode("utf-8"),
                         local.directory(), to, sender, context)
    except TrustError:
        return body
    data["payload"] = {**payload, **{f: empty[f] for f in clear}, "sealed": token}
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def sender_of(body: bytes, routing_key: str) -> str:
    """Who signs a hand-made message: the envelope's sender, else the node its key names."""
    try:
        return validate_code(json.loads(body)["sender"])
    except (ValueError, KeyError, TypeError):  # AreaCodeError is a ValueError
        pass
    return node_of_key(routing_key) or "330600000000"


def as_sent(body: bytes, exchange: str, routing_key: str, to: str,
            keyring: LocalKeyring | None = None) -> tuple[bytes, dict[str, str]]:
    """(body, headers) as a node would publish `body` to `to`: sealed, then signed by its sender
    (on `down`, to the node the key names)."""
    if exchange == EXCHANGE_DOWN:
        to = node_of_key(routing_key) or to
    body = sealed(body, to, keyring)
    return body, signed(body, exchange, routing_key, sender=sender_of(body, routing_key), to=to,
                        keyring=keyring)


def route_headers(body: bytes, exchange: str, routing_key: str, *, sign_as: str | None = None,
                  keyring: LocalKeyring | None = None) -> dict[str, str]:
    """Headers signing `body` as a node would for this route: by `sign_as` (default: the
    envelope's sender, else the node the key names), for the receiving node (on `up` the parent
    of the node the key names, on `down` the node it names, on `report` every hub)."""
    named = node_of_key(routing_key) or ""
    to = (default_parent(named) if exchange == EXCHANGE_UP and named else named) or BROADCAST
    return signed(body, exchange, routing_key, sender=sign_as or sender_of(body, routing_key),
                  to=to, keyring=keyring)


def resigned(body: bytes, exchange: str, routing_key: str,
             headers: dict[str, Any]) -> dict[str, Any]:
    """`headers` signed again over `body` by the same sender for the same recipient: a part taken
    out of a signed bundle, sent alone as its sender would have sent it."""
    sender, to = headers.get(FROM_HEADER), headers.get(TO_HEADER)
    if not isinstance(sender, str) or not isinstance(to, str):
        return headers
    return {**headers, **signed(body, exchange, routing_key, sender=sender, to=to)}


def opened(body: bytes, exchange: str, routing_key: str, parent: str | None) -> Envelope:
    """An outbox row's envelope as its recipient reads it (sealed fields opened with that node's
    keys from the process keyring): what two runs can compare, sealed tokens being random."""
    env = decode(body)
    if getattr(env.payload, "sealed", None) is None:
        return env
    to = parent if exchange == EXCHANGE_UP else node_of_key(routing_key)
    payload = open_payload(env.payload, process_keyring().pair(to or "")[1:], to or "",
                           env.sender, str(env.message_id))
    return env.model_copy(update={"payload": payload})
