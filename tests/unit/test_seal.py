"""Signed and sealed envelopes (issue 15 item 3): signatures over body and route, checked with the
sender's listed key; tokens sealed to one recipient, sender and context; the key directory and
its rotation."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from nodes.config import NodeConfig
from protocol.areas import Tier
from protocol.keydir import (
    KeyDirectory,
    PublicKeys,
    export_public,
    load_directory,
    merge_directories,
    parse_directory,
    pick_signing_key,
    save_directory,
)
from protocol.keys import (
    DirectoryError,
    KeyTextError,
    SealInvalid,
    SignatureInvalid,
    TrustError,
    UnknownRecipient,
    UnknownSigner,
    key_id,
    load_sealing_key,
    load_sealing_keys,
    load_signing_key,
    load_signing_keys,
    new_sealing_key,
    new_signing_key,
    sealing_public_text,
    signing_public_text,
)
from protocol.seal import (
    BROADCAST,
    FROM_HEADER,
    KID_HEADER,
    SIG_HEADER,
    TO_HEADER,
    Routing,
    check_signature,
    is_sealed_token,
    open_sealed,
    routing_for,
    seal_for,
    seal_to,
    signature_headers,
    token_kid,
)
from protocol.topology import EXCHANGE_DOWN, EXCHANGE_REPORT, EXCHANGE_UP

VILLAGE, OTHER_VILLAGE = "330681111242", "330681111243"
TOWNSHIP, OTHER_TOWNSHIP = "330681111000", "330681112000"
BODY = json.dumps({"message_id": "m-1", "payload": {"facts": "两家因院墙边界发生争执" * 40}},
                  ensure_ascii=False).encode("utf-8")
UP = Routing(EXCHANGE_UP, "33.06.81.111.242", TOWNSHIP)
NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


class Node:
    def __init__(self, node_id: str) -> None:
        self.id = node_id
        self.signing = Ed25519PrivateKey.generate()
        self.sealing = X25519PrivateKey.generate()

    def public(self, not_after: datetime | None = None) -> PublicKeys:
        return PublicKeys.of(self.signing, self.sealing, not_after)


@pytest.fixture
def village() -> Node:
    return Node(VILLAGE)


@pytest.fixture
def township() -> Node:
    return Node(TOWNSHIP)


@pytest.fixture
def directory(village: Node, township: Node) -> KeyDirectory:
    return KeyDirectory().with_keys(VILLAGE, village.public()).with_keys(TOWNSHIP, township.public())


def signed(village: Node, routing: Routing = UP, body: bytes = BODY) -> dict[str, str]:
    return signature_headers(body, routing, village.signing, VILLAGE)


# --- signatures ---------------------------------------------------------------------------------

def test_a_signed_message_verifies_and_names_its_sender(village: Node, directory: KeyDirectory,
                                                        ) -> None:
    headers = signed(village)
    assert set(headers) == {SIG_HEADER, KID_HEADER, FROM_HEADER, TO_HEADER}
    assert headers[SIG_HEADER].startswith("s1:")
    assert headers[KID_HEADER] == key_id(village.signing)
    assert check_signature(BODY, headers, UP, directory, NOW) == VILLAGE
    # a bundle body (NDJSON) and an empty body are just bytes
    bundle = BODY + b"\n" + BODY
    assert check_signature(bundle, signed(village, body=bundle), UP, directory) == VILLAGE
    assert check_signature(b"", signed(village, body=b""), UP, directory) == VILLAGE


def test_a_signature_by_a_key_not_listed_for_the_sender_is_refused(
        village: Node, directory: KeyDirectory) -> None:
    thief = Ed25519PrivateKey.generate()
    with pytest.raises(UnknownSigner, match="not a listed signing key of 330681111242"):
        check_signature(BODY, signature_headers(BODY, UP, thief, VILLAGE), UP, directory)
    # the same wrong key claiming the real key id: the signature itself fails
    forged = signature_headers(BODY, UP, thief, VILLAGE) | {KID_HEADER: key_id(village.signing)}
    with pytest.raises(SignatureInvalid, match="does not match this body and route"):
        check_signature(BODY, forged, UP, directory)


def test_another_nodes_key_cannot_sign_as_the_sender(directory: KeyDirectory, township: Node,
                                                     ) -> None:
    """The township's own, listed key, signing a message that claims to come from the village."""
    headers = signature_headers(BODY, UP, township.signing, VILLAGE)
    with pytest.raises(UnknownSigner, match="not a listed signing key of 330681111242"):
        check_signature(BODY, headers, UP, directory)


