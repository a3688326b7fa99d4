"""The mediation paths on the command line and in the store (issue 16 item 5).

Run in process through `fengqiao.main.main` on a copy of one initialised village station. Every
refusal is one sentence, exit 2, and the database unchanged; the acting person (`--user`,
`--role`, FENGQIAO_USER, FENGQIAO_ROLE) is on every event, never in what travels; the event log's
hash chain stays verifiable for files from before the acting person was recorded.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from fengqiao.main import main
from nodes.cli.acting import os_login
from nodes.domain import commands as cmd
from nodes.domain.case import Actor
from nodes.store.audit import ChainReport, open_readonly, verify_chain
from nodes.store.chain import GENESIS, link_hash
from nodes.store.schema import migrations
from nodes.store.sqlite_store import SqliteStore

NOW = "2026-01-05T10:00:00+08:00"
CODE = "330681111242"
TOWNSHIP = "330681111000"
CASE = f"{CODE}-2026-00001"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("station")
    town = tmp_path_factory.mktemp("township")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FENGQIAO_NOW", NOW)
        assert main(["node", "init", "--code", CODE, "--dir", str(folder)]) == 0
        # The network's keys.json lists the parent: an escalation is sealed to it.
        assert main(["node", "init", "--code", TOWNSHIP, "--dir", str(town)]) == 0
        assert main(["deploy", "keys", str(folder / "public-keys.json"),
                     str(town / "public-keys.json"), "--out", str(folder / "keys.json")]) == 0
    return folder


@pytest.fixture
def station(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the station, named by FENGQIAO_CONFIG, with a case: 张三 (1), 李四 (2)."""
    for name in [n for n in os.environ if n.startswith("FENGQIAO_")]:
        monkeypatch.delenv(name)
    shutil.copytree(template, tmp_path, dirs_exist_ok=True)
    monkeypatch.setenv("FENGQIAO_CONFIG", str(tmp_path / "fengqiao.toml"))
    monkeypatch.setenv("FENGQIAO_NOW", NOW)
    assert main(["case", "new", "--type", "02", "--applicant", "张三", "--respondent", "李四",
                 "--facts", "院墙边界", "--user", "王调解"]) == 0
    return tmp_path


def dump(folder: Path) -> str:
    """What a refused command must leave as it was."""
    conn = sqlite3.connect(folder / "fengqiao.db")
    try:
        return repr([conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                     for table in ("cases", "case_events", "parties", "outbox")])
    finally:
        conn.close()


