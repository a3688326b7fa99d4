"""The embedded demo: a whole sample city on kombu's in-memory transport, run to quiet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from demo.embedded import run_embedded


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_embedded(tmp_path_factory.mktemp("demo"), cases_per_village=6, seed=7)


def tiers(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["tier"]: t for t in result["tiers"]}  # type: ignore[index]


def test_every_case_registered_at_the_village_and_nothing_quarantined(result: dict[str, Any]) -> None:
    assert result["cases"] == 72
    assert tiers(result)["village"]["registered"] == 72
    assert result["quarantined"] == 0
    assert result["held"] == 0  # every stream complete: decisions down, report-backs up


def test_what_one_tier_escalates_the_next_registers(result: dict[str, Any]) -> None:
    t = tiers(result)
    assert t["township"]["registered"] == t["village"]["escalated"]
    assert t["county"]["registered"] == t["township"]["escalated"]
    assert t["city"]["registered"] == t["county"]["escalated"]


def test_network_is_quiet_and_every_case_has_an_outcome(result: dict[str, Any]) -> None:
    for row in result["tiers"]:  # type: ignore[attr-defined]
        assert row["open"] == 0, row
    stations = result["stations"]
    assert len(stations) == 18  # every node of the sample city but the city itself
    assert "330600000000" not in {s["node_id"] for s in stations}
    assert all(s["outbox_depth"] == 0 for s in stations)


def test_demo_command_prints_json(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "fengqiao"
    done = subprocess.run([str(exe), "demo", "--cases", "2", "--json", "--dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {t["tier"] for t in data["tiers"]} == {"village", "township", "county", "city"}
    assert (tmp_path / "330600000000" / "fengqiao.db").exists()
