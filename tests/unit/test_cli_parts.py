"""The CLI's pieces, in process: argument parsing, TOML writing, labels, error handling."""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path

import pytest

from fengqiao import main as cli_main
from nodes.cli import case_cmds
from nodes.cli.case_cmds import case_state, dispute_code, party
from nodes.cli.case_transitions import performance_item
from nodes.cli.node_files import toml_str
from nodes.domain.states import Action, CaseState
from nodes.labels import action_label, calendar_note, state_label

NOW = "2026-01-05T10:00:00+08:00"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FENGQIAO_LANG", "FENGQIAO_CONFIG", "FENGQIAO_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FENGQIAO_NOW", NOW)


def test_party_forms() -> None:
    p = party("applicant:张三:11010519491231002x:13800000000:诸暨市马剑镇:状元村")
    assert (p.role, p.name, p.id_number, p.phone) == ("applicant", "张三", "11010519491231002X",
                                                      "13800000000")
    assert p.address == "诸暨市马剑镇:状元村"  # the address may itself hold a colon
    assert party("被申请人：李四").role == "respondent"  # Chinese role, full-width colon
    assert party("王五::0575-87654321", "applicant").phone == "0575-87654321"
    for bad in ("张三", "boss:张三", "applicant:", ":"):
        with pytest.raises(argparse.ArgumentTypeError, match="角色"):
            party(bad)


def test_dispute_type_by_code_or_name() -> None:
    assert dispute_code("02") == dispute_code("邻里") == dispute_code("2") == "02"
    with pytest.raises(argparse.ArgumentTypeError, match="88"):
        dispute_code("88")


def test_state_filter_accepts_value_or_label() -> None:
    assert case_state("mediating") is case_state("调解中") is CaseState.MEDIATING
    with pytest.raises(argparse.ArgumentTypeError):
        case_state("done")


def test_performance_item_splits_on_the_last_colon() -> None:
    assert performance_item("付款：第一期:2026-02-01") == {"what": "付款：第一期",
                                                           "due": "2026-02-01"}
    with pytest.raises(argparse.ArgumentTypeError):
        performance_item("付款")
    with pytest.raises(argparse.ArgumentTypeError):
        performance_item("付款:2026-02-30")


@pytest.mark.parametrize("text", ['plain', 'quote " and \\ backslash', "tab\tnew\nline\x7f",
                                  "状元村 \u00e9 \U0001f600"])
def test_toml_str_round_trips(text: str) -> None:
    assert tomllib.loads(f"v = {toml_str(text)}")["v"] == text


def test_every_state_and_action_has_labels() -> None:
    for s in CaseState:
        assert state_label(s, "zh")
        assert state_label(s, "en")
    for a in Action:
        assert action_label(a, "zh")
        assert action_label(a, "en")


def test_calendar_note_in_chinese() -> None:
    note = "no calendar for 2026: weekends only; calendar 2027 (source: 国办发明电〔2026〕1号)"
    assert calendar_note(note, "zh") == (
        "2026年没有节假日日历，仅把周六、周日当作非工作日（日历补上后应重新计算）；"
        "2027年节假日日历（来源：国办发明电〔2026〕1号）")
    assert calendar_note(note, "en") == note


def test_internal_error_is_one_sentence_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli_main.main(["node", "init", "--code", "330681111242"]) == 0

    def boom(*_: object, **__: object) -> str:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(case_cmds, "list_text", boom)
    capsys.readouterr()
    assert cli_main.main(["case", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("内部错误（RuntimeError）")
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setenv("FENGQIAO_DEBUG", "1")
    assert cli_main.main(["case", "list", "--lang", "en"]) == 1
    assert "disk on fire" in capsys.readouterr().err  # the log has the details


def test_config_lang_applies_without_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli_main.main(["node", "init", "--code", "330681111242"]) == 0
    config = tmp_path / "fengqiao.toml"
    config.write_text(config.read_text(encoding="utf-8") + 'lang = "en"\n', encoding="utf-8")
    capsys.readouterr()
    assert cli_main.main(["case", "list"]) == 0
    assert capsys.readouterr().out.strip() == "no matching cases"
    assert cli_main.main(["case", "list", "--lang", "zh"]) == 0
    assert capsys.readouterr().out.strip() == "没有符合条件的案件"


def test_protocol_schema_writes_files(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["protocol", "schema", "--dir", str(tmp_path)]) == 0
    written = sorted(tmp_path.glob("*.schema.json"))
    assert written
    assert all(json.loads(p.read_text(encoding="utf-8")) for p in written)
    out = capsys.readouterr().out
    assert all(str(p) in out for p in written)


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["--help"]) == 0
    assert "case" in capsys.readouterr().out
