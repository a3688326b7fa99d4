"""Signed and sealed messages between nodes (issue 15 item 3), on the in-memory broker: every
message a node publishes is signed over its exact body and route, personal data travels sealed to
the receiver, and the receiver checks the signature before decoding anything. A message that
fails is quarantined with a precise reason, acked, and applies nothing."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from nodes.domain import commands as cmd
from nodes.domain.case import Rules
from nodes.keyring import LocalKeyring, process_keyring
from nodes.messaging.delivery import Delivery
from nodes.messaging.memory import MemoryBroker, Published
from nodes.messaging.signing import Signer
from nodes.node import Node
from nodes.service import PartyInput
from protocol.bundle import BUNDLE_HEADER
from protocol.envelope import decode, encode
from protocol.reference import CaseSource, EscalationReason
from protocol.routing import node_key
from protocol.seal import (
    BROADCAST,
    FROM_HEADER,
    KID_HEADER,
    SIG_HEADER,
    TO_HEADER,
    routing_for,
    seal_for,
    signature_headers,
)
from protocol.topology import EXCHANGE_DOWN, EXCHANGE_QUARANTINE, EXCHANGE_REPORT, EXCHANGE_UP
from tests.support.messages import FakeMessage
from tests.support.nodes import build_node

VILLAGE, SIBLING = "330681111242", "330681111243"
TOWNSHIP, OTHER_TOWNSHIP, COUNTY = "330681111000", "330681112000", "330681000000"
NAME, ID_NUMBER, PHONE = "欧阳娜娜", "330681199203154324", "13912345678"


@dataclass
class Net:
    broker: MemoryBroker
    village: Node
    sibling: Node
    township: Node
    other: Node  # a township that is not the village's parent
    county: Node  # takes the reports (publishes are mandatory: someone must)

    def nodes(self) -> list[Node]:
        return [self.village, self.sibling, self.township, self.other, self.county]


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    broker = MemoryBroker()
    n = Net(broker, *(build_node(tmp_path, code, broker=broker)
                      for code in (VILLAGE, SIBLING, TOWNSHIP, OTHER_TOWNSHIP, COUNTY)))
    yield n
    for node in n.nodes():
        node.close()


def escalate(village: Node, facts: str = "两家因院墙边界发生争执") -> str:
    case = village.service.new_case(
        source=CaseSource.APPLICATION, dispute_type="02", facts=facts,
        parties=[PartyInput("applicant", NAME, ID_NUMBER, PHONE, "状元村九组3号")])
    village.service.act(case.case_id, lambda c, a, t: cmd.escalate(
        c, a, t, reason=EscalationReason.NO_AGREEMENT, consent_given=True))
    return case.case_id


def sent(net: Net, exchange: str) -> list[Published]:
    return [m for m in net.broker.published if m.exchange == exchange]


def deliver(node: Node, message: Published, **change: object) -> FakeMessage:
    """Hand `message` (changed as told) to the node's consumer as the broker would."""
    fake = FakeMessage()
    delivery = Delivery(message.body, message.exchange, message.routing_key, message.user_id,
                        dict(message.headers), fake)
    node.consumer.handle(dataclasses.replace(delivery, **change))  # type: ignore[arg-type]
    return fake


def refused(node: Node, message: Published, **change: object) -> str:
    """The reason `node` quarantined `message` for; it must have applied nothing."""
    before, cases = node.consumer.applied, node.store.case_rows()
    assert deliver(node, message, **change).calls == ["ack"]
    assert node.consumer.applied == before
    assert node.store.case_rows() == cases
    return str(node.store.quarantined()[-1]["reason"])


def the_escalation(net: Net) -> Published:
    escalate(net.village)
    net.village.publish()
    (message,) = sent(net, EXCHANGE_UP)
    return message


# --- what a node publishes ----------------------------------------------------------------------

