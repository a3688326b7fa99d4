"""Honest failures (issue 15 item 7): a wrong data key or a damaged database stops `node run` and
`hub run` with one sentence and a non-zero exit; a full disk says so; a file that fails its quick
check is read but never written; a hub refuses a second, different case under an id it holds; and
a node's case numbering cannot go backwards after its database lost committed writes."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import sqlite3
import subprocess
import time
import tomllib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fengqiao.bootstrap import bootstrap, cipher_for
from fengqiao.main import main
from hub.cli_cmds import register_hub
from nodes.cli import main as cli_main
from nodes.cli import run_cmds
from nodes.clock import Clock, FixedClock
from nodes.config import NodeConfig, load_config
from nodes.crypto import new_key
from nodes.domain import commands as cmd
from nodes.domain.case import SHANGHAI, DomainError, Rules
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from nodes.secrets import write_secrets
from nodes.service import PartyInput
from nodes.store.errors import StoreCorrupt, StoreFull, problem, translate
from nodes.store.sqlite_store import SqliteStore
from protocol.reference import CaseSource, EscalationReason
from tests.support.nodes import build_node, write_config
from tests.support.program import FENGQIAO

VILLAGE, TOWNSHIP, COUNTY = "330681111201", "330681111000", "330681000000"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
PARTY = PartyInput("applicant", "张某")


def new_case(node: Node, facts: str = "邻里纠纷") -> str:
    return node.service.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts=facts,
                                 parties=[PARTY]).case_id


def escalate(node: Node, case_id: str) -> None:
    node.service.act(case_id, lambda c, a, t: cmd.escalate(
        c, a, t, reason=EscalationReason.NO_AGREEMENT, consent_given=True))


def configured(folder: Path, code: str = VILLAGE) -> tuple[Path, NodeConfig]:
    """A config file, its secrets and a database holding one sealed case."""
    path = write_config(folder, code)
    config = load_config(path)
    node = bootstrap(config, broker=MemoryBroker())
    new_case(node)
    node.close()
    return path, config


def wrong_key(folder: Path, code: str = VILLAGE) -> None:
    secrets = folder / f"{code}.secrets.toml"
    values = tomllib.loads(secrets.read_text(encoding="utf-8"))
    secrets.unlink()
    write_secrets(secrets, {**values, "data_key": new_key()})


def damage(db: Path) -> None:
    """Overwrite the cell pointers of the `cases_state` index's root page (no read uses it)."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'cases_state'").fetchone()[0]
    conn.close()
    with db.open("r+b") as fh:
        fh.seek((root - 1) * page + 8)
        fh.write(b"\xff" * 64)


def run_service(config: Path, command: str = "node") -> tuple[int, str, float]:
    began = time.monotonic()
    done = subprocess.run([*FENGQIAO, "--lang", "en", command, "run", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "FENGQIAO_LANG": "en"})
    return done.returncode, done.stderr, time.monotonic() - began


# --- node run and hub run: checked before any thread starts ---------------------------------------
def test_node_run_with_a_wrong_key_exits_at_once_with_one_sentence(tmp_path: Path) -> None:
    path, _ = configured(tmp_path)
    wrong_key(tmp_path)
    code, stderr, took = run_service(path)
    assert code != 0
    assert took < 15
    (line,) = stderr.strip().splitlines()
    assert line.startswith("error: the configured data_key")


def test_node_run_on_a_malformed_database_exits_naming_the_file(tmp_path: Path) -> None:
    path, config = configured(tmp_path)
    damage(config.database)
    code, stderr, took = run_service(path)
    assert code != 0
    assert took < 15
    (line,) = stderr.strip().splitlines()
    assert str(config.database) in line
    assert "damaged" in line


def test_hub_run_with_a_wrong_key_exits_too(tmp_path: Path) -> None:
    path, _ = configured(tmp_path, TOWNSHIP)
    wrong_key(tmp_path, TOWNSHIP)
    code, stderr, _ = run_service(path, "hub")
    assert code != 0
    assert len(stderr.strip().splitlines()) == 1


