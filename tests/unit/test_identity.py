"""The party identity hash (issue 15 item 5): keyed Argon2id, the same on every node of a network,
strong by default, and the migration of hashes of the old form (`sha256(key|identity)`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fengqiao.bootstrap import bootstrap
from nodes.config import ConfigError, NodeConfig, load_config
from nodes.crypto import DataCipher, new_key
from nodes.domain.case import Rules
from nodes.identity import (
    PROFILES,
    STANDARD,
    TEST,
    IdentityHasher,
    IdentityKeyError,
    identity_text,
)
from nodes.service import CaseService, PartyInput, party_hash
from nodes.store.rehash import Rehashed, legacy_hash, rehash_parties
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import Tier
from protocol.reference import CaseSource
from tests.support.nodes import node_config

KEY = "unit-test-identity-key-0001"
VILLAGE = "330681111242"
HEX64 = re.compile(r"^[0-9a-f]{64}$")  # protocol.messages.PartyHash
ID_NUMBER = "33068119900101100x"
PARTIES = [PartyInput("applicant", "张三", ID_NUMBER, "13800000000", "示例村 1 号"),
           PartyInput("respondent", " 李四 ", None, "057187654321")]


class FixedClock:
    def now(self) -> datetime:
        return datetime(2025, 3, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "node.db", cipher=DataCipher(new_key()))
    yield s
    s.close()


def record(store: SqliteStore, hasher: IdentityHasher) -> str:
    service = CaseService(store, FixedClock(), node_id=VILLAGE, tier=Tier.VILLAGE, rules=Rules(),
                          hasher=hasher, seal=None)
    return service.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts="示例纠纷",
                            parties=PARTIES).case_id


def stored_hashes(store: SqliteStore) -> list[str]:
    return [r[0] for r in store._db.execute("SELECT party_hash FROM parties ORDER BY id")]


def test_same_key_and_profile_give_the_same_hash_on_every_node() -> None:
    a, b = IdentityHasher(KEY, "test"), IdentityHasher(KEY, TEST)
    assert a.party("张三", ID_NUMBER, None) == b.party("张三", ID_NUMBER, None)
    assert HEX64.match(a.party("张三", ID_NUMBER, None))  # what the protocol's field accepts
    # The input is normalised as the old hash's was: the ID number (x and X are one), else the
    # name without surrounding spaces and the phone.
    assert a.party("张三", ID_NUMBER, None) == a.party("别名", ID_NUMBER.upper(), "139")
    assert a.party(" 李四 ", None, "0571") == a.party("李四", None, "0571")
    assert a.party("李四", None, "0571") != a.party("李四", None, "0572")


def test_nodes_built_with_the_same_key_find_the_same_party(tmp_path: Path) -> None:
    one = bootstrap(node_config(tmp_path, VILLAGE, identity_key=KEY))
    two = bootstrap(node_config(tmp_path, "330681111243", identity_key=KEY))
    try:
        first = party_hash(one.service.hasher, PARTIES[0])
        assert first == party_hash(two.service.hasher, PARTIES[0])
        assert first == IdentityHasher(KEY, "test").party("张三", ID_NUMBER, None)
    finally:
        one.close()
        two.close()


def test_a_different_key_or_profile_gives_a_different_hash() -> None:
    ours = IdentityHasher(KEY, "test").party("张三", ID_NUMBER, None)
    assert ours != IdentityHasher(KEY + "-other", "test").party("张三", ID_NUMBER, None)
    assert ours != IdentityHasher(KEY, "standard").party("张三", ID_NUMBER, None)


def test_the_hash_is_not_the_old_sha256_form() -> None:
    new = IdentityHasher(KEY, "test").party("张三", ID_NUMBER, None)
    identity = identity_text("张三", ID_NUMBER, None)
    assert new != hashlib.sha256(f"{KEY}|{identity}".encode()).hexdigest()
    assert new != legacy_hash(KEY, "张三", ID_NUMBER, None)
    assert new != hashlib.sha256(identity.encode()).hexdigest()
    assert ID_NUMBER.upper() not in new
    assert KEY not in repr(IdentityHasher(KEY))


def test_the_strong_cost_is_the_default(tmp_path: Path) -> None:
    config = NodeConfig(node_id=VILLAGE, tier=Tier.VILLAGE, database=tmp_path / "n.db",
                        identity_key=KEY, data_key=new_key())
    assert config.identity_cost == "standard"
    assert IdentityHasher(KEY).cost is STANDARD is PROFILES[config.identity_cost]
    # RFC 9106 / OWASP's floor for Argon2id: at least 19 MiB and 2 passes.
    assert STANDARD.memory_kib >= 19_456
    assert STANDARD.iterations >= 2
    assert STANDARD.lanes == 1
    assert TEST.memory_kib < STANDARD.memory_kib


def test_an_unknown_cost_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IdentityKeyError, match="identity_cost"):
        IdentityHasher(KEY, "cheap")
    with pytest.raises(IdentityKeyError, match="identity_key"):
        IdentityHasher("", "test")
    (tmp_path / "fengqiao.toml").write_text(
        f'node_id = "{VILLAGE}"\ntier = "village"\ndatabase = "n.db"\nidentity_cost = "cheap"\n',
        encoding="utf-8")
    with pytest.raises(ConfigError, match="identity_cost"):
        load_config(tmp_path / "fengqiao.toml")


def _make_old_form(store: SqliteStore) -> list[str]:
    """Turn every stored hash into the old form, as a node before this change wrote it."""
    old = [legacy_hash(KEY, "张三", ID_NUMBER, None), legacy_hash(KEY, "李四", None, "057187654321")]
    with store.atomic():
        for row_id, value in zip((1, 2), old, strict=True):
            store._db.execute("UPDATE parties SET party_hash = ? WHERE id = ?", [value, row_id])
    return old


def test_old_form_hashes_are_rehashed_once(store: SqliteStore) -> None:
    hasher = IdentityHasher(KEY, "test")
    record(store, hasher)
    new = stored_hashes(store)
    old = _make_old_form(store)
    assert stored_hashes(store) == old
    assert rehash_parties(store, hasher, KEY) == Rehashed(rehashed=2)
    assert stored_hashes(store) == new
    # Each row is looked at once; a second open changes nothing and looks at nothing.
    assert rehash_parties(store, hasher, KEY) == Rehashed()
    record(store, hasher)  # rows added later are checked on the next open: already the new form
    assert rehash_parties(store, hasher, KEY) == Rehashed(kept=2)


def test_rows_that_cannot_be_recomputed_stay_and_are_counted(store: SqliteStore) -> None:
    hasher = IdentityHasher(KEY, "test")
    record(store, hasher)
    second = record(store, hasher)
    _make_old_form(store)
    with store.atomic():  # a name sealed for another case does not open here (altered row)
        store._db.execute("UPDATE parties SET name = (SELECT name FROM parties WHERE id = 3) "
                          "WHERE id = 1")
        store._db.execute("UPDATE parties SET party_hash = 'f' || substr(party_hash, 2) "
                          "WHERE case_id = ?", [second])  # neither form: not ours to change
    before = stored_hashes(store)
    assert rehash_parties(store, hasher, KEY) == Rehashed(rehashed=1, kept=2, unopened=1)
    after = stored_hashes(store)
    assert after[0] == before[0]
    assert after[2:] == before[2:]
    assert after[1] == hasher.party("李四", None, "057187654321")
    assert store.parties(second)[1].party_hash == before[3]


def test_a_node_migrates_its_file_when_it_starts(tmp_path: Path) -> None:
    config = node_config(tmp_path, VILLAGE, identity_key=KEY)
    node = bootstrap(config)
    try:
        case_id = record(node.store, node.service.hasher)
        new = stored_hashes(node.store)
        _make_old_form(node.store)
    finally:
        node.close()
    node = bootstrap(config)
    try:
        assert stored_hashes(node.store) == new
        assert [p.party_hash for p in node.store.parties(case_id)] == new
    finally:
        node.close()


def test_the_bench_reports_the_standard_cost_and_what_reversing_takes() -> None:
    from bench.identity_cost import measure

    figures = measure(samples=2)
    assert figures["identity_hash_ms"] > 0
    assert figures["identity_reverse_cpu_days"] >= 0
    assert figures["identity_cost"]["memory_kib"] == STANDARD.memory_kib
