"""Personal data at rest (DOMAIN §7): sealed values, the key's source, no key means no node, the
migration that seals plaintext from before, and a wrong key named as such."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fengqiao.bootstrap import bootstrap
from fengqiao.main import main
from nodes.config import ConfigError, NodeConfig, load_config
from nodes.crypto import KEY_ENV, DataCipher, DataKeyError, PersonalDataError, configured_key, new_key
from nodes.domain import commands as cmd
from nodes.domain.case import Rules
from nodes.i18n import render
from nodes.identity import IdentityHasher
from nodes.keyring import process_keyring
from nodes.messaging.signing import Verifier
from nodes.service import CaseService, PartyInput
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import Tier
from protocol.envelope import decode
from protocol.messages import CaseEscalated
from protocol.reference import CaseSource, EscalationReason

SH = ZoneInfo("Asia/Shanghai")
VILLAGE = "330681111242"
NAME, ID_NUMBER, PHONE, ADDRESS = "欧阳娜娜", "330681199203154324", "13912345678", "状元村九组3号"
SECRETS = [s.encode("utf-8") for s in (NAME, ID_NUMBER, PHONE, ADDRESS)]


class FixedClock:
    def now(self) -> datetime:
        return datetime(2025, 3, 3, 9, 0, tzinfo=SH)


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(KEY_ENV, raising=False)
    return


def config(tmp_path: Path, key: str | None) -> NodeConfig:
    return NodeConfig(node_id=VILLAGE, tier=Tier.VILLAGE, database=tmp_path / "node.db",
                      identity_key="unit-test-identity-key", data_key=key)


def new_case(service: CaseService) -> str:
    return service.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts="排水沟堵塞",
                            parties=[PartyInput("applicant", NAME, ID_NUMBER, PHONE, ADDRESS),
                                     PartyInput("respondent", "李四")]).case_id


def file_bytes(db: Path) -> bytes:
    """The database as it lies on disk, WAL included."""
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


# --- the cipher ---------------------------------------------------------------------------------
def test_seal_and_open_round_trip_with_a_fresh_nonce_each_time() -> None:
    cipher = DataCipher(new_key())
    a, b = cipher.seal(NAME, "parties.name of case C"), cipher.seal(NAME, "parties.name of case C")
    assert a != b
    assert NAME not in a
    assert a.startswith(f"fq1:{cipher.key_id}:")
    assert cipher.open(a, "parties.name of case C") == cipher.open(b, "parties.name of case C") == NAME


def test_wrong_key_is_named_as_such() -> None:
    token = DataCipher(new_key()).seal(NAME, "ctx")
    other = DataCipher(new_key())
    with pytest.raises(PersonalDataError) as info:
        other.open(token, "ctx")
    assert "data_key" in str(info.value)
    assert other.key_id in str(info.value)
    assert "data_key" in render(info.value, "zh")


@pytest.mark.parametrize("change", ["flip a byte", "move to another row", "not a token"])
def test_altered_or_moved_values_do_not_open(change: str) -> None:
    cipher = DataCipher(new_key())
    token = cipher.seal(NAME, "parties.name of case A")
    context = "parties.name of case A"
    if change == "flip a byte":
        head, blob = token.rsplit(":", 1)
        token = f"{head}:{blob[:20]}{'A' if blob[20] != 'A' else 'B'}{blob[21:]}"
    elif change == "move to another row":
        context = "parties.name of case B"
    else:
        token = NAME
    with pytest.raises(PersonalDataError, match="altered"):
        cipher.open(token, context)


@pytest.mark.parametrize("key", ["not base64 at all!", "c2hvcnQ=", ""])
def test_malformed_keys_are_refused(key: str) -> None:
    with pytest.raises(DataKeyError, match="data_key"):
        DataCipher(key)


def test_config_key_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert configured_key(None) is None
    monkeypatch.setenv(KEY_ENV, "from-env")
    assert configured_key(None) == "from-env"
    assert configured_key("  ") == "from-env"
    assert configured_key("from-config") == "from-config"


# --- no key, no node ----------------------------------------------------------------------------
def test_bootstrap_without_a_key_refuses_naming_data_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        bootstrap(config(tmp_path, None))
    assert "data_key" in str(info.value)
    assert KEY_ENV in str(info.value)
    assert str(info.value).count(".") <= 1  # one sentence
    assert not (tmp_path / "node.db").exists()  # refused before the file was created


def test_bootstrap_with_a_malformed_key_names_data_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data_key"):
        bootstrap(config(tmp_path, "too-short"))


def test_bootstrap_takes_the_key_from_the_environment(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, new_key())
    node = bootstrap(config(tmp_path, None))
    try:
        case_id = new_case(node.service)
        assert node.store.parties(case_id)[0].name == NAME
    finally:
        node.close()


def test_store_without_a_key_never_writes_plaintext(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "node.db")
    try:
        service = CaseService(store, FixedClock(), node_id=VILLAGE, tier=Tier.VILLAGE,
                              rules=Rules(), hasher=IdentityHasher("unit-test-salt", "test"),
                              seal=None)
        with pytest.raises(PersonalDataError, match="data_key"):
            new_case(service)
        assert store._db.execute("SELECT count(*) FROM cases").fetchone()[0] == 0
    finally:
        store.close()
    assert not any(s in file_bytes(tmp_path / "node.db") for s in SECRETS)


# --- at rest ------------------------------------------------------------------------------------
def test_parties_and_waiting_dossiers_are_sealed_on_disk(tmp_path: Path) -> None:
    node = bootstrap(config(tmp_path, new_key()))
    try:
        case_id = new_case(node.service)
        node.service.act(case_id, lambda c, a, t: cmd.escalate(
            c, a, t, reason=EscalationReason.GROUP_CASE, consent_given=True))
        raw = node.store._db.execute("SELECT name, id_number, phone, address, sealed "
                                    "FROM parties ORDER BY id").fetchall()
        assert raw[0][4] == 1
        assert all(v.startswith("fq1:") for v in raw[0][:4])
        assert raw[1][1:4] == (None, None, None)  # absent fields stay NULL
        party = node.store.parties(case_id)[0]
        assert (party.name, party.id_number, party.phone, party.address) == (
            NAME, ID_NUMBER, PHONE, ADDRESS)
        (dossier,) = [r for r in node.store.unsent() if r.schema_name == "case_escalated"]
        # Sealed to the township as the row is written (issue 15): only its key opens it.
        assert NAME.encode() not in dossier.body
        township = Verifier(process_keyring().node_keys(node.config.parent_id or ""), None)
        opened = township.open(decode(dossier.body)).payload
        assert isinstance(opened, CaseEscalated)
        assert (opened.parties[0].name, opened.parties[0].id_number) == (NAME, ID_NUMBER)
        assert not any(s in file_bytes(tmp_path / "node.db") for s in SECRETS)
    finally:
        node.close()
    assert not any(s in file_bytes(tmp_path / "node.db") for s in SECRETS)


def test_wrong_key_at_open_is_refused_before_any_write(tmp_path: Path) -> None:
    node = bootstrap(config(tmp_path, new_key()))
    new_case(node.service)
    node.close()
    before = file_bytes(tmp_path / "node.db")
    with pytest.raises(PersonalDataError) as info:
        bootstrap(config(tmp_path, new_key()))
    assert "key id" in str(info.value)
    assert file_bytes(tmp_path / "node.db") == before


def test_migration_seals_plaintext_written_before_encryption(tmp_path: Path) -> None:
    db = tmp_path / "node.db"
    old = SqliteStore(db)  # what an older version left: plaintext parties and dossier
    with old.atomic():
        old._db.execute("INSERT INTO cases (case_id, origin_node, tier, state, dispute_type, source,"
                       " facts, people_involved, last_seq, opened_at, updated_at) VALUES "
                       "('C-1', ?, 'village', 'ESCALATED', '02', 'application', '排水', 2, 1,"
                       " 'x', 'x')", [VILLAGE])
        old._db.execute("INSERT INTO parties (case_id, role, name, id_number, phone, address,"
                       " party_hash) VALUES ('C-1', 'applicant', ?, ?, ?, ?, ?)",
                       [NAME, ID_NUMBER, PHONE, ADDRESS, "0" * 64])
        old._db.execute("INSERT INTO outbox (message_id, case_id, seq, exchange, routing_key, "
                       "schema_name, body, created_at) VALUES ('m-1', 'C-1', 1, 'up', 'k', "
                       "'case_escalated', ?, 'x')", [f'{{"name": "{NAME}"}}'.encode()])
    old.close()
    assert all(s in file_bytes(db) for s in SECRETS)  # the test can fail

    key = new_key()
    node = bootstrap(config(tmp_path, key))
    try:
        (party,) = node.store.parties("C-1")
        assert (party.name, party.id_number, party.phone, party.address) == (
            NAME, ID_NUMBER, PHONE, ADDRESS)
        assert node.store.outbox_body("m-1") == f'{{"name": "{NAME}"}}'.encode()
    finally:
        node.close()
    assert not any(s in file_bytes(db) for s in SECRETS)
    again = bootstrap(config(tmp_path, key))  # idempotent: nothing left to seal
    assert again.store.parties("C-1")[0].name == NAME
    again.close()


# --- the command line ---------------------------------------------------------------------------
def test_node_init_writes_a_key_with_a_warning_and_the_node_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["node", "init", "--code", VILLAGE, "--dir", str(tmp_path / "a")]) == 0
    assert main(["node", "init", "--code", VILLAGE, "--dir", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "data_key" in out
    assert "data_key" not in (tmp_path / "a" / "fengqiao.toml").read_text(encoding="utf-8")
    text = (tmp_path / "a" / "secrets.toml").read_text(encoding="utf-8")
    assert "data_key = " in text
    assert "丢失密钥" in text
    assert "Back it up" in text
    a, b = (load_config(tmp_path / d / "fengqiao.toml").data_key for d in "ab")
    assert a
    assert b
    assert a != b
    DataCipher(a)
    conf = str(tmp_path / "a" / "fengqiao.toml")
    assert main(["--config", conf, "case", "new", "--type", "02", "--facts", "院墙",
                 "--applicant", f"{NAME}:{ID_NUMBER}:{PHONE}"]) == 0
    assert not any(s in file_bytes(tmp_path / "a" / "fengqiao.db") for s in SECRETS[:3])


def test_cli_without_a_key_fails_with_one_sentence(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fengqiao.toml"
    path.write_text(f'node_id = "{VILLAGE}"\ntier = "village"\ndatabase = "node.db"\n',
                    encoding="utf-8")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('identity_key = "0123456789abcdef"\n', encoding="utf-8")
    secrets.chmod(0o600)
    code = main(["--config", str(path), "--lang", "en", "case", "new", "--type", "02",
                 "--facts", "x", "--applicant", NAME])
    err = capsys.readouterr().err
    assert code == 2
    assert "data_key" in err
    assert len(err.strip().splitlines()) == 1


def test_new_key_prints_a_config_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "new-key"]) == 0
    captured = capsys.readouterr()
    line = captured.out.strip()
    assert line.startswith('data_key = "')
    assert len(line.splitlines()) == 1
    DataCipher(line.split('"')[1])
    assert "back it up" in captured.err or "备份" in captured.err  # the note goes to stderr


def test_sqlite_sees_only_tokens(tmp_path: Path) -> None:
    """Another program reading the file (sqlite3 shell, a copied backup) sees no names."""
    node = bootstrap(config(tmp_path, new_key()))
    new_case(node.service)
    node.close()
    conn = sqlite3.connect(tmp_path / "node.db")
    try:
        values = [v for row in conn.execute("SELECT name, id_number, phone FROM parties")
                  for v in row if v is not None]
    finally:
        conn.close()
    assert values
    assert all(v.startswith("fq1:") for v in values)