@pytest.mark.parametrize("index", [0, 17, len(BODY) // 2, len(BODY) - 1])
def test_one_altered_body_byte_is_refused(village: Node, directory: KeyDirectory,
                                          index: int) -> None:
    body = bytearray(BODY)
    body[index] ^= 0x01
    with pytest.raises(SignatureInvalid):
        check_signature(bytes(body), signed(village), UP, directory)
    with pytest.raises(SignatureInvalid):
        check_signature(BODY + b" ", signed(village), UP, directory)


@pytest.mark.parametrize(("header", "value", "error"), [
    (FROM_HEADER, OTHER_VILLAGE, UnknownSigner),       # another sender: not listed
    (FROM_HEADER, TOWNSHIP, UnknownSigner),            # a listed node, but not with this key
    (KID_HEADER, "00" * 8, UnknownSigner),
    (KID_HEADER, "not a key id", SignatureInvalid),
    (TO_HEADER, OTHER_TOWNSHIP, SignatureInvalid),
    (TO_HEADER, BROADCAST, SignatureInvalid),
    (SIG_HEADER, "s2:AAAA", SignatureInvalid),
    (SIG_HEADER, "s1:AAAA", SignatureInvalid),
    (SIG_HEADER, 12345, SignatureInvalid),
    (FROM_HEADER, "x" * 500, SignatureInvalid),
])
def test_an_altered_header_is_refused(village: Node, directory: KeyDirectory, header: str,
                                      value: object, error: type[TrustError]) -> None:
    headers: dict[str, object] = dict(signed(village))
    headers[header] = value
    with pytest.raises(error):
        check_signature(BODY, headers, UP, directory)


def test_one_altered_signature_character_is_refused(village: Node, directory: KeyDirectory,
                                                    ) -> None:
    headers = signed(village)
    sig = headers[SIG_HEADER]
    for i in (3, 40, len(sig) - 3):
        swapped = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1:]
        with pytest.raises(SignatureInvalid):
            check_signature(BODY, headers | {SIG_HEADER: swapped}, UP, directory)
    # the same signature spelt another way (standard alphabet, spare bits) is not accepted either
    with pytest.raises(SignatureInvalid):
        check_signature(BODY, headers | {SIG_HEADER: sig.replace("-", "+").replace("_", "/")
                                         + ("" if "-" in sig or "_" in sig else "=")},
                        UP, directory)


def test_an_unsigned_message_is_refused(village: Node, directory: KeyDirectory) -> None:
    for missing in (SIG_HEADER, KID_HEADER, FROM_HEADER, TO_HEADER):
        headers = {k: v for k, v in signed(village).items() if k != missing}
        with pytest.raises(SignatureInvalid, match=f"no {missing} header"):
            check_signature(BODY, headers, UP, directory)


def test_header_values_as_bytes_are_read(village: Node, directory: KeyDirectory) -> None:
    headers = {k: v.encode("ascii") for k, v in signed(village).items()}
    assert check_signature(BODY, headers, UP, directory) == VILLAGE


@pytest.mark.parametrize("replayed", [
    Routing(EXCHANGE_UP, "33.06.81.111.242", OTHER_TOWNSHIP),   # another recipient
    Routing(EXCHANGE_UP, "33.06.81.111.243", TOWNSHIP),         # another routing key
    Routing(EXCHANGE_DOWN, "33.06.81.111.242", TOWNSHIP),       # another exchange
    Routing(EXCHANGE_REPORT, "33.06.81.111.242", BROADCAST),
])
def test_a_message_replayed_to_another_route_or_recipient_is_refused(
        village: Node, directory: KeyDirectory, replayed: Routing) -> None:
    with pytest.raises(SignatureInvalid, match="replayed"):
        check_signature(BODY, signed(village), replayed, directory)


def test_reports_are_signed_for_every_hub_and_down_messages_for_one(
        village: Node, township: Node, directory: KeyDirectory) -> None:
    report = routing_for(EXCHANGE_REPORT, "33.06.81.111.242", TOWNSHIP)
    assert report.recipient == BROADCAST
    headers = signed(village, report)
    for hub in ("330681000000", "330600000000"):   # county and city both check it
        assert check_signature(BODY, headers, routing_for(EXCHANGE_REPORT, report.routing_key,
                                                          hub), directory) == VILLAGE
    down = routing_for(EXCHANGE_DOWN, "33.06.81.111.242", VILLAGE)
    headers = signature_headers(BODY, down, township.signing, TOWNSHIP)
    assert check_signature(BODY, headers, down, directory) == TOWNSHIP
    with pytest.raises(SignatureInvalid, match="signed for 330681111242, not for 330681111243"):
        check_signature(BODY, headers, routing_for(EXCHANGE_DOWN, "33.06.81.111.242",
                                                   OTHER_VILLAGE), directory)


def test_an_unknown_signer_is_refused(directory: KeyDirectory) -> None:
    stranger = Node(OTHER_VILLAGE)
    with pytest.raises(UnknownSigner, match="sender 330681111243 is not in the key directory"):
        check_signature(BODY, signature_headers(BODY, UP, stranger.signing, OTHER_VILLAGE), UP,
                        directory)


def test_rotated_keys_verify_while_listed_and_not_after(village: Node, directory: KeyDirectory,
                                                        ) -> None:
    old = village.signing
    new = Node(VILLAGE)
    retire = NOW + timedelta(days=30)
    rotated = directory.with_keys(VILLAGE, new.public(), retire_others_after=retire)
    assert [e.not_after for e in rotated.keys_of(VILLAGE)] == [retire, None]
    for key in (old, new.signing):
        headers = signature_headers(BODY, UP, key, VILLAGE)
        assert check_signature(BODY, headers, UP, rotated, NOW) == VILLAGE
    old_headers = signature_headers(BODY, UP, old, VILLAGE)
    with pytest.raises(UnknownSigner, match="expired"):
        check_signature(BODY, old_headers, UP, rotated, retire + timedelta(seconds=1))
    removed = rotated.without_key(VILLAGE, key_id(old))
    with pytest.raises(UnknownSigner, match="not a listed signing key"):
        check_signature(BODY, old_headers, UP, removed, NOW)
    assert check_signature(BODY, signature_headers(BODY, UP, new.signing, VILLAGE), UP,
                           removed, NOW) == VILLAGE


def test_a_node_signs_with_its_newest_listed_key(village: Node, directory: KeyDirectory) -> None:
    new = Node(VILLAGE)
    mine = (new.signing, village.signing)  # secrets hold "NEW OLD"
    assert pick_signing_key(mine, directory, VILLAGE, NOW) is village.signing  # NEW not yet out
    rotated = directory.with_keys(VILLAGE, new.public())
    assert pick_signing_key(mine, rotated, VILLAGE, NOW) is new.signing
    with pytest.raises(UnknownSigner, match="none of 330681111242's signing keys"):
        pick_signing_key((Ed25519PrivateKey.generate(),), rotated, VILLAGE, NOW)


# --- sealing ------------------------------------------------------------------------------------

def sealed(township: Node, plaintext: bytes = BODY, context: str = "m-1") -> str:
    return seal_to(plaintext, township.sealing.public_key(), TOWNSHIP, VILLAGE, context)


def test_a_sealed_token_opens_for_its_recipient_only(township: Node) -> None:
    token = sealed(township)
    assert is_sealed_token(token)
    assert not is_sealed_token(BODY.decode())
    assert token_kid(token) == key_id(township.sealing)
    assert b"\xe9\x99\xa2" not in token.encode()
    assert "院墙" not in token
    assert open_sealed(token, township.sealing, TOWNSHIP, VILLAGE, "m-1") == BODY
    assert sealed(township) != token  # a fresh ephemeral key and nonce every time
    assert open_sealed(sealed(township, b""), township.sealing, TOWNSHIP, VILLAGE, "m-1") == b""


def test_a_token_does_not_open_with_another_private_key(township: Node) -> None:
    token = sealed(township)
    other = X25519PrivateKey.generate()
    with pytest.raises(SealInvalid, match="which this node does not hold"):
        open_sealed(token, other, TOWNSHIP, VILLAGE, "m-1")
    # another key relabelled with the recipient's key id: the key exchange gives another key
    relabelled = token.replace(key_id(township.sealing), key_id(other))
    with pytest.raises(SealInvalid, match="does not open"):
        open_sealed(relabelled, other, TOWNSHIP, VILLAGE, "m-1")


@pytest.mark.parametrize(("recipient", "sender", "context"), [
    (OTHER_TOWNSHIP, VILLAGE, "m-1"),   # replayed to another recipient (holding the same key)
    (TOWNSHIP, OTHER_VILLAGE, "m-1"),   # presented as from another sender
    (TOWNSHIP, VILLAGE, "m-2"),         # copied into another message
])
def test_a_token_does_not_open_under_another_binding(township: Node, recipient: str,
                                                     sender: str, context: str) -> None:
    with pytest.raises(SealInvalid, match="does not open"):
        open_sealed(sealed(township), township.sealing, recipient, sender, context)


def test_one_altered_token_character_is_refused(township: Node) -> None:
    token = sealed(township)
    version, kid, eph, nonce, ct = token.split(":")
    starts = {"eph": len(f"{version}:{kid}:"), "nonce": len(f"{version}:{kid}:{eph}:"),
              "ct": len(f"{version}:{kid}:{eph}:{nonce}:")}
    for i in (starts["eph"] + 5, starts["nonce"] + 3, starts["ct"], starts["ct"] + 200,
              len(token) - 5):
        altered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        with pytest.raises(SealInvalid):
            open_sealed(altered, township.sealing, TOWNSHIP, VILLAGE, "m-1")
    for broken in (token[:-4], token + "AAAA", token.replace(":", "::", 1),
                   f"{version}:{kid}:{eph}:{nonce}:", f"{version}:{kid}:{eph}:{nonce}:{ct}+"):
        with pytest.raises(SealInvalid):
            open_sealed(broken, township.sealing, TOWNSHIP, VILLAGE, "m-1")


def test_the_token_format_is_versioned(township: Node) -> None:
    token = sealed(township)
    version, kid, eph, nonce, ct = token.split(":")
    assert version == "x1"
    assert len(kid) == 16
    assert len(nonce) == 16
    with pytest.raises(SealInvalid, match="version 'x2' is not known"):
        open_sealed(":".join(["x2", kid, eph, nonce, ct]), township.sealing, TOWNSHIP, VILLAGE,
                    "m-1")
    with pytest.raises(SealInvalid, match="not a sealed token"):
        open_sealed("fq1:abcdef01:AAAA", township.sealing, TOWNSHIP, VILLAGE, "m-1")
    assert token_kid("x2:" + token[3:]) is None


def test_a_rotated_recipient_opens_old_and_new_tokens(township: Node,
                                                      directory: KeyDirectory) -> None:
    old_token = seal_for(BODY, directory, TOWNSHIP, VILLAGE, "m-1", NOW)
    new = Node(TOWNSHIP)
    rotated = directory.with_keys(TOWNSHIP, new.public(), retire_others_after=NOW)
    new_token = seal_for(BODY, rotated, TOWNSHIP, VILLAGE, "m-1", NOW)
    assert token_kid(new_token) == key_id(new.sealing)
    held = (new.sealing, township.sealing)
    for token in (old_token, new_token):
        assert open_sealed(token, held, TOWNSHIP, VILLAGE, "m-1") == BODY
    with pytest.raises(UnknownRecipient, match="330681111243"):
        seal_for(BODY, rotated, OTHER_VILLAGE, VILLAGE, "m-1")


# --- keys and the directory ---------------------------------------------------------------------

def test_key_texts_load_and_bad_ones_are_named() -> None:
    signing, sealing = new_signing_key(), new_sealing_key()
    assert len(signing) == len(sealing) == 44
    assert signing_public_text(signing) != sealing_public_text(sealing)
    assert load_signing_key(signing).private_bytes_raw() == load_signing_keys(
        f"{signing} {new_signing_key()}")[0].private_bytes_raw()
    assert len(load_sealing_keys(f"{new_sealing_key()} {sealing}")) == 2
    for text, reason in ((None, "no sealing_key is configured"), ("", "no sealing_key"),
                         ("abc", "key 1 is not a key"), (sealing[:-2], "not a key"),
                         (f"{sealing} {sealing[:10]}", "sealing_key key 2 is not a key")):
        with pytest.raises(KeyTextError, match=reason):
            load_sealing_key(text)


def test_the_directory_round_trips_through_its_file(tmp_path: Path, directory: KeyDirectory,
                                                    village: Node) -> None:
    rotated = directory.with_keys(VILLAGE, Node(VILLAGE).public(), retire_others_after=NOW)
    path = tmp_path / "keys.json"
    save_directory(path, rotated)
    assert path.stat().st_mode & 0o777 == 0o644
    loaded = load_directory(path)
    assert loaded.to_json() == rotated.to_json()
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert sorted(data["nodes"]) == [TOWNSHIP, VILLAGE]
    assert data["nodes"][VILLAGE][0] == {"kid": key_id(village.signing),
                                         "signing": signing_public_text(
                                             _text(village.signing.private_bytes_raw())),
                                         "sealing": sealing_public_text(
                                             _text(village.sealing.private_bytes_raw())),
                                         "not_after": NOW.isoformat()}
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def _entry(node: Node) -> dict[str, str]:
    return node.public().as_json()


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda d: "not json", "is not valid JSON"),
    (lambda d: {**d, "version": 2}, "not a version 1 key directory"),
    (lambda d: {"version": 1, "nodes": []}, "field 'nodes' is not an object"),
    (lambda d: {"version": 1, "nodes": {"12": []}}, "area code"),
    (lambda d: {"version": 1, "nodes": {VILLAGE: []}}, "not a non-empty list"),
    (lambda d: _one(d, kid="0123456789abcdef"), "is not the id of its signing key"),
    (lambda d: _one(d, signing="AAAA"), "field 'signing' is not a public key"),
    (lambda d: _one(d, sealing=None), "field 'sealing' is missing"),
    (lambda d: _one(d, not_afer="2026-01-01T00:00:00+08:00"), "'not_afer' is not a key"),
    (lambda d: _one(d, not_after="2026-01-01T00:00:00"), "must carry a time zone"),
    (lambda d: _one(d, not_after="soon"), "not an ISO date"),
    (lambda d: {"version": 1, "nodes": {VILLAGE: [d["nodes"][VILLAGE][0]] * 2}},
     "lists the same key twice"),
])
def test_a_bad_directory_is_refused_with_its_reason(
        tmp_path: Path, village: Node, mutate: Callable[[dict[str, Any]], object],
        reason: str) -> None:
    good: dict[str, Any] = {"version": 1, "nodes": {VILLAGE: [_entry(village)]}}
    data = mutate(good)
    path = tmp_path / "keys.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    with pytest.raises(DirectoryError, match=reason) as caught:
        load_directory(path)
    assert str(path) in str(caught.value)