def test_every_published_message_is_signed_for_its_recipient(net: Net) -> None:
    case_id = escalate(net.village)
    net.village.publish()
    net.village.heartbeat()
    net.township.consume()
    net.township.service.act(case_id, cmd.consent)
    net.township.service.act(case_id, lambda c, a, t: cmd.hand_down(
        c, a, t, Rules(), instruction=f"请{NAME}所在村核实", report_back_days=15))
    net.township.publish()
    to = {(m.exchange, m.headers[TO_HEADER]) for m in net.broker.published}
    assert {(EXCHANGE_UP, TOWNSHIP), (EXCHANGE_DOWN, VILLAGE), (EXCHANGE_REPORT, BROADCAST)} <= to
    for message in net.broker.published:
        assert message.headers[SIG_HEADER].startswith("s1:")
        assert message.headers[FROM_HEADER] == message.user_id
        assert message.headers[KID_HEADER] == Signer(
            process_keyring().node_keys(message.user_id or ""), None).headers(
                message.body, message.exchange, message.routing_key)[KID_HEADER]
    # The hand-down instruction names a party: sealed to the village, which opens it.
    (down,) = sent(net, EXCHANGE_DOWN)
    assert NAME.encode() not in down.body
    assert json.loads(down.body)["payload"]["sealed"].startswith("x1:")
    net.village.consume()
    assert net.village.consumer.applied == 1
    assert net.village.store.load_case(case_id).state.value == "RETURNED"  # type: ignore[union-attr]


def test_a_dossier_travels_sealed_and_is_applied_in_the_clear_at_rest_sealed(net: Net) -> None:
    message = the_escalation(net)
    for secret in (NAME, ID_NUMBER, PHONE, "院墙"):
        assert secret.encode() not in message.body
    net.township.consume()
    # The dossier, and the village's reports (register, escalate): a township hears its subtree.
    assert net.township.consumer.applied == 3
    (row,) = net.township.store.case_rows()
    (party,) = net.township.store.parties(row["case_id"])
    assert (party.name, party.id_number, party.phone) == (NAME, ID_NUMBER, PHONE)
    assert net.township.store.load_case(row["case_id"]).facts["facts"] == "两家因院墙边界发生争执"  # type: ignore[union-attr]


def test_a_bundle_is_signed_over_its_packed_body(net: Net) -> None:
    for _ in range(3):
        escalate(net.village)
    net.village.publish()
    (bundle,) = sent(net, EXCHANGE_UP)
    assert bundle.headers[BUNDLE_HEADER] == 3
    net.township.consume()
    assert net.township.consumer.applied == 3 * 3  # each case's dossier and its two reports
    assert "signature_invalid" in refused(net.other, bundle, body=bundle.body[:-1] + b" ")


def test_quarantine_copies_are_signed_too(net: Net) -> None:
    message = the_escalation(net)
    net.other.declare()
    deliver(net.other, message, body=message.body + b" ")
    (copy,) = sent(net, EXCHANGE_QUARANTINE)
    assert copy.headers[FROM_HEADER] == OTHER_TOWNSHIP
    assert copy.headers[TO_HEADER] == BROADCAST


# --- what a node refuses ------------------------------------------------------------------------

def test_unsigned_is_refused_before_decoding(net: Net) -> None:
    message = the_escalation(net)
    headers = {k: v for k, v in message.headers.items() if k != SIG_HEADER}
    reason = refused(net.township, message, headers=headers)
    assert reason == "signature_invalid: message is not signed (no x-fengqiao-sig header)"
    garbage = dataclasses.replace(message, body=b"\xff not json", headers={})
    assert refused(net.township, garbage).startswith("signature_invalid: message is not signed")


