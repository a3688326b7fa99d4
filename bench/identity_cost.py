"""What the party hash costs (DOMAIN §7, `nodes.identity`): milliseconds per hash at the standard
cost on this machine, and what that makes reversing it: hashing every candidate ID number of one
county (`CANDIDATE_IDS`, 25.2 million) with the network's key, in days of one core's CPU.

The pipeline phases run with the cheap `test` profile (their parties are invented), so this is
the one place the bench sees the production hash. About 2 s.
"""

from __future__ import annotations

import time
from typing import Any

from nodes.identity import CANDIDATE_IDS, STANDARD, IdentityHasher

SAMPLES = 100  # distinct IDs, so the hasher's cache never answers
KEY = "bench-identity-key-not-a-secret"


def measure(samples: int = SAMPLES) -> dict[str, Any]:
    hasher = IdentityHasher(KEY, STANDARD)
    ids = [f"330681{19800101 + i:08d}{i % 1000:03d}X" for i in range(samples)]
    hasher.party("示例", "330681198001011230", None)  # warm-up, outside the timing
    began, cpu_began = time.perf_counter(), time.process_time()
    for number in ids:
        hasher.party("示例", number, None)
    wall_ms = (time.perf_counter() - began) * 1000 / samples
    cpu_ms = (time.process_time() - cpu_began) * 1000 / samples
    return {"identity_hash_ms": round(wall_ms, 2), "identity_hash_cpu_ms": round(cpu_ms, 2),
            "identity_reverse_cpu_days": round(CANDIDATE_IDS * cpu_ms / 1000 / 86_400, 1),
            "identity_cost": {"memory_kib": STANDARD.memory_kib,
                              "iterations": STANDARD.iterations, "lanes": STANDARD.lanes}}
