"""`fengqiao bench` runs end to end on a tiny workload and prints one JSON object with every figure.

A smoke test, not a benchmark: nothing here asserts a rate or a latency (those depend on the
machine; BENCHMARKS.md records them). It checks that the phases run, that the figures are there
and are numbers, and that the bench leaves no queue behind on the broker.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from bench.settings import LOCAL_ROUNDS
from tests.support.program import FENGQIAO

pytestmark = pytest.mark.broker

KEYS = ("raw_msgs_per_s", "pipeline_cases_per_s", "pipeline_ratio", "drain_cases_per_s",
        "drain_ratio", "latency_p50_ms", "latency_p99_ms", "node_peak_rss_mb", "local_ratio",
        "floor_cases_per_s", "floor_ratio", "floor_cpu_ms_per_case", "cpu_budget_ms_per_case",
        "plain_cases_per_s", "plain_ratio", "pipeline_vs_plain", "plain_cpu_ms_per_case",
        "plain_hub_cpu_ms_per_case", "drain_relay_cases_per_s", "drain_relay_ratio")
TINY = ["--raw-messages", "200", "--villages", "1", "--cases", "20", "--latency-seconds", "0.5",
        "--drain", "20", "--local-cases", "10"]


def test_bench_prints_every_figure_as_json(amqp_url: str) -> None:
    done = subprocess.run(
        [*FENGQIAO, "bench", "--broker", amqp_url, "--json", *TINY],
        capture_output=True, text=True, encoding="utf-8", timeout=300,
        env={**os.environ, "FENGQIAO_LOG_LEVEL": "WARNING"})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for key in KEYS:
        assert isinstance(result[key], int | float), key
        assert result[key] > 0, key
    assert set(result["targets"]) == {"pipeline_ratio", "drain_ratio", "latency_p99_ms",
                                      "node_peak_rss_mb", "local_ratio"}
    assert result["latency_cases"] >= 1
    assert result["drain_outbox_rows"] >= 20
    # Each latency's two parts (to the hub, in the hub) are real stretches of it: never negative,
    # and at the median neither is longer than the whole.
    for part in ("to_hub", "in_hub"):
        assert 0 <= result[f"latency_{part}_p50_ms"] <= result["latency_max_ms"]
        assert 0 <= result[f"latency_{part}_p99_ms"] <= result["latency_max_ms"]
    assert {"hub", "village-1", "village-drain", "bare-1", "raw-publisher", "raw-consumer"} \
        <= set(result["rss_mb"])
    # The CPU a case cost in each pipeline phase, by kind of thread, and their sum.
    for phase in ("flat_out", "half_load"):
        spent = result["pipeline_cpu_ms_per_case"][phase]
        assert {"village_recording", "village_relay", "hub_consumer", "hub_relay"} <= set(spent)
        parts = sum(v for k, v in spent.items() if k != "total")
        assert all(v >= 0 for v in spent.values())
        assert spent["total"] == pytest.approx(parts,
                                                                                       abs=0.01)
    # Where the CPU went, per node and thread, at the end of each phase (cumulative seconds).
    assert {"MainThread", "relay", "consumer"} <= set(result["threads_cpu_s"]["village-1"][0])
    assert len(result["threads_cpu_s"]["hub"]) == 3  # flat out, half load, drain
    # How busy the machine was in each phase, and the broker's own CPU when it runs here.
    assert set(result["machine_busy_pct"]) == {"raw", "floor", "plain", "flat_out", "half_load",
                                               "drain"}
    assert all(0 <= pct <= 100 for pct in result["machine_busy_pct"].values())
    steal = result["machine_steal_pct"]
    assert set(steal) == set(result["machine_busy_pct"])
    assert all(pct >= 0 and pct + result["machine_busy_pct"][phase] <= 100.1
               for phase, pct in steal.items())
    broker = result["broker_cpu_ms"]  # None when the broker is elsewhere, or two run here
    assert broker is None or (set(broker) == {"raw_per_msg", "plain_per_case", "flat_out_per_case",
                                              "half_load_per_case", "drain_per_case"}
                              and all(v >= 0 for v in broker.values()))
    wake = result["machine"]["wakeup_cpu_us"]
    assert wake is None or wake >= 0
    rounds = result["local_round_ratios"]  # each alternating round's own node/bare ratio
    assert len(rounds) == LOCAL_ROUNDS
    assert all(r > 0 for r in rounds)
    # the decomposition of the node-local figure: the bare row's time and the node's CPU per case
    assert result["bare_ms_per_case"] * result["bare_sqlite_per_s"] == pytest.approx(1000, rel=0.02)
    assert result["local_cpu_ms_per_case"] > 0
    assert result["queues_left"] == []
    assert "guest:guest" not in done.stdout  # the broker's password is not printed
