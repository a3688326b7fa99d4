"""One catalogue for every text people read (issue 14, points 6 and 7).

- Every message id the code uses is in both catalogues, translated, and the `.mo` files are
  compiled from the `.po` files (`python -m nodes.i18n.catalogue update` fixes the last two).
- The main commands, run in the default language (Chinese), print no English words: only ids,
  codes, paths, commands and option names may be ASCII.
- Enumerated options take the code or the Chinese or English name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from fengqiao.main import main
from nodes import i18n
from nodes.i18n.catalogue import problems
from nodes.labels import calendar_note, state_label
from protocol.areas import default_parent
from protocol.text import Code, Translatable

NOW = "2026-01-05T10:00:00+08:00"
VILLAGE, TOWNSHIP, COUNTY = "330681111242", "330681111000", "330681000000"

# ASCII that may stand in Chinese text: ids, codes and numbers, paths and file names, command
# and option names, environment variables, config fields, and the names of things.
ALLOWED = re.compile(
    r"^(?:[\d.:%+\-/]+|[A-Z0-9_:]+|--?[a-z][a-z-]*|[\w.-]*[/._=@$][\w./=@$:-]*|"
    r"[a-z]+_[a-z_]+|fengqiao|node|init|run|case|new|list|show|hub|flow|demo|deploy|audit|calendar|user|order|notices|"
    r"verify|accept|mediate|escalate|protocol|bench|schema|new-key|apply|definitions|zh|en|JSON|TOML|RabbitMQ|SQLite|UTF|UTF-8|Ctrl|CPU|ID|FILE|"
    r"SIGTERM|HTTP|URL|amqp|memory|urlsafe|base64|village|township|county|city|"
    r"application|mediation|escalation|oral|written|applicant|respondent|other|referral|police|"
    r"court|arbitration|organ|petition|[a-z]+:\.\.\.|[a-f0-9]{8,})$")


def english_words(text: str) -> list[str]:
    """ASCII words that are not allowed; words in quotes are values (a command's choices, what
    the user typed) and stay as they are."""
    text = re.sub(r"'[^'\n]*'", "", text)
    return [w for w in re.findall(r"-{0,2}[A-Za-z][A-Za-z0-9_./:=@$%+\-]*", text)
            if not ALLOWED.match(w)]


def test_every_message_id_is_in_both_catalogues_translated_and_compiled() -> None:
    assert problems() == []


def test_a_missing_translation_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: a catalogue without one entry is reported."""
    from nodes.i18n import catalogue

    po = catalogue._po("zh").read_text(encoding="utf-8")
    entry = 'msgid "at least one party is required"\nmsgstr "至少登记一名当事人"\n'
    assert entry in po
    copy = tmp_path / "zh_CN" / "LC_MESSAGES"
    copy.mkdir(parents=True)
    (copy / "fengqiao.po").write_text(po.replace(entry, ""), encoding="utf-8")
    monkeypatch.setattr(catalogue, "_po", lambda lang: (copy / "fengqiao.po") if lang == "zh"
                        else catalogue.LOCALE_DIR / "en" / "LC_MESSAGES" / "fengqiao.po")
    assert any("at least one party is required" in p for p in catalogue.problems())


def test_codes_in_errors_are_named_in_the_reader_s_language() -> None:
    error = Translatable("x", "cannot {action} a case in state {state}",
                         action=Code("action", "accept"), state=Code("state", "MEDIATING"))
    assert str(error) == "cannot accept a case in state MEDIATING"
    assert i18n.render(error, "zh") == "案件当前状态为「调解中」，不能执行「受理」"
    assert i18n.render(error, "en") == "cannot accept a case in state mediating"
    assert state_label("MEDIATING", "zh") == "调解中"
    assert calendar_note("set by the tier above", "zh") == "由上级设定"


