"""`fengqiao order ...` (issue 18): a county's operator issues an order as its supervisor, lists
and shows it; refusals are one sentence, exit 2, nothing written. (The whole trip down to a
village and the answer back, four processes on RabbitMQ: tests/e2e/test_four_tiers.py.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.unit.test_cli import assert_one_sentence, run

COUNTY, TOWNSHIP, VILLAGE = "330681000000", "330681111000", "330681111242"
CASE = f"{VILLAGE}-2026-00001"  # a case at a village of the county (the order needs no copy)


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A county whose keys.json lists its township: an order is sealed to the next hop."""
    folder = tmp_path_factory.mktemp("county")
    assert run(folder, "node", "init", "--code", COUNTY, "--name", "示例县").code == 0
    town = tmp_path_factory.mktemp("township")
    assert run(town, "node", "init", "--code", TOWNSHIP).code == 0
    result = run(folder, "deploy", "keys", "public-keys.json", str(town / "public-keys.json"),
                 "--out", "keys.json", "--configs", "fengqiao.toml", str(town / "fengqiao.toml"))
    assert result.code == 0, result.err
    return folder


def counts(folder: Path) -> tuple[int, int]:
    conn = sqlite3.connect(folder / "fengqiao.db")
    try:
        return (conn.execute("SELECT COUNT(*) FROM supervision").fetchone()[0],
                conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    finally:
        conn.close()


def test_issue_list_and_show(county: Path) -> None:
    issued = run(county, "--user", "督查甲", "order", "issue", CASE, "--reason",
                 "请于七日内调处并反馈", "--days", "7", "--json")
    assert issued.code == 0, issued.err
    data = issued.json()
    assert isinstance(data, dict)
    assert (data["order_id"], data["status"], data["respond_by"]) == (
        f"{COUNTY}-2026-D00001", "waiting", "2026-01-12")
    assert "请于" not in issued.out  # the reason is not in the list's or the issue's JSON
    listed = run(county, "order", "list")
    assert "督办" in listed.out
    assert data["order_id"] in listed.out
    shown = run(county, "order", "show", data["order_id"])
    assert "请于七日内调处并反馈" in shown.out
    assert "2026-01-12" in shown.out
    assert counts(county)[0] == 1


@pytest.mark.parametrize(("args", "words"), [
    (("--by", "2026-01-05"), "不晚于今天"),
    (("--days", "200"), "90"),
])
def test_refused_with_one_sentence_and_nothing_written(county: Path, args: tuple[str, ...],
                                                       words: str) -> None:
    before = counts(county)
    result = run(county, "order", "issue", CASE, "--reason", "督办", *args)
    assert_one_sentence(result)
    assert words in result.err
    assert counts(county) == before


def test_a_case_outside_the_area_and_an_unknown_order(county: Path) -> None:
    outside = run(county, "order", "issue", "330781001001-2026-00001", "--reason", "督办")
    assert_one_sentence(outside)
    assert "330781001001-2026-00001" in outside.err
    assert_one_sentence(run(county, "order", "show", "330681000000-2026-D09999"))
    assert_one_sentence(run(county, "order", "answer", "330681000000-2026-D09999",
                            "--text", "已办"))
