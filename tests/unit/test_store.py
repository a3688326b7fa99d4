"""The node's SQLite store on a real file: durability settings, append-only events, personal data
kept to `parties`, all-or-nothing commits, and the config loader (DESIGN §4, §5; DOMAIN §7)."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nodes.config import ConfigError, load_config
from nodes.crypto import DataCipher, new_key
from nodes.domain import commands as cmd
from nodes.domain.case import Rules
from nodes.identity import IdentityHasher
from nodes.records import OutboxRow
from nodes.secrets import SecretsError
from nodes.service import CaseService, PartyInput
from nodes.store.errors import StoreConflict
from nodes.store.inbox import InboxEntry
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import Tier
from protocol.envelope import decode
from protocol.messages import CaseEscalated
from protocol.reference import CaseSource, EscalationReason

SH = ZoneInfo("Asia/Shanghai")
VILLAGE = "330681111242"
NAME, ID_NUMBER, PHONE, ADDRESS = "张三", "330681199001011237", "13800000000", "状元村八组17号"
OTHER = PartyInput("respondent", "李四", None, "057187654321")
PARTY = PartyInput("applicant", NAME, ID_NUMBER, PHONE, ADDRESS)
SECRETS = (NAME, ID_NUMBER, PHONE, ADDRESS, "李四", "057187654321")
CIPHER = DataCipher(new_key())  # personal data is sealed at rest (tests/unit/test_crypto.py)


@dataclass
class FixedClock:
    current: datetime = datetime(2025, 3, 3, 9, 0, tzinfo=SH)

    def now(self) -> datetime:
        return self.current


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "node.db"


@pytest.fixture
def store(db_path: Path) -> Any:
    s = SqliteStore(db_path, cipher=CIPHER)
    yield s
    s.close()


def service_for(store: SqliteStore) -> CaseService:
    return CaseService(store, FixedClock(), node_id=VILLAGE, tier=Tier.VILLAGE, rules=Rules(),
                       hasher=IdentityHasher("unit-test-salt", "test"),
                       seal=None)  # rows in the clear: these tests read the dossier


def open_case(service: CaseService) -> str:
    case = service.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                            facts="两户因排水沟堵塞发生争执", parties=[PARTY, OTHER])
    return case.case_id


def dump(path: Path) -> list[str]:
    """Everything committed in the file, read through a fresh connection."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def count(store: SqliteStore, table: str) -> int:
    return int(store._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# --- durability settings and migrations ---------------------------------------------------------
def test_wal_and_synchronous_full(store: SqliteStore, db_path: Path) -> None:
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    # WAL is a property of the file: another connection sees it too.
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_migrations_are_idempotent(db_path: Path) -> None:
    first = SqliteStore(db_path, cipher=CIPHER)
    case_id = open_case(service_for(first))
    applied = first._db.execute(
        "SELECT migration_set, name FROM _sqlite_migrations ORDER BY id").fetchall()
    assert applied, "migrations were not recorded"
    first.close()
    before = dump(db_path)
    for _ in range(2):
        again = SqliteStore(db_path, cipher=CIPHER)
        assert again._db.execute(
            "SELECT migration_set, name FROM _sqlite_migrations ORDER BY id").fetchall() == applied
        assert again.load_case(case_id) is not None
        again.close()
    assert dump(db_path) == before


# --- append-only events -------------------------------------------------------------------------
def test_case_events_refuse_update_and_delete(store: SqliteStore, db_path: Path) -> None:
    open_case(service_for(store))
    before = dump(db_path)
    for sql in ("UPDATE case_events SET reason = 'changed'",
                "UPDATE case_events SET seq = seq + 1",
                "DELETE FROM case_events"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            store._db.execute(sql)
        assert not store._db.conn.in_transaction
    # Also through a plain connection that knows nothing of sqlite-utils.
    conn = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM case_events WHERE seq = 1")
        conn.rollback()
    finally:
        conn.close()
    assert dump(db_path) == before
    assert count(store, "case_events") == 1


# --- personal data stays in `parties` -----------------------------------------------------------
def _escalated_case(store: SqliteStore) -> str:
    service = service_for(store)
    case_id = open_case(service)
    service.act(case_id, cmd.consent)
    service.act(case_id, lambda c, a, t: cmd.accept(c, a, t, Rules()))
    service.act(case_id, lambda c, a, t: cmd.mediate(c, a, t, Rules()))
    service.act(case_id, lambda c, a, t: cmd.escalate(
        c, a, t, reason=EscalationReason.NO_AGREEMENT, consent_given=True, note="双方同意上报"))
    return case_id


def _texts(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return "" if value is None else str(value)


def _leaks(text: str) -> list[str]:
    # Also the \\u-escaped JSON form, in case a writer escapes non-ASCII.
    return [s for s in SECRETS if s in text or json.dumps(s)[1:-1] in text]


def test_personal_data_only_in_parties_and_the_escalation_dossier(store: SqliteStore) -> None:
    case_id = _escalated_case(store)
    assert store.load_case(case_id).state == "ESCALATED"  # type: ignore[union-attr]

    for table in ("cases", "case_events"):
        rows = store._db.execute(f"SELECT * FROM {table}").fetchall()
        assert rows
        for row in rows:
            text = " ".join(_texts(v) for v in row)
            assert not _leaks(text), f"{table} row holds personal data: {_leaks(text)}"

    reports = store._db.execute(
        "SELECT body FROM outbox WHERE schema_name = 'lifecycle_report'").fetchall()
    assert len(reports) == 4  # register, accept, mediate, escalate
    hashes = {p.party_hash for p in store.parties(case_id)}
    assert len(hashes) == 2
    for (body,) in reports:
        assert not _leaks(_texts(body)), _leaks(_texts(body))
        assert set(decode(body).payload.party_hashes) == hashes  # type: ignore[union-attr]

    # The escalation is the dossier: it must carry the parties, by design (sealed while it waits
    # in the outbox, in the clear in the message itself).
    (message_id, sealed) = store._db.execute(
        "SELECT message_id, body FROM outbox WHERE schema_name = 'case_escalated'").fetchone()
    assert not _leaks(_texts(sealed))
    body = store.outbox_body(message_id)
    assert body is not None
    payload = decode(body).payload
    assert isinstance(payload, CaseEscalated)
    applicant = payload.parties[0]
    assert (applicant.name, applicant.id_number, applicant.phone, applicant.address) == (
        NAME, ID_NUMBER, PHONE, ADDRESS)

    # On disk the parties are sealed; through the store they read back as entered.
    party_rows = store._db.execute(
        "SELECT name, id_number, phone, address FROM parties ORDER BY id").fetchall()
    assert not _leaks(" ".join(_texts(v) for row in party_rows for v in row))
    assert [(p.name, p.id_number, p.phone, p.address) for p in store.parties(case_id)] == [
        (NAME, ID_NUMBER, PHONE, ADDRESS), ("李四", None, "057187654321", None)]


def test_party_hash_is_salted(db_path: Path, tmp_path: Path) -> None:
    a = SqliteStore(db_path, cipher=CIPHER)
    b = SqliteStore(tmp_path / "other.db", cipher=CIPHER)
    try:
        id_a = open_case(service_for(a))
        other = CaseService(b, FixedClock(), node_id=VILLAGE, tier=Tier.VILLAGE, rules=Rules(),
                            hasher=IdentityHasher("another-salt", "test"), seal=None)
        id_b = open_case(other)
        same_salt = open_case(service_for(a))
        hash_a = a.parties(id_a)[0].party_hash
        assert hash_a != b.parties(id_b)[0].party_hash
        assert hash_a == a.parties(same_salt)[0].party_hash  # finds repeats across cases
        assert ID_NUMBER not in hash_a
    finally:
        a.close()
        b.close()


# --- all or nothing -----------------------------------------------------------------------------
def _failing(monkeypatch: pytest.MonkeyPatch, store: SqliteStore, method: str,
             events_before: int) -> list[int]:
    """Make `method` raise, after checking the events were already written in the transaction."""
    seen: list[int] = []

    def boom(self: SqliteStore, *args: Any, **kwargs: Any) -> None:
        seen.append(count(self, "case_events"))
        assert count(self, "case_events") > events_before  # we really fail half-way
        raise RuntimeError("disk gone")

    monkeypatch.setattr(SqliteStore, method, boom)
    return seen


@pytest.mark.parametrize("method", ["add_outbox", "add_parties"])
def test_new_case_failing_half_way_leaves_file_unchanged(
    store: SqliteStore, db_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    service = service_for(store)
    first = open_case(service)  # so the tables and the case counter are not empty
    before = dump(db_path)
    seen = _failing(monkeypatch, store, method, count(store, "case_events"))
    with pytest.raises(RuntimeError, match="disk gone"):
        open_case(service)
    assert seen, f"{method} was never reached"
    assert not store._db.conn.in_transaction
    assert dump(db_path) == before
    monkeypatch.undo()
    # The store still works, and the case number that failed is not burnt.
    second = open_case(service)
    assert second.endswith("-00002")
    assert first.endswith("-00001")


def test_act_failing_half_way_leaves_file_unchanged(
    store: SqliteStore, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = service_for(store)
    case_id = open_case(service)
    service.act(case_id, cmd.consent)
    before = dump(db_path)
    seen = _failing(monkeypatch, store, "add_outbox", count(store, "case_events"))
    with pytest.raises(RuntimeError, match="disk gone"):
        service.act(case_id, lambda c, a, t: cmd.accept(c, a, t, Rules()))
    assert seen
    assert not store._db.conn.in_transaction
    assert dump(db_path) == before
    assert store.load_case(case_id).state == "REGISTERED"  # type: ignore[union-attr]
    monkeypatch.undo()
    case = service.act(case_id, lambda c, a, t: cmd.accept(c, a, t, Rules()))
    assert case.state == "ACCEPTED"
    assert case.seq == 3


def test_refused_command_writes_nothing(store: SqliteStore, db_path: Path) -> None:
    service = service_for(store)
    case_id = open_case(service)
    before = dump(db_path)
    with pytest.raises(cmd.DomainError):
        service.act(case_id, lambda c, a, t: cmd.accept(c, a, t, Rules()))  # no consent
    assert dump(db_path) == before


# --- several connections ------------------------------------------------------------------------
def test_second_store_in_another_thread_sees_committed_data(
    store: SqliteStore, db_path: Path
) -> None:
    case_id = _escalated_case(store)
    found: dict[str, Any] = {}

    def reader() -> None:
        other = SqliteStore(db_path, cipher=CIPHER)
        try:
            case = other.load_case(case_id)
            found["state"] = case.state if case else None
            found["seq"] = case.seq if case else None
            found["depth"] = other.outbox_depth()
        finally:
            other.close()

    thread = threading.Thread(target=reader)
    thread.start()
    thread.join(timeout=10)
    assert found == {"state": "ESCALATED", "seq": 5, "depth": store.outbox_depth()}
    assert found["depth"] == 5  # 4 reports + 1 escalation


def _outbox_row(seq: int) -> OutboxRow:
    return OutboxRow(message_id=str(uuid.uuid4()), case_id="C-1", seq=seq,
                     exchange="fengqiao.report", routing_key="33.06.81.111.242",
                     schema_name="lifecycle_report", body=b"{}",
                     created_at=datetime(2025, 3, 3, tzinfo=SH).isoformat())


def test_uncommitted_writes_are_invisible_to_another_store(
    store: SqliteStore, db_path: Path
) -> None:
    other = SqliteStore(db_path, cipher=CIPHER)
    try:
        with store.atomic():
            store.add_outbox([_outbox_row(1)])
            assert store.outbox_depth() == 1
            assert other.outbox_depth() == 0
        assert other.outbox_depth() == 1
    finally:
        other.close()


# --- outbox and inbox ---------------------------------------------------------------------------
def test_unsent_in_order_and_mark_sent(store: SqliteStore) -> None:
    rows = [_outbox_row(seq) for seq in (3, 1, 2, 5, 4)]
    with store.atomic():
        store.add_outbox(rows)
    unsent = store.unsent()
    assert [r.message_id for r in unsent] == [r.message_id for r in rows]  # insertion order
    ids = [r.id for r in unsent]
    assert all(isinstance(i, int) for i in ids)
    assert ids == sorted(ids)
    assert [r.body for r in unsent] == [b"{}"] * 5
    assert [r.message_id for r in store.unsent(limit=2)] == [rows[0].message_id,
                                                             rows[1].message_id]

    sent_at = datetime(2025, 3, 3, 10, 0, tzinfo=SH)
    store.mark_sent([ids[1], ids[3]], sent_at)  # type: ignore[list-item]
    assert [r.id for r in store.unsent()] == [ids[0], ids[2], ids[4]]
    assert store.outbox_depth() == 3
    stamped = dict(store._db.execute("SELECT id, sent_at FROM outbox").fetchall())
    assert stamped[ids[1]] == sent_at.isoformat()
    assert stamped[ids[0]] is None

    later = _outbox_row(6)
    with store.atomic():
        store.add_outbox([later])
    assert store.unsent()[-1].message_id == later.message_id
    store.mark_sent([r.id for r in store.unsent()], sent_at + timedelta(seconds=1))  # type: ignore
    assert store.unsent() == []
    assert store.outbox_depth() == 0


def test_outbox_message_id_is_unique(store: SqliteStore) -> None:
    row = _outbox_row(1)
    with store.atomic():
        store.add_outbox([row])
    with pytest.raises(StoreConflict), store.atomic():
        store.add_outbox([row])
    assert store.outbox_depth() == 1


def test_inbox_seen_and_duplicate_rejected(store: SqliteStore) -> None:
    message_id = str(uuid.uuid4())
    at = datetime(2025, 3, 3, 10, tzinfo=SH)
    assert not store.seen(message_id)
    store.record_seen(InboxEntry(message_id, "330681111000", "C-1", 1, "case_decision"), at)
    assert store.seen(message_id)
    assert not store.seen(str(uuid.uuid4()))
    with pytest.raises(StoreConflict):
        store.record_seen(InboxEntry(message_id, "330681111000", "C-1", 2, "case_decision"), at)
    assert count(store, "inbox") == 1
    assert store._db.execute("SELECT seq FROM inbox").fetchone()[0] == 1


# --- configuration ------------------------------------------------------------------------------
GOOD = """
node_id = "330681111242"
tier = "village"
database = "node.db"
"""
SECRETS_FILE = 'identity_key = "0123456789abcdef"\n'


def write(tmp_path: Path, text: str, secrets: str = SECRETS_FILE, mode: int = 0o600) -> Path:
    path = tmp_path / "fengqiao.toml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "secrets.toml").write_text(secrets, encoding="utf-8")
    (tmp_path / "secrets.toml").chmod(mode)
    return path


def test_good_config_loads_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.node_id == VILLAGE
    assert config.tier is Tier.VILLAGE
    assert config.database == tmp_path / "node.db"
    assert config.parent_id == "330681111000"
    assert config.identity_key == "0123456789abcdef"  # from the secrets file beside it
    assert config.require_user_id  # on unless the config says otherwise


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="not found") as info:
        load_config(missing)
    assert str(missing) in str(info.value)


def test_bad_toml(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "\ntier = = village\n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config(path)
    assert str(path) in str(info.value)


CONFIG_ERRORS: dict[str, tuple[Callable[[str], str], tuple[str, ...]]] = {
    "tier/code mismatch": (lambda g: g.replace('"village"', '"township"'),
                           ("tier", "township", "330681111242")),
    "unknown field": (lambda g: g + 'colour = "red"\n', ("colour",)),
    "a secret in the config": (lambda g: g + 'data_key = "x"\n', ("data_key", "secrets file")),
    "a password in the URL": (lambda g: g + 'broker_url = "amqp://n:pw@h/fengqiao"\n',
                              ("broker_url", "broker_password")),
    "bad node id": (lambda g: g.replace('"330681111242"', '"330681000242"'),
                    ("node_id", "330681000242")),
    "bad parent": (lambda g: g + 'parent = "12345"\n', ("parent",)),
    "bad target days": (lambda g: g + "target_days = 0\n", ("target_days",)),
}


@pytest.mark.parametrize("case", CONFIG_ERRORS, ids=list(CONFIG_ERRORS))
def test_config_errors_name_the_field(tmp_path: Path, case: str) -> None:
    change, needles = CONFIG_ERRORS[case]
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, change(GOOD)))
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    assert "\n" not in message.strip()  # one sentence for the operator


def test_short_identity_key_in_the_secrets_file_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="identity_key"):
        load_config(write(tmp_path, GOOD, secrets='identity_key = "abc"\n'))


def test_a_secrets_file_others_can_read_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretsError, match="chmod 600") as info:
        load_config(write(tmp_path, GOOD, mode=0o644))
    assert "secrets.toml" in str(info.value)


def test_systemd_credentials_come_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "fengqiao-secrets.toml").write_text('identity_key = "from-systemd-credentials"\n',
                                                 encoding="utf-8")
    (creds / "fengqiao-secrets.toml").chmod(0o600)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert load_config(write(tmp_path, GOOD)).identity_key == "from-systemd-credentials"
