"""The bench's arithmetic: percentiles, ratios of figures, the targets and how to show a URL."""

from __future__ import annotations

import math
import socket
import urllib.parse
from typing import Any, Protocol

from bench import settings


class Sizes(Protocol):
    @property
    def raw_messages(self) -> int: ...
    @property
    def drain_cases(self) -> int: ...


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 is a latency some case really had)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def dead_url(url: str) -> str:
    """The broker's URL with a local port nothing listens on: the relay's connect is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    parts = urllib.parse.urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{auth}@127.0.0.1:{port}"))


def broker_share(spent: dict[str, float] | None, f: dict[str, Any],
                 work: Sizes) -> dict[str, float] | None:
    """The broker's CPU ms per raw message and per case in each phase (None: not measured)."""
    if spent is None:
        return None
    units = {"raw": ("raw_per_msg", work.raw_messages),
             "plain": ("plain_per_case", f["pipeline_cases"]),
             "flat_out": ("flat_out_per_case", f["pipeline_cases"]),
             "half_load": ("half_load_per_case", f["latency_cases"]),
             "drain": ("drain_per_case", work.drain_cases)}
    return {name: round(spent[phase] / count * 1000, 3)
            for phase, (name, count) in units.items() if phase in spent}


def targets(f: dict[str, Any]) -> dict[str, dict[str, Any]]:
    checks = {"pipeline_ratio": (f["pipeline_ratio"], ">=", settings.TARGET_PIPELINE_RATIO),
              "drain_ratio": (f["drain_ratio"], ">=", settings.TARGET_DRAIN_RATIO),
              "latency_p99_ms": (f["latency_p99_ms"], "<=", settings.TARGET_P99_MS),
              "node_peak_rss_mb": (f["node_peak_rss_mb"], "<=", settings.TARGET_NODE_RSS_MB),
              "local_ratio": (f["local_ratio"], ">=", settings.TARGET_LOCAL_RATIO)}
    return {key: {"value": value, "target": f"{op} {goal}",
                  "met": value >= goal if op == ">=" else value <= goal}
            for key, (value, op, goal) in checks.items()}


def safe_url(url: str) -> str:
    """The broker URL without its password, for the report."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def ratios(f: dict[str, Any], cpus: int) -> dict[str, float]:
    """Each rate against its yardstick, measured in the same run."""
    raw = f["raw_msgs_per_s"]
    return {
        "pipeline_ratio": round(f["pipeline_cases_per_s"] / raw, 3),
        "drain_ratio": round(f["drain_cases_per_s"] / raw, 3),
        "drain_relay_ratio": round(f["drain_relay_cases_per_s"] / raw, 3),
        "floor_ratio": round(f["floor_cases_per_s"] / raw, 3),
        "plain_ratio": round(f["plain_cases_per_s"] / raw, 3),
        "pipeline_vs_plain": round(f["pipeline_cases_per_s"] / f["plain_cases_per_s"], 3),
        # The machine time a case may take, all processes and the broker together, if the
        # pipeline is to reach its target ratio: cores / (target x raw rate).
        "cpu_budget_ms_per_case": round(cpus * 1000 / (settings.TARGET_PIPELINE_RATIO * raw), 3),
    }
