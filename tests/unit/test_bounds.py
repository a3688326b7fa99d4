"""Bounds on what a sender can make a node keep (issue 15 item 4, the store's half): a quarantined
body is kept as a bounded prefix with its length and hash; quarantine and held have caps and age
limits, and every eviction is counted and alarmed; held messages are moved to quarantine, never
silently deleted; a stream held past its limit raises an alarm that ends when it is released."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from fengqiao import main as cli_main
from nodes.config import NodeConfig, load_config
from nodes.crypto import DataCipher, new_key
from nodes.domain.case import Rules
from nodes.housekeeping import SweepResult, sweep
from nodes.messaging import settings
from nodes.node import Node
from nodes.store.inbox import InboxEntry, Refused
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import Tier
from tests.support.clock import FakeClock
from tests.support.sql import scalar

VILLAGE, TOWNSHIP = "330681111242", "330681111000"
CASE = "330681111242-2026-0001"
SECRET = "欧阳娜娜 330681199203154321".encode()  # stands for personal data in a body
MB = 1024 * 1024


def file_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


def file_size(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "hub.db", cipher=DataCipher(new_key()))
    yield s
    s.close()


def entry(seq: int, case_id: str = CASE, schema: str = "case_escalated") -> InboxEntry:
    return InboxEntry(f"m-{case_id}-{schema}-{seq}", VILLAGE, case_id, seq, schema)


def open_alarms(store: SqliteStore, kind: str) -> dict[str, dict[str, object]]:
    return {str(a["subject"]): a for a in store.alarms() if a["kind"] == kind}


# --- the body: a bounded prefix, its length and its hash -----------------------------------------

def test_a_50_mb_body_is_kept_as_a_bounded_prefix_with_its_length_and_hash(
        store: SqliteStore, clock: FakeClock) -> None:
    body = b'{"pad": "' + SECRET + b"x" * (50 * MB) + b'"}'
    empty = file_size(store.path)  # the schema and its migrations' WAL frames
    store.quarantine(body, Refused("message is too large", "up.330681111242", VILLAGE),
                     clock.now())
    (row,) = store.quarantined()
    assert row["length"] == len(body)
    assert row["sha256"] == hashlib.sha256(body).hexdigest()
    assert row["truncated"] is True
    assert row["body"] == body[:settings.QUARANTINE_BODY_MAX]
    assert row["reason"] == "message is too large"
    # The file holds the sealed prefix, not 50 MB (sealing adds a third: base64).
    size = file_size(store.path)
    assert size - empty < 4 * settings.QUARANTINE_BODY_MAX, size
    assert SECRET not in file_bytes(store.path)


def test_a_small_body_is_kept_whole_and_no_hash_of_it_is_stored(store: SqliteStore,
                                                               clock: FakeClock) -> None:
    body = b'{"name": "' + SECRET + b'"}'
    store.quarantine(body, Refused("not JSON"), clock.now())
    (row,) = store.quarantined()
    assert (row["body"], row["length"], row["truncated"]) == (body, len(body), False)
    assert row["sha256"] == hashlib.sha256(body).hexdigest()  # computed from the body
    # A hash of a short body could be reversed by trying candidates: only cut bodies have one.
    assert scalar(store.path, "SELECT sha256 FROM quarantine") is None


# --- quarantine: cap and age -----------------------------------------------------------------

def test_quarantine_beyond_its_cap_evicts_the_oldest_counts_and_alarms(
        store: SqliteStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "QUARANTINE_MAX_ROWS", 5)
    for i in range(8):
        store.quarantine(b"bad %d" % i, Refused(f"reason {i}"), clock.advance(seconds=1))
    assert [r["reason"] for r in store.quarantined()] == [f"reason {i}" for i in range(3, 8)]
    assert store.quarantine_count() == 5
    assert store.counters()["quarantine_evicted"] == 3
    alarm = open_alarms(store, "quarantine_full")["quarantine"]
    assert alarm["count"] == 3  # raised once per eviction, one row
    assert "cap of 5 rows" in str(alarm["detail"])
    assert "3 deleted in all" in str(alarm["detail"])


def test_a_feedback_loop_cannot_grow_quarantine_past_its_cap(
        store: SqliteStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "QUARANTINE_MAX_ROWS", 100)
    for i in range(2000):  # the loop made 9,918 rows in 15 s
        store.quarantine(b"copy %d" % i, Refused("not an envelope"), clock.now())
    assert store.quarantine_count() == 100
    assert store.counters()["quarantine_evicted"] == 1900
    assert len(store.alarms()) == 1


def test_the_sweep_evicts_quarantined_rows_past_their_age(store: SqliteStore,
                                                          clock: FakeClock) -> None:
    store.quarantine(b"old 1", Refused("old 1"), clock.now())
    store.quarantine(b"old 2", Refused("old 2"), clock.now())
    clock.advance(days=20)
    store.quarantine(b"young", Refused("young"), clock.now())
    assert sweep(store, clock.now()) == SweepResult(0, 0, 0, 0)
    clock.advance(days=11)  # the first two are now 31 days old, the limit is 30
    assert sweep(store, clock.now()) == SweepResult(0, 2, 0, 0)
    assert [r["reason"] for r in store.quarantined()] == ["young"]
    assert store.counters() == {"quarantine_evicted": 2}
    assert "older than 30 days" in str(open_alarms(store, "quarantine_full")["quarantine"]["detail"])


# --- held: cap and age, moved to quarantine --------------------------------------------------

def test_held_beyond_its_cap_moves_the_oldest_to_quarantine(
        store: SqliteStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "HELD_MAX_ROWS", 3)
    for i in range(5):
        case_id = f"330681111242-2026-{i + 1:04d}"
        store.hold(entry(5, case_id), 4, b'{"dossier": "' + SECRET + b'"}',
                   clock.advance(seconds=1))
    assert store.held_count() == 3
    assert {r.case_id for r in store.held_rows()} == {f"330681111242-2026-{i:04d}"
                                                       for i in (3, 4, 5)}
    moved = store.quarantined()
    assert [r["reason"].split(":")[0] for r in moved] == [
        "the held table's cap of 3 rows was reached, predecessor never came"] * 2
    assert "case 330681111242-2026-0001 from 330681111242" in moved[0]["reason"]
    assert moved[0]["body"] == b'{"dossier": "' + SECRET + b'"}'  # findable, whole
    assert store.counters()["held_evicted"] == 2
    alarm = open_alarms(store, "held_full")["held"]
    assert "will not send again" in str(alarm["detail"])
    assert SECRET not in file_bytes(store.path)


def test_held_too_long_moves_to_quarantine_with_the_reason_and_alarms(
        store: SqliteStore, clock: FakeClock) -> None:
    body = b'{"dossier": "' + SECRET + b'"}'
    store.hold(entry(3), 2, body, clock.now())
    clock.advance(days=6)
    assert sweep(store, clock.now()).held_moved == 0
    clock.advance(days=1, seconds=1)
    result = sweep(store, clock.now())
    assert result.held_moved == 1
    assert store.held_count() == 0
    (row,) = store.quarantined()
    assert row["reason"].startswith("held longer than 7 days, predecessor never came: "
                                    f"case_escalated seq 3 of case {CASE} from {VILLAGE}")
    assert "waited for seq 2" in row["reason"]
    assert row["body"] == body
    assert store.counters()["held_evicted"] == 1
    assert "held" in open_alarms(store, "held_full")
    # The stream no longer waits: its waiting alarm (raised by the same sweeps) is over.
    assert open_alarms(store, "held_waiting") == {}
    assert SECRET not in file_bytes(store.path)


# --- a held stream waiting: alarmed, then cleared when released --------------------------------

def test_a_waiting_stream_is_alarmed_then_cleared_when_its_predecessor_arrives(
        store: SqliteStore, clock: FakeClock) -> None:
    store.apply_and_record(entry(1), lambda: None, clock.now())
    store.hold(entry(3), 2, b'{"seq": 3, "who": "' + SECRET + b'"}', clock.now())
    clock.advance(minutes=5)
    assert sweep(store, clock.now()).waiting_raised == 0
    clock.advance(minutes=6)
    assert sweep(store, clock.now()).waiting_raised == 1
    assert sweep(store, clock.advance(minutes=1)).waiting_raised == 0  # not counted again
    subject = f"{VILLAGE}/{CASE}/case_escalated"
    alarm = open_alarms(store, "held_waiting")[subject]
    assert alarm["count"] == 1
    assert "waiting for seq 2" in str(alarm["detail"])
    assert "欧阳" not in str(alarm)  # node, case and kind only
    # The predecessor arrives: the consumer records it, then releases what waited for it.
    arrived = clock.advance(minutes=1)
    with store.atomic():
        store.apply_and_record(entry(2), lambda: None, arrived)
        assert store.take_held_after(VILLAGE, CASE, "case_escalated", 2) is not None
    assert open_alarms(store, "held_waiting") == {}
    (cleared,) = store.alarms(open_only=False)
    assert cleared["cleared_at"] == arrived.isoformat()
    assert sweep(store, clock.advance(minutes=1)) == SweepResult(0, 0, 0, 0)


def test_a_stream_still_missing_another_predecessor_keeps_its_alarm(
        store: SqliteStore, clock: FakeClock) -> None:
    store.hold(entry(3), 2, b"three", clock.now())
    store.hold(entry(5), 4, b"five", clock.now())
    sweep(store, clock.advance(minutes=11))
    with store.atomic():
        store.apply_and_record(entry(2), lambda: None, clock.now())
        assert store.take_held_after(VILLAGE, CASE, "case_escalated", 2) == b"three"
    assert list(open_alarms(store, "held_waiting")) == [f"{VILLAGE}/{CASE}/case_escalated"]


# --- the runtime's hook and what the operator sees -----------------------------------------

def test_node_status_shows_alarms_counts_and_evictions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli_main.main(["node", "init", "--code", TOWNSHIP]) == 0
    cfg = load_config(tmp_path / "fengqiao.toml")
    store = SqliteStore(cfg.database, cipher=DataCipher(str(cfg.data_key)))
    clock = FakeClock()
    try:
        monkeypatch.setattr(settings, "HELD_MAX_ROWS", 1)
        store.hold(entry(3), 2, b"three", clock.now())
        store.hold(entry(3, "330681111242-2026-0002"), 2, b"three", clock.now())
        assert sweep(store, clock.advance(minutes=11)).waiting_raised == 1
    finally:
        store.close()
    capsys.readouterr()
    assert cli_main.main(["node", "status", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "quarantine: 1 messages; 0 deleted by its bounds in all" in out
    assert "held: 1 messages; 1 moved to quarantine by its bounds in all" in out
    assert "open alarms: 2" in out
    assert "a held stream is waiting for its predecessor" in out
    assert f"{VILLAGE}/330681111242-2026-0002/case_escalated" in out
    assert "2026-03-02 09:00:00+08:00" in out
    assert cli_main.main(["node", "status"]) == 0
    assert "未处理的告警：2" in capsys.readouterr().out
    assert cli_main.main(["node", "status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["held"] == {"rows": 1, "moved_to_quarantine": 1}
    assert {a["kind"] for a in data["alarms"]} == {"held_full", "held_waiting"}


def test_a_node_sweeps_with_its_own_store_and_clock(store: SqliteStore, clock: FakeClock) -> None:
    """What the runtime's relay thread calls every HOUSEKEEPING_EVERY_S (and once at start)."""
    cfg = NodeConfig(node_id=TOWNSHIP, tier=Tier.TOWNSHIP, database=store.path,
                     identity_key="unit-test-identity-key", data_key=new_key())
    unused = cast(Any, None)  # the sweep needs only the node's store, clock and rules
    rules = cast(Any, SimpleNamespace(rules=Rules()))  # the deadline sweep's planned clocks
    node = Node(cfg, clock, store, service=rules, transport=unused, relay=unused,
                consumer=unused, queue=unused)
    store.hold(entry(3), 2, b"three", clock.now())
    clock.advance(seconds=settings.HELD_ALARM_AFTER_S + 1)
    assert node.housekeep() == SweepResult(0, 0, 1, 0)
    clock.advance(seconds=settings.HELD_MAX_AGE_S)
    assert node.housekeep() == SweepResult(1, 0, 0, 1)
    assert settings.HELD_ALARM_AFTER_S < settings.HELD_MAX_AGE_S < settings.QUARANTINE_MAX_AGE_S
