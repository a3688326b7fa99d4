"""The installed `fengqiao` program, run as a subprocess in a temporary folder.

Every failure must be one sentence on stderr, exit code 2 and an unchanged database.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from fengqiao.bootstrap import cipher_for
from nodes.config import load_config
from nodes.store.sqlite_store import SqliteStore
from protocol.keydir import load_directory
from protocol.keys import key_id, load_signing_key

SCRIPT = Path(sys.executable).parent / "fengqiao"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "fengqiao"]
NOW = "2026-01-05T10:00:00+08:00"
CODE = "330681111242"
TOWNSHIP = "330681111000"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


def run(cwd: Path, *args: str, now: str = NOW, **env: str) -> Result:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FENGQIAO_")}
    environ.update({"FENGQIAO_NOW": now, **env})
    proc = subprocess.run([*COMMAND, *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, encoding="utf-8", timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


def assert_one_sentence(result: Result, prefix: str = "错误：") -> None:
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(prefix), result.err


def db_digest(folder: Path) -> str:
    """Everything a failed command must leave as it was."""
    conn = sqlite3.connect(folder / "fengqiao.db")
    try:
        rows = [conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                for table in ("cases", "case_events", "parties", "outbox")]
    finally:
        conn.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def station_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    result = run(folder, "node", "init", "--code", CODE, "--name", "状元村")
    assert result.code == 0, result.err
    # The network's keys.json lists the parent too, as `deploy keys` gathers it for every node:
    # an escalation is sealed to the township's key.
    town = tmp_path_factory.mktemp("township")
    assert run(town, "node", "init", "--code", TOWNSHIP).code == 0
    result = run(folder, "deploy", "keys", "public-keys.json", str(town / "public-keys.json"),
                 "--out", "keys.json", "--configs", "fengqiao.toml", str(town / "fengqiao.toml"))
    assert result.code == 0, result.err
    return folder


@pytest.fixture
def station(station_template: Path, tmp_path: Path) -> Path:
    """A freshly initialised village station (a copy of one `node init`, to save time)."""
    shutil.copytree(station_template, tmp_path, dirs_exist_ok=True)
    return tmp_path


def new_case(folder: Path, *extra: str) -> str:
    result = run(folder, "case", "new", "--type", "02", "--applicant", "张三::13800000000",
                 "--respondent", "李四", "--facts", "两家因院墙边界发生争执", "--json", *extra)
    assert result.code == 0, result.err
    data = result.json()
    assert isinstance(data, dict)
    return str(data["case_id"])


def state_after(folder: Path, *args: str) -> str:
    result = run(folder, "case", *args, "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert isinstance(data, dict)
    return str(data["state"])


def test_node_init_writes_config_holidays_and_database(station: Path) -> None:
    cfg = load_config(station / "fengqiao.toml")
    assert (cfg.node_id, cfg.tier.value, cfg.name) == (CODE, "village", "状元村")
    assert cfg.parent_id == "330681111000"
    assert cfg.broker_url == "memory://"
    assert cfg.target_days == 30
    assert cfg.database == station / "fengqiao.db"
    assert cfg.database.exists()
    assert cfg.identity_key is not None
    assert len(cfg.identity_key) >= 32
    assert cfg.require_user_id
    secrets = station / "secrets.toml"
    assert secrets.stat().st_mode & 0o777 == 0o600  # the keys live apart from the config
    assert "data_key" not in (station / "fengqiao.toml").read_text(encoding="utf-8")
    assert "data_key" in secrets.read_text(encoding="utf-8")
    assert (station / "holidays" / "README.md").read_text(encoding="utf-8").startswith("# 节假日")
    assert "identity_key" in secrets.read_text(encoding="utf-8")
    # Message keys: private in the secrets file, public beside the config (issue 15).
    config_text = (station / "fengqiao.toml").read_text(encoding="utf-8")
    for field in ("signing_key", "sealing_key"):
        assert f"{field} = " in secrets.read_text(encoding="utf-8")
        assert field not in config_text
    assert cfg.keys_file == station / "keys.json"
    assert list(json.loads((station / "public-keys.json").read_text())["nodes"]) == [CODE]
    assert load_directory(station / "public-keys.json").keys_of(CODE)[0].kid == key_id(
        load_signing_key(cfg.signing_key))


def test_node_init_refuses_to_overwrite(station: Path) -> None:
    before = (station / "fengqiao.toml").read_bytes()
    result = run(station, "node", "init", "--code", CODE)
    assert_one_sentence(result)
    assert "已存在" in result.err
    assert (station / "fengqiao.toml").read_bytes() == before


@pytest.mark.parametrize("code", ["33068111124", "330681111999", "00068111124x"])
def test_node_init_bad_area_code_names_it(tmp_path: Path, code: str) -> None:
    result = run(tmp_path, "node", "init", "--code", code)
    assert_one_sentence(result)
    assert code in result.err
    assert list(tmp_path.iterdir()) == []


def test_node_init_tier_must_match_code(tmp_path: Path) -> None:
    result = run(tmp_path, "node", "init", "--code", CODE, "--tier", "township", "--lang", "en")
    assert_one_sentence(result, "error: ")
    assert "does not match" in result.err
    assert CODE in result.err
    assert list(tmp_path.iterdir()) == []


def test_node_init_township_in_a_subfolder(tmp_path: Path) -> None:
    result = run(tmp_path, "--lang", "en", "node", "init", "--code", "330681111000",
                 "--dir", "township", "--identity-key", "network-wide-identity-key")
    assert result.code == 0, result.err
    assert "created township node 330681111000" in result.out
    cfg = load_config(tmp_path / "township" / "fengqiao.toml")
    assert cfg.tier.value == "township"
    assert cfg.identity_key == "network-wide-identity-key"


def test_walk_through_to_closed(station: Path) -> None:
    case_id = new_case(station)
    assert case_id == f"{CODE}-2026-00001"
    assert state_after(station, "accept", case_id, "--consent") == "ACCEPTED"
    assert state_after(station, "mediate", case_id) == "MEDIATING"
    assert state_after(station, "agree", case_id, "--form", "oral", "--terms",
                       "李四拆除越界院墙，赔偿张三800元", "--perform",
                       "赔偿800元:2026-01-20") == "AGREED"
    assert state_after(station, "perform", case_id) == "PERFORMING"
    # Issue 16: an agreed case closes only once a follow-up visit found it honoured.
    assert state_after(station, "follow-up", case_id, "--honoured") == "PERFORMING"
    assert state_after(station, "close", case_id, "--note", "已履行") == "CLOSED"

    shown = run(station, "case", "show", case_id, "--json").json()
    assert isinstance(shown, dict)
    assert [e["action"] for e in shown["events"]] == [
        "register", "consent", "accept", "mediate", "agree", "perform", "follow_up", "close"]
    assert shown["events"][0]["at"] == NOW
    assert shown["parties"][0]["name"] == "张三"
    assert shown["target"]["due"] == "2026-02-04"
    assert shown["agreement"]["performance"] == [{"what": "赔偿800元", "due": "2026-01-20"}]

    text = run(station, "case", "show", case_id).out
    assert "已结案" in text
    assert "张三" in text
    assert "2026-01-05 10:00" in text
    assert "2026年节假日日历（来源：国务院办公厅" in text  # the calendar it used (shipped)


def test_transition_prints_one_line_in_chinese(station: Path) -> None:
    case_id = new_case(station)
    result = run(station, "case", "accept", case_id, "--consent")
    assert result.out.strip() == f"案件 {case_id} 当前状态：已受理"
    # An escalation leaves with the running node's relay: until then the line says so.
    result = run(station, "case", "escalate", case_id, "--reason", "no_agreement", "--consent")
    assert result.out.strip() == f"案件 {case_id} 当前状态：上报上级（已记录、待发送）"


def test_written_agreement_without_seal_changes_nothing(station: Path) -> None:
    case_id = new_case(station)
    state_after(station, "accept", case_id, "--consent")
    state_after(station, "mediate", case_id)
    before = db_digest(station)
    result = run(station, "case", "agree", case_id, "--form", "written", "--terms", "赔偿",
                 "--signed")
    assert_one_sentence(result)
    assert "印章" in result.err
    assert db_digest(station) == before
    # Issue 16: a written agreement records the manner, place and time of performance.
    assert state_after(station, "agree", case_id, "--form", "written", "--terms", "赔偿",
                       "--signed", "--sealed", "--manner", "现金", "--place", "村委会",
                       "--perform", "赔偿:2026-01-20") == "AGREED"


def test_escalate_needs_consent(station: Path) -> None:
    case_id = new_case(station)
    state_after(station, "accept", case_id, "--consent")
    before = db_digest(station)
    result = run(station, "case", "escalate", case_id, "--reason", "no_agreement")
    assert_one_sentence(result)
    assert "同意" in result.err
    assert db_digest(station) == before
    assert state_after(station, "escalate", case_id, "--reason", "no_agreement",
                       "--consent") == "ESCALATED"


def test_escalation_is_sealed_in_the_outbox_or_refused_without_the_parents_key(
        station: Path) -> None:
    case_id = new_case(station)
    state_after(station, "accept", case_id, "--consent")
    assert state_after(station, "escalate", case_id, "--reason", "no_agreement",
                       "--consent") == "ESCALATED"
    config = load_config(station / "fengqiao.toml")
    store = SqliteStore(config.database, cipher=cipher_for(config))  # the body as it will travel
    try:
        (body,) = [r.body for r in store.unsent() if r.schema_name == "case_escalated"]
    finally:
        store.close()
    payload = json.loads(body)["payload"]
    assert payload["sealed"].startswith("x1:")
    assert payload["parties"] == []
    assert "张三".encode() not in body
    assert b"13800000000" not in body
    assert "院墙".encode() not in body  # the facts too

    # A station whose keys.json does not list its parent cannot seal to it: refused, unchanged.
    shutil.copy(station / "public-keys.json", station / "keys.json")
    other = new_case(station)
    state_after(station, "accept", other, "--consent")
    before = db_digest(station)
    result = run(station, "case", "escalate", other, "--reason", "no_agreement", "--consent")
    assert_one_sentence(result)
    assert TOWNSHIP in result.err
    assert "keys.json" in result.err
    assert db_digest(station) == before


def test_accept_without_consent_changes_nothing(station: Path) -> None:
    case_id = new_case(station)
    before = db_digest(station)
    assert_one_sentence(run(station, "case", "accept", case_id))
    assert db_digest(station) == before


def test_english_with_lang_flag_or_env(station: Path) -> None:
    case_id = new_case(station)
    flag = run(station, "case", "accept", case_id, "--lang", "en")
    assert_one_sentence(flag, "error: ")
    assert "consent" in flag.err
    env = run(station, "case", "show", case_id, FENGQIAO_LANG="en")
    assert "state: registered" in env.out
    assert "history:" in env.out
    listed = run(station, "--lang", "en", "case", "list")
    assert "neighbours" in listed.out
    assert "registered" in listed.out


def test_json_output_parses_and_keeps_chinese(station: Path) -> None:
    new_case(station)
    result = run(station, "case", "list", "--json")
    rows = result.json()
    assert isinstance(rows, list)
    assert len(rows) == 1
    assert rows[0]["dispute_label"] == "邻里"
    assert rows[0]["overdue"] is False
    assert "邻里" in result.out  # ensure_ascii=False


def test_list_overdue_after_the_target_date(station: Path) -> None:
    late = new_case(station)
    state_after(station, "accept", late, "--consent")
    waiting = new_case(station)  # registered only: its acceptance clock runs
    assert run(station, "case", "list", "--overdue", "--json").json() == []
    later = "2026-03-01T09:00:00+08:00"
    rows = run(station, "case", "list", "--overdue", "--json", now=later).json()
    assert isinstance(rows, list)
    assert {r["case_id"]: r["next_clock"] for r in rows} == {late: "mediation",
                                                             waiting: "acceptance"}
    text = run(station, "case", "list", "--overdue", now=later).out
    assert late in text
    assert "超期" in text
    assert "已超期" in run(station, "case", "show", late, now=later).out


def test_bad_config_names_the_field(station: Path) -> None:
    path = station / "fengqiao.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('tier = "village"',
                                                             'tier = "county"'),
                    encoding="utf-8")
    result = run(station, "case", "list")
    assert_one_sentence(result)
    assert "tier" in result.err
    en = run(station, "case", "list", "--lang", "en")
    assert_one_sentence(en, "error: ")
    assert "field 'tier'" in en.err


def test_missing_config_and_unknown_case(station: Path) -> None:
    result = run(station / "holidays", "case", "list")
    assert_one_sentence(result)
    assert "node init" in result.err
    missing = run(station, "case", "show", "NOPE")
    assert_one_sentence(missing)
    assert "NOPE" in missing.err


def test_usage_errors_exit_2_without_traceback(station: Path) -> None:
    assert_one_sentence(run(station, "case", "frobnicate"))
    assert_one_sentence(run(station, "case", "new", "--type", "88", "--facts", "x",
                            "--applicant", "张三"))
    assert_one_sentence(run(station, "case", "agree", "X", "--form", "oral", "--terms", "x",
                            "--effective-date", "2026-13-01"))
    assert_one_sentence(run(station, "case", "list", "--state", "nonsense"))
    assert_one_sentence(run(station, "case", "list", now="not-a-time"))


def test_help_is_bilingual(tmp_path: Path) -> None:
    result = run(tmp_path, "case", "new", "--help")
    assert result.code == 0
    assert "当事人" in result.out
    assert "applicant" in result.out
    assert "邻里" in result.out


def test_grid_report_then_register(station: Path) -> None:
    case_id = new_case(station, "--source", "grid_report", "--grid-id", CODE + "003")
    shown = run(station, "case", "show", case_id, "--json").json()
    assert isinstance(shown, dict)
    assert shown["state"] == "REPORTED"
    assert shown["grid_id"] == CODE + "003"
    assert shown["events"][0]["actor_role"] == "grid_worker"
    assert state_after(station, "register", case_id) == "REGISTERED"