def test_a_thread_that_fails_for_good_stops_the_service(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The key is changed while the service runs: the threads' nodes cannot be built again, so
    the service stops with the sentence instead of restarting them for ever."""
    path, _ = configured(tmp_path)
    calls: list[int] = []

    def build(config: NodeConfig, *, clock: Clock | None = None) -> Node:
        calls.append(1)
        if len(calls) > 1:
            config = config.model_copy(update={"data_key": new_key()})
        return bootstrap(config, clock=clock)

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(run_cmds, "configure", lambda **kw: None)  # keep the tests' logging
    began = time.monotonic()
    try:
        code = cli_main.main(["--lang", "en", "node", "run", "--config", str(path)],
                             cli_main.GROUPS, build)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert code == 2
    assert time.monotonic() - began < 15
    assert "error: the configured data_key" in capsys.readouterr().err


# --- a full disk says so ------------------------------------------------------------------------
def full_disk(config: NodeConfig, *, clock: Clock | None = None) -> Node:
    """A node whose file cannot grow: SQLite's own SQLITE_FULL, as on a full disk."""
    node = bootstrap(config, clock=clock)
    pages = node.store._all("PRAGMA page_count")[0][0]
    node.store._all(f"PRAGMA max_page_count = {pages}")
    return node


@pytest.mark.parametrize(("lang", "words"), [("en", "is full"), ("zh", "磁盘已满")])
def test_a_full_disk_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str], lang: str,
                             words: str) -> None:
    path, config = configured(tmp_path)
    argv = ["--lang", lang, "--config", str(path), "case", "new", "--type", "02",
            "--facts", "事" * 3000, "--applicant", "张某"]
    assert cli_main.main(argv, (*cli_main.GROUPS, register_hub), full_disk) == 2
    err = capsys.readouterr().err
    assert words in err
    assert "OperationalError" not in err
    store = SqliteStore(config.database)
    assert len(store.case_rows()) == 1  # nothing was written
    store.close()


def test_sqlite_and_os_full_disk_errors_are_store_full(tmp_path: Path) -> None:
    assert isinstance(translate(sqlite3.OperationalError("database or disk is full")), StoreFull)
    node = build_node(tmp_path, VILLAGE)

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "fdatasync", no_space)
        with pytest.raises(StoreFull) as info:
            new_case(node)
    assert info.value.path == str(node.config.database)
    assert "is full" in str(problem(info.value))
    assert node.store.case_rows() == []  # the case's transaction rolled back
    node.close()


def test_an_os_full_disk_outside_the_store_is_one_sentence(
        capsys: pytest.CaptureFixture[str]) -> None:
    def register(subparsers: Any) -> None:
        subparsers.add_parser("write").set_defaults(handler=no_space)

    def no_space(args: Any, ctx: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    assert cli_main.main(["--lang", "en", "write"], (register,), bootstrap) == 2
    err = capsys.readouterr().err
    assert "is full" in err
    assert "OSError" not in err


# --- a file that fails its quick check is read, never written -----------------------------------
def test_a_damaged_file_is_read_but_never_written(tmp_path: Path) -> None:
    _, config = configured(tmp_path)
    damage(config.database)
    before = config.database.read_bytes()
    store = SqliteStore(config.database, cipher=cipher_for(config))
    assert store.damage is not None
    assert len(store.case_rows()) == 1  # what can be read is read
    with pytest.raises(StoreCorrupt) as info, store.atomic():
        store.next_case_number(2026)
    assert info.value.path == str(config.database)
    with pytest.raises(StoreCorrupt):
        store.require_writable()
    store.close()
    assert config.database.read_bytes() == before


def test_case_new_on_a_damaged_file_names_it(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path, config = configured(tmp_path)
    damage(config.database)
    assert main(["--lang", "zh", "--config", str(path), "case", "new", "--type", "02",
                 "--facts", "测试", "--applicant", "张某"]) == 2
    err = capsys.readouterr().err.strip()
    assert str(config.database) in err
    assert "已损坏" in err
    assert len(err.splitlines()) == 1


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    db.write_bytes(os.urandom(8192))
    with pytest.raises(StoreCorrupt) as info:
        SqliteStore(db)
    assert str(db) in str(problem(info.value))


# --- a hub refuses a second, different case under an id it holds --------------------------------
@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Node, Node, MemoryBroker]]:
    broker = MemoryBroker()
    clock = FixedClock(NOW)
    village = build_node(tmp_path / "v", VILLAGE, broker=broker, clock=clock)
    township = build_node(tmp_path / "t", TOWNSHIP, broker=broker, clock=clock)
    county = build_node(tmp_path / "t", COUNTY, broker=broker, clock=clock)  # takes the reports
    yield village, township, broker
    for node in (village, township, county):
        node.close()


