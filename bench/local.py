"""Node-local recording against bare sqlite3, on the same disk with the same settings.

Node side: `CaseService.new_case` on a village node's store (WAL, synchronous=FULL, as
`SqliteStore` opens it): validation, the domain's REGISTER event, and one `BEGIN IMMEDIATE`
transaction that bumps the case number and writes the case row, its event, two parties and the
lifecycle report's outbox row, then COMMIT (one WAL fsync).

Bare side: `sqlite3` with the same pragmas (journal_mode=WAL, synchronous=FULL) and the same
per-case transaction boundary: BEGIN IMMEDIATE, one INSERT of a ~1 KiB row (about what a case and
its report weigh), COMMIT. One fsync per case on both sides, so the ratio is what the node's own
work costs on top of the fsync, not batching on one side against none on the other.

The loops alternate (bare, node, bare, node, ...) so that both see the same disk and page cache.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.bare import bare_loop
from bench.worker import FACTS, KEYS, PARTIES, SALT
from fengqiao.bootstrap import bootstrap
from nodes.config import NodeConfig
from nodes.crypto import new_key
from protocol.areas import Tier
from protocol.reference import CaseSource


def node_loop(code: str, folder: Path, count: int, key: str) -> tuple[float, float]:
    """Seconds, and CPU seconds of this process, for `count` cases recorded through the node's
    service."""
    # The cheap party hash, as in the pipeline phases: the standard one would make this figure
    # mostly Argon2id (two parties, ~20 ms each); that cost is its own figure (bench.identity_cost).
    node = bootstrap(NodeConfig(node_id=code, tier=Tier.VILLAGE, database=folder / f"{code}.db",
                               identity_key=SALT, data_key=key, identity_cost="test"),
                     keyring=KEYS)
    try:
        began, cpu_began = time.perf_counter(), time.process_time()
        for _ in range(count):
            node.service.new_case(source=CaseSource.APPLICATION, dispute_type="03", facts=FACTS,
                                  parties=PARTIES)
        return time.perf_counter() - began, time.process_time() - cpu_began
    finally:
        node.close()


def measure(code: str, folder: Path, count: int, rounds: int) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    bare_s = node_s = node_cpu_s = 0.0
    key = new_key()
    per_round: list[float] = []
    for _ in range(rounds):
        bare_round = bare_loop(folder / "bare.db", count)
        node_round, node_round_cpu = node_loop(code, folder, count, key)
        bare_s, node_s = bare_s + bare_round, node_s + node_round
        node_cpu_s += node_round_cpu
        per_round.append(round(bare_round / node_round, 3))
    cases = count * rounds
    bare, node = cases / bare_s, cases / node_s
    # The bare case is mostly its commit's fsync; the node's case is a commit costing about as
    # much plus its own work, so the ratio falls as the disk gets faster. (The node's CPU also
    # holds the fsync's system time, so bare / (bare + node CPU) fits some machines and
    # undershoots others: BENCHMARKS.md.)
    return {"local_cases_per_s": round(node, 1), "bare_sqlite_per_s": round(bare, 1),
            "local_ratio": round(node / bare, 3), "local_round_ratios": per_round,
            "bare_ms_per_case": round(bare_s * 1000 / cases, 3),
            "local_cpu_ms_per_case": round(node_cpu_s * 1000 / cases, 3)}
