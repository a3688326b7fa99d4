"""Tamper evidence: one hash chain over a node's event log, and `fengqiao audit verify`.

The attacker here has the file: they drop the append-only trigger first, as anyone with sqlite3
could, then edit or delete rows. Each attack must be caught at the row where it happened.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from fengqiao.bootstrap import bootstrap
from fengqiao.main import main
from nodes.config import NodeConfig
from nodes.crypto import new_key
from nodes.domain import commands as cmd
from nodes.domain.case import Rules
from nodes.node import Node
from nodes.service import PartyInput
from nodes.store.audit import ChainReport, open_readonly, verify_chain
from nodes.store.chain import GENESIS, link_hash
from nodes.store.schema import migrations
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import Tier
from protocol.reference import CaseSource

VILLAGE = "330681111242"
CONFIG = f"""node_id = "{VILLAGE}"
tier = "village"
database = "node.db"
"""


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """Two cases with interleaved events: A1 B1 A2 B2 A3 (rowids 1..5)."""
    (tmp_path / "fengqiao.toml").write_text(CONFIG, encoding="utf-8")  # no data_key: audit needs none
    n = bootstrap(NodeConfig(node_id=VILLAGE, tier=Tier.VILLAGE, database=tmp_path / "node.db",
                             identity_key="0123456789abcdef", data_key=new_key()))
    ids = [n.service.new_case(source=CaseSource.APPLICATION, dispute_type="02", facts=f"纠纷{i}",
                              parties=[PartyInput("applicant", "张三")]).case_id for i in range(2)]
    n.service.act(ids[0], cmd.consent)
    n.service.act(ids[1], cmd.consent)
    n.service.act(ids[0], lambda c, a, t: cmd.accept(c, a, t, Rules()))
    yield n
    n.close()


def attack(db: Path, *sql: str) -> None:
    """What someone with the file can do: drop the triggers, change rows."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("DROP TRIGGER IF EXISTS case_events_no_update")
        conn.execute("DROP TRIGGER IF EXISTS case_events_no_delete")
        for statement in sql:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def verify(db: Path) -> ChainReport:
    conn = open_readonly(str(db))
    try:
        return verify_chain(conn)
    finally:
        conn.close()


