"""The installed program (issue 16 item 7): facts from a file or standard input, short case
numbers, `case find`, `case correct`, and output stripped of control characters."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nodes.cli.case_render import list_json, list_text, show_json, show_text
from nodes.domain import commands as cmd
from nodes.domain.case import Actor
from nodes.records import PartyRow
from protocol.reference import CaseSource
from tests.unit.test_cli import (
    CODE,
    COMMAND,
    NOW,
    Result,
    assert_one_sentence,
    db_digest,
    new_case,
    run,
)

UNSAFE = ("\x1b", "\u202e", "\x07", "\x9b")


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("village")
    assert run(folder, "node", "init", "--code", CODE).code == 0
    return folder


@pytest.fixture
def station(initialised: Path, tmp_path: Path) -> Path:
    """A freshly initialised village station (a copy of one `node init`)."""
    shutil.copytree(initialised, tmp_path, dirs_exist_ok=True)
    return tmp_path


def run_with_input(cwd: Path, stdin: bytes, *args: str) -> Result:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FENGQIAO_")}
    environ["FENGQIAO_NOW"] = NOW
    proc = subprocess.run([*COMMAND, *args], cwd=cwd, env=environ, input=stdin,
                          capture_output=True, timeout=60, check=False)
    return Result(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"))


def facts_of(folder: Path, case_id: str) -> str:
    shown = run(folder, "case", "show", case_id, "--json").json()
    assert isinstance(shown, dict)
    return str(shown["facts"])


def test_facts_come_from_a_file_or_standard_input(station: Path) -> None:
    statement = station / "facts.txt"
    statement.write_bytes("\ufeff第一行：院墙边界\r\n第二行：排水沟\r\n".encode())
    from_file = run(station, "case", "new", "--type", "02", "--applicant", "张三",
                    "--facts-file", str(statement), "--json").json()
    assert isinstance(from_file, dict)
    assert facts_of(station, str(from_file["case_id"])) == "第一行：院墙边界\n第二行：排水沟"
    piped = run_with_input(station, "来自标准输入的事实\n".encode(), "case", "new", "--type", "02",
                           "--applicant", "张三", "--facts", "-", "--json")
    assert piped.code == 0, piped.err
    data = piped.json()
    assert isinstance(data, dict)
    assert facts_of(station, str(data["case_id"])) == "来自标准输入的事实"


def test_bad_facts_input_is_one_sentence_and_writes_nothing(station: Path) -> None:
    new_case(station)
    before = db_digest(station)
    (station / "gbk.txt").write_bytes("纠纷事实".encode("gbk"))  # not UTF-8
    for extra in (["--facts-file", "missing.txt"], ["--facts-file", "gbk.txt"],
                  ["--facts", "院墙\x1b[31m红色"], ["--facts", "f", "--facts-file", "gbk.txt"]):
        result = run(station, "case", "new", "--type", "02", "--applicant", "张三", *extra)
        assert_one_sentence(result)
    bad_name = run(station, "case", "new", "--type", "02", "--applicant", "张\u202e三",
                   "--facts", "f")
    assert_one_sentence(bad_name)
    echoed = run(station, "case", "show", "9\x1b[2J\x1b[31m")  # an error quoting what was typed
    assert_one_sentence(echoed)
    assert "\x1b" not in echoed.err
    assert db_digest(station) == before


def test_short_case_numbers_work_where_they_are_unambiguous(station: Path) -> None:
    first, second = new_case(station), new_case(station)
    assert run(station, "case", "accept", "1", "--consent").code == 0
    shown = run(station, "case", "show", "00002", "--json").json()
    assert isinstance(shown, dict)
    assert shown["case_id"] == second
    next_year = run(station, "case", "new", "--type", "02", "--applicant", "王五", "--facts",
                    "f", "--json", now="2027-01-04T10:00:00+08:00").json()
    assert isinstance(next_year, dict)
    before = db_digest(station)
    ambiguous = run(station, "case", "mediate", "1")
    assert_one_sentence(ambiguous)
    assert first in ambiguous.err
    assert str(next_year["case_id"]) in ambiguous.err
    assert db_digest(station) == before
    assert run(station, "case", "mediate", "2026-00001").code == 0


def test_find_correct_and_show_the_history(station: Path) -> None:
    case_id = new_case(station)  # 张三::13800000000 and 李四
    found = run(station, "case", "find", "+86 138 0000 0000", "--json").json()
    assert isinstance(found, list)
    assert [(f["case_id"], f["party"], f["name"], f["matched"]) for f in found] == [
        (case_id, 1, "张三", "phone")]
    assert "张三" in run(station, "case", "find", "张").out
    assert run(station, "case", "correct", "1", "--party", "1", "--phone", "139 0000 0001",
               "--reason", "电话记错").code == 0
    (station / "facts.txt").write_text("两家因院墙边界及排水沟发生争执", encoding="utf-8")
    assert run(station, "case", "correct", "1", "--facts-file", "facts.txt",
               "--reason", "补充事实").code == 0
    before = db_digest(station)
    assert_one_sentence(run(station, "case", "correct", "1", "--phone", "13900000002",
                            "--reason", "无编号"))
    assert_one_sentence(run(station, "case", "correct", "1", "--party", "1", "--phone", "139",
                            "--reason", "号码不全"))
    assert_one_sentence(run(station, "case", "correct", "1", "--facts", "新事实"))  # no reason
    assert db_digest(station) == before
    shown = run(station, "case", "show", "1", "--json").json()
    assert isinstance(shown, dict)
    assert shown["facts"] == "两家因院墙边界及排水沟发生争执"
    assert shown["parties"][0]["phone"] == "13900000001"
    assert [(c["reason"], c.get("fields")) for c in shown["corrections"]] == [
        ("电话记错", ["phone"]), ("补充事实", None)]
    assert shown["corrections"][0]["party_before"]["phone"] == "13800000000"
    assert shown["corrections"][1]["facts_before"] == "两家因院墙边界发生争执"
    text = run(station, "case", "show", "1").out
    assert "13800000000 → 13900000001" in text
    assert "电话记错" in text
    assert "  1. " in text  # parties numbered as --party takes them
    assert run(station, "case", "find", "13800000000").out.strip() == run(
        station, "case", "find", "赵").out.strip()  # the old phone no longer matches


def test_what_case_show_and_list_print_is_stripped() -> None:
    at = datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    case = cmd.open_case(f"{CODE}-2026-00001", Actor(CODE), at, tier="village",
                         source=CaseSource.APPLICATION, dispute_type="02",
                         facts="下级送来的\x1b[31m事实\x07\u202e反向\x9b")  # as a child sent it
    parties = [PartyRow("applicant", "张\u202e三", "0" * 64, None, "138\x1b[0m00000000")]
    text = show_text(case, parties, date(2026, 1, 5), "zh")
    data = repr(show_json(case, parties, date(2026, 1, 5), "zh"))
    assert "下级送来的事实反向" in text
    assert "张三" in text
    row = {"case_id": case.case_id, "state": "REGISTERED", "dispute_type": "02",
           "source": "application", "opened_at": at.isoformat(), "target_due": None,
           "held_at": "330681111243\x1b[2J"}
    listed = list_text([row], set(), "zh") + repr(list_json([row], set(), "zh"))
    for ch in UNSAFE:
        assert ch not in text
        assert repr(ch)[1:-1] not in data
        assert repr(ch)[1:-1] not in listed
        assert ch not in listed
