"""A refused message is kept with its reason, and its body sealed at rest (DOMAIN §7): a refused
dossier carries the parties' names, ID numbers, phones and addresses, and a message that failed to
decode has no schema to say it does not. Opened again, every body is exactly what arrived."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fengqiao.bootstrap import bootstrap
from nodes.config import NodeConfig
from nodes.crypto import PersonalDataError, new_key
from nodes.domain import commands as cmd
from nodes.keyring import process_keyring
from nodes.messaging.delivery import Delivery
from nodes.messaging.memory import MemoryBroker
from nodes.messaging.signing import Verifier
from nodes.node import Node
from nodes.service import PartyInput
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import Tier
from protocol.envelope import decode, encode
from protocol.reference import CaseSource, EscalationReason
from protocol.routing import node_key
from protocol.topology import EXCHANGE_UP
from tests.support.messages import FakeMessage
from tests.support.signed import signed

VILLAGE, OTHER_TOWNSHIP = "330681111242", "330681112000"  # not the village's township
NAME, ID_NUMBER, PHONE, ADDRESS = "欧阳娜娜", "330681199203154324", "13912345678", "状元村九组3号"
SECRETS = [s.encode("utf-8") for s in (NAME, ID_NUMBER, PHONE, ADDRESS)]
AT = datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def file_bytes(db: Path) -> bytes:
    """The database as it lies on disk, WAL included."""
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


def config(tmp_path: Path, code: str, tier: Tier, key: str | None = None) -> NodeConfig:
    return NodeConfig(node_id=code, tier=tier, database=tmp_path / f"{code}.db",
                      identity_key="unit-test-identity-key", data_key=key or new_key())


def node(cfg: NodeConfig) -> Node:
    return bootstrap(cfg, broker=MemoryBroker())


def dossier(tmp_path: Path) -> bytes:
    """A real escalation dossier in the clear, as a sender that does not seal (a 1.x node, a
    forger) would publish it: the village's own, opened with its parent's key."""
    village = node(config(tmp_path, VILLAGE, Tier.VILLAGE))
    try:
        case = village.service.new_case(
            source=CaseSource.APPLICATION, dispute_type="02", facts="排水沟堵塞",
            parties=[PartyInput("applicant", NAME, ID_NUMBER, PHONE, ADDRESS)])
        village.service.act(case.case_id, lambda c, a, t: cmd.escalate(
            c, a, t, reason=EscalationReason.GROUP_CASE, consent_given=True))
        (row,) = [r for r in village.store.unsent() if r.schema_name == "case_escalated"]
        parent = Verifier(process_keyring().node_keys(village.config.parent_id or ""), None)
        return encode(parent.open(decode(row.body)))
    finally:
        village.close()


def refuse(hub: Node, body: bytes) -> FakeMessage:
    """Deliver `body` to the hub as if from the village; the hub is not its parent."""
    message = FakeMessage()
    hub.declare()  # its quarantine copy goes to the (in-memory) broker's quarantine queue
    headers = signed(body, EXCHANGE_UP, node_key(VILLAGE), sender=VILLAGE, to=hub.node_id)
    hub.consumer.handle(Delivery(body, EXCHANGE_UP, node_key(VILLAGE), VILLAGE, headers, message))
    return message


@pytest.fixture
def stranger(tmp_path: Path) -> Iterator[Node]:
    """A township that is not the village's parent: it must refuse the village's dossier."""
    hub = node(config(tmp_path, OTHER_TOWNSHIP, Tier.TOWNSHIP))
    yield hub
    hub.close()


def test_a_refused_dossier_is_sealed_on_disk_and_opens_as_it_arrived(
        tmp_path: Path, stranger: Node) -> None:
    body = dossier(tmp_path)
    assert all(s in body for s in SECRETS)  # the test can fail: the dossier carries them all
    assert refuse(stranger, body).calls == ["ack"]
    (row,) = stranger.store.quarantined()
    assert f"is not a child of {OTHER_TOWNSHIP}" in row["reason"]
    assert row["body"] == body
    raw = stranger.store._db.execute("SELECT body, sealed FROM quarantine").fetchone()
    assert raw[1] == 1
    assert bytes(raw[0]).startswith(b"fq1:")
    assert not any(s in file_bytes(stranger.store.path) for s in SECRETS)


@pytest.mark.parametrize("body", [b"\xff\xfe not UTF-8 \x00", b"fq1:deadbeef:looks-sealed", b""],
                         ids=["not-utf8", "looks-like-a-token", "empty"])
def test_any_bytes_come_back_exactly(stranger: Node, body: bytes) -> None:
    assert refuse(stranger, body).calls == ["ack"]
    assert [r["body"] for r in stranger.store.quarantined()] == [body]


def test_without_a_key_nothing_is_quarantined_in_the_clear(tmp_path: Path) -> None:
    body = dossier(tmp_path)
    store = SqliteStore(tmp_path / "keyless.db")
    try:
        with pytest.raises(PersonalDataError, match="data_key"):
            store.quarantine(body, "refused", AT)
        assert store._db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    finally:
        store.close()
    assert not any(s in file_bytes(tmp_path / "keyless.db") for s in SECRETS)


def plaintext_quarantine(db: Path, body: bytes) -> None:
    """What an older version left: a refused dossier kept as it arrived."""
    SqliteStore(db).close()  # the schema, with no key
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO quarantine (received_at, reason, body) VALUES (?, ?, ?)",
                     [AT.isoformat(), "refused", body])
    conn.close()


def test_migration_seals_bodies_quarantined_before(tmp_path: Path) -> None:
    body, key = dossier(tmp_path), new_key()
    db = tmp_path / f"{OTHER_TOWNSHIP}.db"
    plaintext_quarantine(db, body)
    assert all(s in file_bytes(db) for s in SECRETS)  # the test can fail
    hub = node(config(tmp_path, OTHER_TOWNSHIP, Tier.TOWNSHIP, key))
    try:
        assert [r["body"] for r in hub.store.quarantined()] == [body]
    finally:
        hub.close()
    assert not any(s in file_bytes(db) for s in SECRETS)
    again = node(config(tmp_path, OTHER_TOWNSHIP, Tier.TOWNSHIP, key))  # nothing left to seal
    assert [r["body"] for r in again.store.quarantined()] == [body]
    again.close()


def test_a_wrong_key_is_refused_on_a_hub_that_has_only_quarantined(tmp_path: Path,
                                                                   stranger: Node) -> None:
    refuse(stranger, b"not json")
    stranger.close()
    with pytest.raises(PersonalDataError) as info:
        node(config(tmp_path, OTHER_TOWNSHIP, Tier.TOWNSHIP))
    assert "key id" in str(info.value)