@pytest.fixture(autouse=True)
def _folders(tmp_path: Path) -> None:
    (tmp_path / "v").mkdir()
    (tmp_path / "t").mkdir()
    (tmp_path / "v2").mkdir()


def test_a_second_case_under_a_held_id_is_quarantined(
        pair: tuple[Node, Node, MemoryBroker], tmp_path: Path) -> None:
    village, township, broker = pair
    case_id = new_case(village)
    escalate(village, case_id)
    village.publish()
    township.consume()
    township.service.act(case_id, lambda c, a, t: cmd.hand_down(  # it may come back now
        c, a, t, Rules(), instruction="请村里继续调解", report_back_days=15))
    held = township.store.load_events(case_id)
    # The village lost its file (no numbering mark either) and numbers a new case the same way.
    again = build_node(tmp_path / "v2", VILLAGE, broker=broker, clock=FixedClock(NOW),
                       declare=False)
    assert new_case(again, "另一起纠纷") == case_id
    again.service.act(case_id, cmd.consent)  # its escalation's seq passes the first one's
    escalate(again, case_id)
    again.publish()
    township.consume()
    again.close()
    assert township.store.load_events(case_id) == held
    (refused,) = township.store.quarantined()
    assert "already held here as a different case" in refused["reason"]
    assert "facts" in refused["reason"]


def test_the_same_case_coming_back_is_registered_again(
        pair: tuple[Node, Node, MemoryBroker]) -> None:
    village, township, _ = pair
    case_id = new_case(village)
    escalate(village, case_id)
    village.publish()
    township.consume()
    township.service.act(case_id, lambda c, a, t: cmd.hand_down(
        c, a, t, Rules(), instruction="请村里继续调解", report_back_days=15))
    township.publish()
    village.consume()
    village.service.act(case_id, lambda c, a, t: cmd.mediate(c, a, t, Rules()))
    escalate(village, case_id)
    village.publish()
    township.consume()
    actions = [e.action.value for e in township.store.load_events(case_id)]
    assert actions == ["register", "hand_down", "register"]
    assert township.store.quarantine_count() == 0


def test_a_dossier_from_another_sender_is_refused(pair: tuple[Node, Node, MemoryBroker]) -> None:
    village, township, _ = pair
    case_id = new_case(village)
    escalate(village, case_id)
    village.publish()
    township.consume()
    township.service.act(case_id, lambda c, a, t: cmd.hand_down(
        c, a, t, Rules(), instruction="请村里继续调解", report_back_days=15))
    case = township.store.load_case(case_id)
    assert case is not None
    with pytest.raises(DomainError, match="sender"):
        cmd.check_comes_back(case, sender="330681111202", origin_node=VILLAGE,
                             dispute_type="02", facts="邻里纠纷", registered_at=NOW)
    cmd.check_comes_back(case, sender=VILLAGE, origin_node=VILLAGE, dispute_type="02",
                         facts="邻里纠纷", registered_at=NOW)


# --- case numbers never go backwards ------------------------------------------------------------
def numbered(folder: Path, config: NodeConfig | None = None) -> Node:
    if config is not None:
        return bootstrap(config, clock=FixedClock(NOW), broker=MemoryBroker())
    return build_node(folder, VILLAGE, clock=FixedClock(NOW))


