"""A node's side of signed and sealed messages (issue 15 item 3; formats in `protocol.seal`,
which fields are personal in `protocol.sealed`).

- `Signer`: the transports call it for every broker message they write (an outbox row, a bundle,
  a heartbeat, a probe, a quarantine copy): headers that sign the exact body bytes sent, bound to
  exchange, routing key and recipient (the parent on `up`, the destination on `down`, BROADCAST on
  `report`), so trust in a sender no longer rests on the broker's user id alone.
- `Verifier`: the consumer asks it first, before anything is decoded: the signature must be by a
  key the directory lists for the sender named in the headers, over this body and this route.
  After the consumer's own checks it opens the sealed fields, just before applying.
- `Sealer`: the service seals personal fields to the receiving node when it writes the outbox row,
  so the outbox, the broker and every quarantined copy hold only tokens.
"""

from __future__ import annotations

from typing import Any

from nodes.domain.case import DomainError
from nodes.keyring import NodeKeys
from nodes.messaging.delivery import Delivery
from protocol.envelope import Envelope
from protocol.keydir import pick_signing_key
from protocol.keys import SealInvalid, SignatureInvalid, TrustError, UnknownRecipient
from protocol.routing import node_key, node_of_key
from protocol.seal import BROADCAST, check_signature, routing_for, signature_headers
from protocol.sealed import in_the_clear, open_payload, seal_payload
from protocol.text import N_
from protocol.topology import EXCHANGE_DOWN, EXCHANGE_UP


def reason_of(exc: TrustError) -> str:
    """A quarantine reason: the kind of failure, then what exactly (no personal data in it)."""
    return f"{exc.code}: {exc}"


class Signer:
    """Signs what one node publishes, with its newest signing key the directory lists."""

    def __init__(self, keys: NodeKeys, parent: str | None) -> None:
        self.keys, self.parent = keys, parent
        self._own_key = node_key(keys.node_id)

    def recipient(self, exchange: str, routing_key: str) -> str:
        """Who a message on this route is for, as its receiver will name itself."""
        if exchange == EXCHANGE_UP:
            if routing_key == self._own_key:
                return self.parent or BROADCAST
            return self.keys.node_id  # a hub's binding probe comes back to itself
        if exchange == EXCHANGE_DOWN:
            return node_of_key(routing_key) or BROADCAST
        return BROADCAST  # report (county and city), quarantine (operators)

    def headers(self, body: bytes, exchange: str, routing_key: str) -> dict[str, str]:
        """The signature headers to add to this message's own."""
        key = pick_signing_key(self.keys.signing, self.keys.directory(), self.keys.node_id)
        routing = routing_for(exchange, routing_key, self.recipient(exchange, routing_key))
        return signature_headers(body, routing, key, self.keys.node_id)

    def sign(self, body: bytes, exchange: str, routing_key: str,
             headers: dict[str, Any]) -> dict[str, Any]:
        """`headers` with the signature added (a new dict: the caller's is left alone)."""
        return {**headers, **self.headers(body, exchange, routing_key)}


class Verifier:
    """Checks what arrives at one node, and opens what was sealed to it."""

    def __init__(self, keys: NodeKeys, parent: str | None) -> None:
        self.keys, self.parent = keys, parent

    def check(self, delivery: Delivery) -> str | None:
        """None if the message is signed by its sender's listed key for this body and route
        (this node as recipient, or BROADCAST on report), else the quarantine reason. Reads the
        signature headers only: the body is not decoded before this passes.

        The signer must also be the node the route names: the routing key's node on `up` and
        `report`, this node's parent on `down`. `Trust` then holds the envelope's sender to the
        same route, so a node cannot sign what claims to come from another."""
        routing = routing_for(delivery.exchange, delivery.routing_key, self.keys.node_id)
        try:
            signer = check_signature(delivery.body, delivery.headers, routing,
                                     self.keys.directory())
        except TrustError as exc:
            return reason_of(exc)
        expected = self.parent if delivery.exchange == EXCHANGE_DOWN \
            else node_of_key(delivery.routing_key)
        if expected is not None and signer != expected:
            return (f"{SignatureInvalid.code}: signed by {signer}, but a message on "
                    f"{delivery.exchange} {delivery.routing_key} comes from {expected}")
        return None

    def open(self, env: Envelope) -> Envelope:
        """The envelope with its sealed fields opened (TrustError with the reason if they do not
        open, or if personal data came in the clear)."""
        leak = in_the_clear(env.payload)
        if leak is not None:
            raise SealInvalid(leak)
        payload = open_payload(env.payload, self.keys.sealing, self.keys.node_id, env.sender,
                               str(env.message_id))
        return env if payload is env.payload else env.model_copy(update={"payload": payload})


class Sealer:
    """Seals the personal fields of an outgoing message to the node that will receive it."""

    def __init__(self, keys: NodeKeys) -> None:
        self.keys = keys

    def seal(self, env: Envelope, recipient: str) -> Envelope:
        """`env` with its personal fields sealed to `recipient`. A recipient the directory lists
        no key for refuses the command (DomainError: nothing is written, and a message being
        applied is quarantined with the reason) rather than send personal data in the clear."""
        try:
            payload = seal_payload(env.payload, self.keys.directory(), recipient,
                                   self.keys.node_id, str(env.message_id))
        except UnknownRecipient:
            raise DomainError("no_sealing_key", N_(
                "the network's keys.json lists no key of node {node}, so the personal data "
                "cannot be sealed to it; install the network's keys.json (fengqiao deploy keys)"),
                node=recipient) from None
        except TrustError as exc:
            raise DomainError("cannot_seal", N_(
                "cannot seal the personal data to node {node}: {detail}; install the network's "
                "keys.json (fengqiao deploy keys)"), node=recipient, detail=str(exc)) from None
        return env if payload is env.payload else env.model_copy(update={"payload": payload})