def rows(db: Path) -> list[tuple[int, str, int, str, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT rowid, case_id, seq, prev_hash, hash FROM case_events "
                            "ORDER BY rowid").fetchall()
    finally:
        conn.close()


def test_intact_log_verifies_and_is_one_chain_across_cases(node: Node) -> None:
    db = node.config.database
    chain = rows(db)
    assert [(c[-5:], s) for _, c, s, _, _ in chain] == [
        ("00001", 1), ("00002", 1), ("00001", 2), ("00002", 2), ("00001", 3)]
    assert chain[0][3] == GENESIS
    for (_, _, _, _, before), (_, _, _, prev, _) in itertools.pairwise(chain):
        assert prev == before  # case B's events link to case A's, in insertion order
    report = verify(db)
    assert report.intact
    assert report.rows == 5
    assert report.head == chain[-1][4]


def test_edited_row_is_caught_with_what_differs(node: Node) -> None:
    db = node.config.database
    attack(db, "UPDATE case_events SET action = 'close', state_after = 'CLOSED' WHERE rowid = 5")
    broken = verify(db).broken
    assert broken is not None
    assert broken.problem == "content"
    assert (broken.row_id, broken.seq) == (5, 3)
    assert broken.case_id.endswith("-00001")
    assert set(broken.fields) == {"action", "state_after"}  # compared with the report sent then


def test_edited_reason_in_the_middle_is_caught_there(node: Node) -> None:
    db = node.config.database
    attack(db, "UPDATE case_events SET reason = '当事人撤回' WHERE rowid = 2")
    broken = verify(db).broken
    assert broken is not None
    assert (broken.problem, broken.row_id) == ("content", 2)


def test_edited_and_rehashed_row_breaks_the_next_link(node: Node) -> None:
    db = node.config.database
    (_, _case_id, _seq, prev, _) = rows(db)[2]
    conn = sqlite3.connect(db)
    row = dict(zip(["case_id", "seq", "action", "state_after", "at", "node_id", "actor_role",
                    "reason", "data"], conn.execute(
        "SELECT case_id, seq, action, state_after, at, node_id, actor_role, reason, data "
        "FROM case_events WHERE rowid = 3").fetchone(), strict=True))
    conn.close()
    row["reason"] = "改过"
    attack(db, f"UPDATE case_events SET reason = '改过', hash = '{link_hash(prev, row)}' "
               "WHERE rowid = 3")
    broken = verify(db).broken
    assert broken is not None
    assert (broken.problem, broken.row_id) == ("link", 4)


def test_deleted_row_is_caught_at_the_next_one(node: Node) -> None:
    db = node.config.database
    attack(db, "DELETE FROM case_events WHERE rowid = 3")
    broken = verify(db).broken
    assert broken is not None
    assert (broken.problem, broken.row_id, broken.seq) == ("link", 4, 2)


def test_deleted_last_row_is_caught_by_the_head(node: Node) -> None:
    db = node.config.database
    attack(db, "DELETE FROM case_events WHERE rowid = 5")
    broken = verify(db).broken
    assert broken is not None
    assert broken.problem == "head"
    assert broken.expected.startswith("5 rows")
    assert broken.found.startswith("4 rows")


def test_deleted_whole_case_is_caught(node: Node) -> None:
    db = node.config.database
    victim = rows(db)[1][1]
    attack(db, f"DELETE FROM parties WHERE case_id = '{victim}'",
           f"DELETE FROM case_events WHERE case_id = '{victim}'",
           f"DELETE FROM cases WHERE case_id = '{victim}'")
    broken = verify(db).broken
    assert broken is not None
    assert (broken.problem, broken.row_id) == ("link", 3)


def test_missing_event_with_projection_left_is_caught(node: Node) -> None:
    """Even rows cut from the end *and* a rewritten head leave the cases table disagreeing."""
    db = node.config.database
    chain = rows(db)
    attack(db, "DELETE FROM case_events WHERE rowid = 5",
           f"UPDATE event_chain SET length = 4, head = '{chain[3][4]}'")
    broken = verify(db).broken
    assert broken is not None
    assert broken.problem == "projection"
    assert broken.seq == 2


def test_old_database_is_backfilled_into_an_intact_chain(tmp_path: Path) -> None:
    db_path = tmp_path / "old.db"
    db = Database(db_path)
    migrations.apply(db, stop_before="m003_event_chain")
    for seq, action in ((1, "register"), (2, "consent")):
        db.execute("INSERT INTO case_events (case_id, seq, action, state_after, at, node_id, "
                   "actor_role, reason, data) VALUES ('C-1', ?, ?, 'REGISTERED', "
                   "'2025-03-03T09:00:00+08:00', ?, 'mediator', '', '{}')", [seq, action, VILLAGE])
    db.execute("INSERT INTO cases (case_id, origin_node, tier, state, dispute_type, source, facts, "
               "people_involved, last_seq, opened_at, updated_at) VALUES ('C-1', ?, 'village', "
               "'REGISTERED', '02', 'application', 'x', 1, 2, 'x', 'x')", [VILLAGE])
    db.conn.commit()
    conn = open_readonly(str(db_path))
    assert verify_chain(conn).broken.problem == "no_chain"  # type: ignore[union-attr]
    conn.close()
    db.close()
    SqliteStore(db_path).close()  # runs m003: adds the columns and backfills
    report = verify(db_path)
    assert report.intact
    assert report.rows == 2
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):  # trigger is back
        sqlite3.connect(db_path).execute("UPDATE case_events SET reason = 'x'")


# --- the command ----------------------------------------------------------------------------------
def test_cli_exit_codes_and_json(node: Node, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = str(tmp_path / "fengqiao.toml")
    assert main(["--config", conf, "audit", "verify", "--lang", "en"]) == 0
    assert "intact: 5 rows" in capsys.readouterr().out
    attack(node.config.database, "UPDATE case_events SET reason = 'x' WHERE rowid = 4")
    assert main(["--config", conf, "audit", "verify", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["intact"] is False
    assert data["broken"]["row_id"] == 4
    assert data["broken"]["problem"] == "content"
    assert data["broken"]["seq"] == 2
    assert main(["--config", conf, "audit", "verify", "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "seq 2 (row 4)" in out
    assert data["broken"]["case_id"] in out
    assert "content" in out
    assert main(["--config", conf, "audit", "verify"]) == 1
    assert "第 2 号事件（行 4）" in capsys.readouterr().out


def test_cli_cannot_check_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "none.toml"), "audit", "verify"]) == 2
    (tmp_path / "fengqiao.toml").write_text(CONFIG, encoding="utf-8")
    assert main(["--config", str(tmp_path / "fengqiao.toml"), "audit", "verify"]) == 2
    assert "node.db" in capsys.readouterr().err