def test_restoring_an_older_copy_raises_the_alarm_and_never_reuses(tmp_path: Path) -> None:
    node = numbered(tmp_path / "v")
    config, db = node.config, node.config.database
    new_case(node)
    node.close()
    shutil.copy(db, tmp_path / "old.db")
    node = numbered(tmp_path, config)
    new_case(node)
    new_case(node)
    third = new_case(node)
    node.close()
    assert (Path(f"{db}.numbers").read_text().splitlines()[1:]) == ["2026 4 3"]
    for stale in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        stale.unlink(missing_ok=True)
    shutil.copy(tmp_path / "old.db", db)  # the older copy put back
    node = numbered(tmp_path, config)
    (alarm,) = node.store.alarms()
    assert alarm["kind"] == "numbering"
    assert alarm["subject"] == "2026"
    assert new_case(node) == f"{VILLAGE}-2026-00005"  # never 00002, already sent upstream
    assert third == f"{VILLAGE}-2026-00004"
    node.close()


def test_a_flipped_bit_in_the_wal_is_detected(tmp_path: Path) -> None:
    node = numbered(tmp_path / "v")
    new_case(node)
    node.store._all("PRAGMA wal_checkpoint(TRUNCATE)")
    for _ in range(3):
        new_case(node)
    # A power cut now: the file and its WAL as they are on disk, one bit of the WAL flipped.
    copy = tmp_path / "t" / "copy.db"
    shutil.copy(node.config.database, copy)
    shutil.copy(f"{node.config.database}-wal", f"{copy}-wal")
    shutil.copy(f"{node.config.database}.numbers", f"{copy}.numbers")
    node.close()
    with open(f"{copy}-wal", "r+b") as fh:
        fh.seek(32 + 24 + 100)  # the first frame's page
        byte = fh.read(1)
        fh.seek(-1, os.SEEK_CUR)
        fh.write(bytes([byte[0] ^ 0x10]))
    store = SqliteStore(copy)
    assert len(store.case_rows()) == 1  # SQLite dropped the three committed cases
    assert [a["kind"] for a in store.alarms()] == ["numbering"]
    with store.atomic():
        assert store.next_case_number(2026) == 5
    store.close()


def test_numbers_of_rolled_back_cases_are_taken_back(tmp_path: Path) -> None:
    node = numbered(tmp_path / "v")
    with pytest.raises(DomainError):
        new_case(node, facts=" ")  # refused after its number was reserved
    assert new_case(node) == f"{VILLAGE}-2026-00001"
    node.close()


def test_only_a_lost_last_case_or_an_interrupted_one_is_not_alarmed(tmp_path: Path) -> None:
    node = numbered(tmp_path / "v")
    new_case(node)
    new_case(node)
    config = node.config
    with node.store.atomic():  # as if the last case had not committed
        node.store._write("UPDATE case_numbers SET last = 1 WHERE year = 2026", [])
    node.close()
    node = numbered(tmp_path, config)
    assert node.store.alarms() == []
    assert new_case(node) == f"{VILLAGE}-2026-00003"
    node.close()


def test_deleted_rows_raise_the_alarm_and_a_missing_mark_is_written_again(tmp_path: Path) -> None:
    node = numbered(tmp_path / "v")
    config = node.config
    for _ in range(4):
        new_case(node)
    with node.store.atomic():
        node.store._write("UPDATE case_numbers SET last = 1 WHERE year = 2026", [])
    node.close()
    node = numbered(tmp_path, config)
    assert [a["kind"] for a in node.store.alarms()] == ["numbering"]
    node.close()
    Path(f"{config.database}.numbers").unlink()
    node = numbered(tmp_path, config)
    assert new_case(node) == f"{VILLAGE}-2026-00005"
    assert Path(f"{config.database}.numbers").read_text().splitlines()[1:] == ["2026 5 4"]
    node.close()