def _one(data: dict[str, Any], **change: object) -> object:
    entry = {k: v for k, v in {**data["nodes"][VILLAGE][0], **change}.items() if v is not None}
    return {"version": 1, "nodes": {VILLAGE: [entry]}}


def test_a_missing_directory_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match=r"keys file .*nothing\.json not found"):
        load_directory(tmp_path / "nothing.json")


def test_adding_and_removing_keys_is_checked(directory: KeyDirectory, village: Node) -> None:
    with pytest.raises(DirectoryError, match="already listed"):
        directory.with_keys(VILLAGE, village.public())
    with pytest.raises(DirectoryError, match="not listed"):
        directory.without_key(VILLAGE, "00" * 8)
    assert directory.without_key(VILLAGE, key_id(village.signing)).nodes() == [TOWNSHIP]


def test_export_public_gathers_into_one_directory(tmp_path: Path) -> None:
    old_sign, old_seal = new_signing_key(), new_sealing_key()
    new_sign, new_seal = new_signing_key(), new_sealing_key()
    config = NodeConfig(node_id=VILLAGE, tier=Tier.VILLAGE, database=tmp_path / "db",
                        signing_key=f"{new_sign} {old_sign}", sealing_key=f"{new_seal} {old_seal}")
    mine = export_public(config, retire_after=NOW)
    listed = mine.keys_of(VILLAGE)
    assert [e.kid for e in listed] == [key_id(load_signing_key(s)) for s in (old_sign, new_sign)]
    assert [e.not_after for e in listed] == [NOW, None]
    assert mine.sealing_entry(VILLAGE, NOW).sealing_kid == key_id(load_sealing_key(new_seal))
    township = NodeConfig(node_id=TOWNSHIP, tier=Tier.TOWNSHIP, database=tmp_path / "db2",
                          signing_key=new_signing_key(), sealing_key=new_sealing_key())
    gathered = merge_directories([mine, export_public(township), mine])
    assert gathered.nodes() == sorted([VILLAGE, TOWNSHIP])
    assert parse_directory(gathered.to_json()).to_json() == gathered.to_json()
    with pytest.raises(DirectoryError, match="listed twice with different keys"):
        merge_directories([mine, export_public(config)])
    unpaired = config.model_copy(update={"sealing_key": new_seal})
    with pytest.raises(DirectoryError, match="2 signing keys but 1 sealing keys"):
        export_public(unpaired)