@pytest.fixture
def station(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> Iterator[Path]:
    for name in ("FENGQIAO_LANG", "FENGQIAO_CONFIG", "FENGQIAO_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FENGQIAO_NOW", NOW)
    # The acting person is recorded and shown (issue 16); an ASCII login name is a value.
    monkeypatch.setenv("FENGQIAO_USER", "王调解")
    assert main(["node", "init", "--code", VILLAGE, "--name", "状元村", "--dir",
                 str(tmp_path / "v")]) == 0
    # The network's keys.json lists the parent too (`deploy keys`): escalations seal to it.
    assert main(["node", "init", "--code", default_parent(VILLAGE), "--dir",
                 str(tmp_path / "t")]) == 0
    assert main(["deploy", "keys", str(tmp_path / "v" / "public-keys.json"),
                 str(tmp_path / "t" / "public-keys.json"), "--out",
                 str(tmp_path / "v" / "keys.json")]) == 0
    monkeypatch.setenv("FENGQIAO_CONFIG", str(tmp_path / "v" / "fengqiao.toml"))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_main_commands_in_the_default_language_print_no_english(
        station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = f"{VILLAGE}-2026-00001"
    outputs = [
        run(capsys, "case", "new", "--type", "邻里", "--applicant", "张三::13800000000",
            "--respondent", "李四", "--facts", "两家因院墙边界发生争执"),
        run(capsys, "case", "accept", case, "--consent"),
        run(capsys, "case", "agree", case, "--form", "书面协议", "--terms", "赔偿800元"),
        run(capsys, "case", "escalate", case, "--reason", "跨区域"),
        run(capsys, "case", "mediate", case),
        run(capsys, "case", "show", case),
        run(capsys, "case", "show", case, "--json"),
        run(capsys, "case", "list"),
        run(capsys, "case", "list", "--state", "调解中", "--json"),
        run(capsys, "case", "show", f"{VILLAGE}-2026-00099"),
        run(capsys, "case", "bogus"),
        run(capsys, "case", "new", "--type", "02"),
        run(capsys, "case", "new", "--help"),
        run(capsys, "case", "escalate", "--help"),
        run(capsys, "hub", "flow"),
        run(capsys, "hub", "run"),
        run(capsys, "audit", "verify"),
        run(capsys, "--help"),
    ]
    for _code, text in outputs:
        assert text.strip()
        if text.lstrip().startswith(("{", "[")):
            data = json.loads(text)
            text = " ".join(str(v) for v in _labels(data))
        assert english_words(text) == [], text
    assert outputs[4][0] == 0
    assert outputs[9][0] == 2
    assert outputs[10][0] == 2


def _labels(data: object) -> Iterator[object]:
    """The values of a JSON answer that are text for people (labels and notes)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key.endswith(("_label", "note", "calendar")):
                yield value
            else:
                yield from _labels(value)
    elif isinstance(data, list):
        for item in data:
            yield from _labels(item)


@pytest.mark.parametrize(("given", "code"), [("cross_area", "cross_area"),
                                              ("当事人跨区域", "cross_area"),
                                              ("parties from different areas", "cross_area")])
def test_escalation_reason_takes_code_or_either_name(
        station: Path, capsys: pytest.CaptureFixture[str], given: str, code: str) -> None:
    assert run(capsys, "case", "new", "--type", "02", "--applicant", "张三", "--facts", "f")[0] == 0
    case = f"{VILLAGE}-2026-00001"
    assert run(capsys, "case", "escalate", case, "--reason", given, "--consent")[0] == 0
    shown = json.loads(run(capsys, "case", "show", case, "--json")[1])
    assert shown["events"][-1]["data"]["escalation_reason"] == code


def test_referral_target_and_source_take_chinese(station: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "case", "new", "--type", "02", "--applicant", "张三", "--facts", "f",
               "--source", "主动调解")[0] == 0
    case = f"{VILLAGE}-2026-00001"
    assert run(capsys, "case", "refer-out", case, "--to", "人民法院", "--reason", "起诉")[0] == 0
    shown = json.loads(run(capsys, "case", "show", case, "--json")[1])
    assert shown["source"] == "own_initiative"
    assert shown["events"][-1]["data"]["referred_to"] == "court"
    code, text = run(capsys, "case", "refer-out", case, "--to", "法庭", "--reason", "x")
    assert code == 2
    assert "court 人民法院" in text
