"""The command line of the clocks: `case list --overdue | --due-within N` over every kind of
clock, with the clock shown, and `calendar install | recompute | list` (issue 16 items 4, 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fengqiao.bootstrap import bootstrap
from nodes.cli import main as cli_main
from nodes.clock import Clock
from nodes.config import NodeConfig, load_config
from nodes.messaging.memory import MemoryBroker
from nodes.node import Node
from tests.support.nodes import write_config

VILLAGE = "330681111242"
TEST_2027 = """year = 2027
source = "test arrangement 2027"
sample = false
holidays = ["2027-01-01", "2027-01-02", "2027-01-03", "2027-01-04"]
"""


def build(config: NodeConfig, *, clock: Clock | None = None) -> Node:
    return bootstrap(config, clock=clock, broker=MemoryBroker())


class Station:
    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.holidays = folder / "holidays"
        self.holidays.mkdir()
        self.path = write_config(folder, VILLAGE, calendar_dir=self.holidays)
        self.monkeypatch, self.capsys = monkeypatch, capsys

    def run(self, *args: str, now: str = "2026-12-28T10:00:00+08:00") -> tuple[int, str, str]:
        self.monkeypatch.setenv("FENGQIAO_NOW", now)
        self.capsys.readouterr()
        code = cli_main.main(["--lang", "en", "--config", str(self.path), *args],
                             cli_main.GROUPS, build)
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def json(self, *args: str, now: str = "2026-12-28T10:00:00+08:00") -> object:
        code, out, err = self.run(*args, "--json", now=now)
        assert code == 0, err
        return json.loads(out)

    def new_case(self, now: str = "2026-12-28T10:00:00+08:00") -> str:
        made = self.json("case", "new", "--type", "02", "--applicant", "张三", "--facts", "院墙",
                         now=now)
        assert isinstance(made, dict)
        return str(made["case_id"])

    def events(self, case_id: str) -> list[dict[str, object]]:
        shown = self.json("case", "show", case_id)
        assert isinstance(shown, dict)
        return list(shown["events"])


@pytest.fixture
def station(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> Station:
    return Station(tmp_path, monkeypatch, capsys)


def test_overdue_and_due_within_cover_the_acceptance_clock(station: Station) -> None:
    waiting = station.new_case(now="2026-03-02T10:00:00+08:00")  # acceptance due 2026-03-09
    accepted = station.new_case(now="2026-03-02T10:00:00+08:00")
    station.json("case", "accept", accepted, "--consent", now="2026-03-02T10:00:00+08:00")
    soon = station.json("case", "list", "--due-within", "7", now="2026-03-02T12:00:00+08:00")
    assert isinstance(soon, list)
    assert [(r["case_id"], r["next_clock"], r["next_due"]) for r in soon] == [
        (waiting, "acceptance", "2026-03-09")]
    assert station.json("case", "list", "--overdue", now="2026-03-09T12:00:00+08:00") == []
    late = station.json("case", "list", "--overdue", now="2026-03-10T12:00:00+08:00")
    assert isinstance(late, list)
    assert [r["case_id"] for r in late] == [waiting]
    (clock,) = late[0]["clocks"]
    assert clock["overdue"]
    assert clock["kind"] == "acceptance"
    assert "acceptance_days" in clock["basis_label"]
    code, out, _ = station.run("case", "list", "--overdue", now="2026-03-10T12:00:00+08:00")
    assert code == 0
    assert "2026-03-09 acceptance" in out  # the clock kind is shown
    code, out, _ = station.run("case", "show", waiting, now="2026-03-10T12:00:00+08:00")
    assert "acceptance: due 2026-03-09 [OVERDUE]" in out
    assert "basis: people's mediation law sets no acceptance limit" in out


@pytest.mark.parametrize("value", ["-1", "x", "99999"])
def test_a_bad_due_within_is_one_sentence(station: Station, value: str) -> None:
    code, out, err = station.run("case", "list", "--due-within", value)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1


def test_a_deadline_in_a_year_without_arrangement_is_provisional(station: Station) -> None:
    case_id = station.new_case()  # 2026-12-28 + 7 days: into 2027
    rows = station.json("case", "list")
    assert isinstance(rows, list)
    assert rows[0]["clocks"][0]["provisional"] is True
    _code, out, _ = station.run("case", "list")
    assert "2027-01-04 acceptance (provisional)" in out
    _code, out, _ = station.run("case", "show", case_id)
    assert "provisional" in out
    assert "no calendar for 2027: weekends and statutory holidays only, provisional" in out


def test_calendar_install_recomputes_and_the_note_names_the_calendar(station: Station,
                                                                      tmp_path: Path) -> None:
    case_id = station.new_case()
    source = tmp_path / "c2027.toml"
    source.write_text(TEST_2027, encoding="utf-8")
    code, out, err = station.run("calendar", "install", str(source))
    assert code == 0, err
    assert "installed the 2027 calendar (source: test arrangement 2027)" in out
    assert "deadlines recomputed: 1" in out
    assert (station.holidays / "2027.toml").read_text(encoding="utf-8") == TEST_2027
    last = station.events(case_id)[-1]
    assert last["action"] == "clocks"
    code, out, _ = station.run("case", "show", case_id)
    assert "deadlines recomputed with" in out
    assert "test arrangement 2027" in out
    assert "acceptance: due 2027-01-05" in out
    again = station.run("calendar", "install", str(source))
    assert again[0] == 2  # already installed: --replace to overwrite
    assert station.run("calendar", "install", str(source), "--replace")[0] == 0
    assert station.json("calendar", "recompute") == {"cases": 0, "recomputed": 0, "set": 0}
    listed = station.json("calendar", "list")
    assert isinstance(listed, dict)
    assert [(y["year"], y["official"]) for y in listed["years"]] == [(2026, True), (2027, True)]


@pytest.mark.parametrize(("text", "needle"), [
    ("year = 2027\nsource = \"x\"\nsample = false\nholidays = [\"2026-01-01\"]\n", "holidays"),
    ("year = 2027\nsample = false\nholidays = []\n", "source"),
    ("year = 2027\n holidays = [", "TOML"),
])
def test_a_bad_calendar_file_changes_nothing(station: Station, tmp_path: Path, text: str,
                                             needle: str) -> None:
    case_id = station.new_case()
    before = station.events(case_id)
    source = tmp_path / "bad.toml"
    source.write_text(text, encoding="utf-8")
    code, _out, err = station.run("calendar", "install", str(source))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert needle in err
    assert sorted(p.name for p in station.holidays.iterdir()) == []
    assert station.events(case_id) == before


def test_install_needs_a_calendar_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, VILLAGE)
    assert load_config(path).calendar_dir is None
    source = tmp_path / "c2027.toml"
    source.write_text(TEST_2027, encoding="utf-8")
    code = cli_main.main(["--lang", "en", "--config", str(path), "calendar", "install",
                          str(source)], cli_main.GROUPS, build)
    err = capsys.readouterr().err
    assert code == 2
    assert "field 'calendar_dir'" in err
    assert len(err.strip().splitlines()) == 1