def ok(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def refused(folder: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Exit 2, one sentence, nothing written; returns the sentence."""
    before = dump(folder)
    capsys.readouterr()
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert dump(folder) == before
    return err


def verify(path: Path) -> ChainReport:
    conn = open_readonly(str(path))
    try:
        return verify_chain(conn)
    finally:
        conn.close()


def shown(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    data = json.loads(ok(capsys, "case", "show", CASE, "--json"))
    assert isinstance(data, dict)
    return data


def to_mediating(capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "case", "accept", CASE, "--consent")
    ok(capsys, "case", "mediate", CASE)


# --- consent and refusal per party ----------------------------------------------------------
def test_refusal_by_name_closes_the_case_as_not_mediated(station: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(station, capsys, "case", "consent", CASE, "--party", "李四", "--refuse")
    assert "--remedies-notified" in err
    assert "找不到" not in err
    ok(capsys, "case", "consent", CASE, "--party", "李四", "--refuse", "--remedies-notified",
       "--note", "不愿调解")
    data = shown(capsys)
    assert data["state"] == "CLOSED_UNRESOLVED"
    assert [e["action"] for e in data["events"]] == ["register", "refuse", "close"]
    assert data["events"][1]["data"] == {"remedies_notified": True, "party": 2, "parties": 2}
    assert data["consent"]["mediation"]["refused_by"] == [2]
    # accept --consent cannot override it: the case is closed
    refused(station, capsys, "case", "accept", CASE, "--consent")
    text = ok(capsys, "case", "show", CASE, "--lang", "en")
    assert "2. respondent 李四: refuses" in text
    assert "closed as not mediated" in text
    conn = sqlite3.connect(station / "fengqiao.db")
    events = conn.execute("SELECT reason, data FROM case_events").fetchall()
    conn.close()
    assert "李四" not in repr(events)  # the party is named by number, never by name


def test_consent_per_party_by_number_and_role(station: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    ok(capsys, "case", "consent", CASE, "--party", "1")
    err = refused(station, capsys, "case", "accept", CASE, "--lang", "en")
    assert "party 2" in err
    ok(capsys, "case", "consent", CASE, "--party", "被申请人")  # the only respondent
    ok(capsys, "case", "accept", CASE)
    data = shown(capsys)
    assert data["state"] == "ACCEPTED"
    assert data["consent"]["mediation"]["parties"] == {"1": True, "2": True}
    for bad in ("3", "王五"):
        assert "1" in refused(station, capsys, "case", "consent", CASE, "--party", bad)


def test_a_party_ends_the_mediation_then_agree_is_refused(station: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    to_mediating(capsys)
    ok(capsys, "case", "consent", CASE, "--party", "2", "--refuse", "--remedies-notified")
    assert shown(capsys)["state"] == "TERMINATED"
    refused(station, capsys, "case", "agree", CASE, "--form", "oral", "--terms", "赔偿")
    err = refused(station, capsys, "case", "escalate", CASE, "--reason", "no_agreement",
                  "--consent", "--lang", "en")
    assert "party 2 refused mediation" in err


def test_escalation_refusal_blocks_and_recorded_consent_counts(
        station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    to_mediating(capsys)
    ok(capsys, "case", "consent", CASE, "--scope", "escalation", "--party", "2", "--refuse")
    assert shown(capsys)["state"] == "MEDIATING"
    refused(station, capsys, "case", "escalate", CASE, "--reason", "no_agreement", "--consent")
    ok(capsys, "case", "consent", CASE, "--scope", "escalation")  # whole-case: 2 still refuses
    refused(station, capsys, "case", "escalate", CASE, "--reason", "no_agreement")
    ok(capsys, "case", "consent", CASE, "--scope", "escalation", "--party", "2")
    ok(capsys, "case", "escalate", CASE, "--reason", "no_agreement")  # no --consent needed
    assert shown(capsys)["state"] == "ESCALATED"


# --- agreements, performance, judicial confirmation -----------------------------------------
def test_written_agreement_follow_up_breach_and_jc_in_breached(
        station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    to_mediating(capsys)
    agree = ["case", "agree", CASE, "--form", "written", "--terms", "赔偿800元", "--signed",
             "--sealed", "--perform", "赔偿800元:2026-01-20"]
    refused(station, capsys, *agree, "--manner", "现金")
    refused(station, capsys, *agree, "--manner", "现金", "--place", "村委会",
            "--effective-date", "2026-01-04")  # before registration
    ok(capsys, *agree, "--manner", "现金", "--place", "村委会")
    refused(station, capsys, "case", "close", CASE)  # no performance record yet
    ok(capsys, "case", "follow-up", CASE, "--not-honoured", "--note", "未付款")
    data = shown(capsys)
    assert data["state"] == "BREACHED"
    assert data["agreement"]["manner"] == "现金"
    ok(capsys, "case", "jc-apply", CASE)
    text = ok(capsys, "case", "show", CASE, "--lang", "en")
    assert "performance: manner 现金; place 村委会" in text


def test_refused_confirmation_then_re_mediation(station: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    to_mediating(capsys)
    ok(capsys, "case", "agree", CASE, "--form", "oral", "--terms", "赔偿")
    refused(station, capsys, "case", "mediate", CASE)
    refused(station, capsys, "case", "refer-out", CASE, "--to", "arbitration", "--reason", "r")
    ok(capsys, "case", "jc-apply", CASE)
    ok(capsys, "case", "jc-result", CASE, "--refused")
    ok(capsys, "case", "mediate", CASE)
    assert shown(capsys)["state"] == "MEDIATING"


# --- choices and the acting person ----------------------------------------------------------
def test_choice_and_the_acting_person(station: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    refused(station, capsys, "case", "choose", CASE)
    ok(capsys, "case", "choose", CASE, "--mediator", "陈调解员", "--session", "private",
       "--user", "李主任", "--role", "station_head")
    monkeypatch.setenv("FENGQIAO_USER", "赵网格")
    monkeypatch.setenv("FENGQIAO_ROLE", "网格员")
    err = refused(station, capsys, "case", "accept", CASE, "--consent", "--lang", "en")
    assert "grid worker" in err
    ok(capsys, "case", "accept", CASE, "--consent", "--role", "grid_worker,mediator")
    data = shown(capsys)
    assert data["choice"] == {"mediator": "陈调解员", "session": "private"}
    assert [(e["actor_user"], e["actor_role"]) for e in data["events"]] == [
        ("王调解", "mediator"), ("李主任", "station_head"), ("赵网格", "grid_worker,mediator"),
        ("赵网格", "grid_worker,mediator")]
    text = ok(capsys, "case", "show", CASE)
    assert "李主任" in text
    assert "陈调解员" in text
    outbox = sqlite3.connect(station / "fengqiao.db").execute("SELECT body FROM outbox").fetchall()
    assert outbox
    assert not any("赵网格".encode() in bytes(b) or "王调解".encode() in bytes(b)
                   for (b,) in outbox)  # staff names stay home


def test_default_user_is_the_login_name_and_bad_values_are_refused(
        station: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ok(capsys, "case", "consent", CASE)
    assert shown(capsys)["events"][-1]["actor_user"] == os_login() != ""
    refused(station, capsys, "case", "consent", CASE, "--role", "judge")
    refused(station, capsys, "case", "consent", CASE, "--user", " ")
    monkeypatch.setenv("FENGQIAO_ROLE", "boss")
    assert "FENGQIAO_ROLE" in refused(station, capsys, "case", "consent", CASE)


# --- the store: the acting person on an old file --------------------------------------------
def test_old_file_keeps_its_chain_and_new_rows_chain_the_user(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    migrations.apply(db, stop_before="m010_actor_user")
    row = {"case_id": "C-1", "seq": 1, "action": "register", "state_after": "REGISTERED",
           "at": "2025-03-03T09:00:00+08:00", "node_id": CODE, "actor_role": "mediator",
           "reason": "", "data": "{}"}
    digest = link_hash(GENESIS, row)
    db.execute("INSERT INTO case_events (case_id, seq, action, state_after, at, node_id, "
               "actor_role, reason, data, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
               [*row.values(), GENESIS, digest])
    db.execute("UPDATE event_chain SET length = 1, head = ? WHERE id = 1", [digest])
    db.execute("INSERT INTO cases (case_id, origin_node, tier, state, dispute_type, source, "
               "facts, people_involved, last_seq, opened_at, updated_at) VALUES ('C-1', ?, "
               "'village', 'REGISTERED', '02', 'application', 'x', 1, 1, 'x', 'x')", [CODE])
    db.conn.commit()
    db.close()
    assert verify(path).intact  # not migrated: no actor_user column
    store = SqliteStore(path)  # migrates: m010 adds the column
    try:
        case = store.load_case("C-1")
        assert case is not None
        assert case.events[0].actor_user is None
        cmd.consent(case, Actor(CODE, "mediator", "王调解"), datetime.fromisoformat(NOW))
        with store.atomic():
            store.save(case)
        assert store.load_events("C-1")[1].actor_user == "王调解"
    finally:
        store.close()
    assert verify(path).intact
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER case_events_no_update")
    conn.execute("UPDATE case_events SET actor_user = '别人' WHERE seq = 2")
    conn.commit()
    conn.close()
    broken = verify(path).broken
    assert broken is not None
    assert (broken.problem, broken.seq) == ("content", 2)