def test_a_tampered_byte_is_refused(net: Net) -> None:
    message = the_escalation(net)
    body = bytearray(message.body)
    body[len(body) // 2] ^= 0x01
    reason = refused(net.township, message, body=bytes(body))
    assert reason.startswith(f"signature_invalid: signature of {VILLAGE}")
    assert "does not match this body and route" in reason


def test_a_key_not_listed_for_the_sender_is_refused(net: Net) -> None:
    message = the_escalation(net)
    thief = Ed25519PrivateKey.generate()
    headers = signature_headers(message.body, routing_for(EXCHANGE_UP, message.routing_key,
                                                          TOWNSHIP), thief, VILLAGE)
    reason = refused(net.township, message, headers=headers)
    assert reason.startswith("unknown_signer: key ")
    assert f"is not a listed signing key of {VILLAGE}" in reason


def test_a_sender_missing_from_the_directory_is_refused(net: Net) -> None:
    message = the_escalation(net)
    outsider = LocalKeyring().pair("330681111244")[0]  # a node no keys.json lists
    headers = signature_headers(message.body, routing_for(EXCHANGE_UP, message.routing_key,
                                                          TOWNSHIP), outsider, "330681111244")
    reason = refused(net.township, message, headers=headers)
    assert reason == "unknown_signer: sender 330681111244 is not in the key directory"


def test_a_replay_to_another_recipient_or_route_is_refused(net: Net) -> None:
    message = the_escalation(net)
    # The village's escalation, replayed into another township's queue (a re-bound queue).
    reason = refused(net.other, message)
    assert reason == (f"signature_invalid: message of {VILLAGE} was signed for {TOWNSHIP}, "
                      f"not for {OTHER_TOWNSHIP}: replayed to another recipient")
    # The same bytes on another routing key or exchange.
    reason = refused(net.township, message, routing_key=node_key(SIBLING))
    assert "replayed from another exchange or routing key" in reason
    reason = refused(net.village, message, exchange=EXCHANGE_DOWN, routing_key=node_key(VILLAGE))
    assert "replayed from another exchange or routing key" in reason


def test_a_node_cannot_sign_for_another(net: Net) -> None:
    """The sibling holds its own listed key, and signs the village's dossier with it."""
    message = the_escalation(net)
    signing, _ = process_keyring().pair(SIBLING)
    headers = signature_headers(message.body, routing_for(EXCHANGE_UP, message.routing_key,
                                                          TOWNSHIP), signing, SIBLING)
    reason = refused(net.township, message, headers=headers, user_id=SIBLING)
    assert reason == (f"signature_invalid: signed by {SIBLING}, but a message on {EXCHANGE_UP} "
                      f"{node_key(VILLAGE)} comes from {VILLAGE}")


def resigned(message: Published, body: bytes) -> Published:
    """`body` in place of the message's, signed by the village as its relay would."""
    headers = signature_headers(body, routing_for(EXCHANGE_UP, message.routing_key, TOWNSHIP),
                                process_keyring().pair(VILLAGE)[0], VILLAGE)
    return dataclasses.replace(message, body=body, headers={**message.headers, **headers})


def test_a_dossier_that_does_not_open_is_refused_for_good(net: Net) -> None:
    message = the_escalation(net)
    env = decode(message.body)
    # A token sealed to another node (or altered) does not open here: correctly signed anyway.
    token = seal_for(b'{"facts": "x"}', process_keyring().directory(), OTHER_TOWNSHIP, VILLAGE,
                     str(env.message_id))
    payload = env.payload.model_copy(update={"sealed": token})
    bad = resigned(message, encode(env.model_copy(update={"payload": payload})))
    reason = refused(net.township, bad)
    assert reason.startswith("seal_invalid: sealed to key ")
    assert "which this node does not hold" in reason
    assert deliver(net.township, bad).calls == ["ack"]  # recorded: a redelivery is ignored
    assert net.township.consumer.duplicates == 1


def test_personal_data_in_the_clear_is_refused(net: Net) -> None:
    message = the_escalation(net)
    township = net.township.consumer.verifier
    assert township is not None
    clear = encode(township.open(decode(message.body)))  # as a 1.x or careless sender sends
    assert NAME.encode() in clear
    reason = refused(net.township, resigned(message, clear))
    assert reason == ("seal_invalid: case_escalated carries personal data in the clear: it "
                      "must be sealed to this node")


def test_the_signer_names_each_route_s_recipient() -> None:
    signer = Signer(process_keyring().node_keys(TOWNSHIP), COUNTY)
    assert signer.recipient(EXCHANGE_UP, node_key(TOWNSHIP)) == COUNTY
    assert signer.recipient(EXCHANGE_UP, node_key(TOWNSHIP) + ".probe") == TOWNSHIP
    assert signer.recipient(EXCHANGE_DOWN, node_key(VILLAGE)) == VILLAGE
    assert signer.recipient(EXCHANGE_REPORT, node_key(TOWNSHIP)) == BROADCAST
    assert signer.recipient(EXCHANGE_QUARANTINE, "") == BROADCAST
